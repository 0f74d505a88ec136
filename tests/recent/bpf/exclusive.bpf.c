// Exclusive maps: `excl_counts` is made exclusive to excl_owner; excl_other uses it too.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} excl_counts SEC(".maps");

__u64 owner_saw = 0;

SEC("xdp")
int excl_owner(struct xdp_md *ctx)
{
    __u32 zero = 0;
    __u64 *v = bpf_map_lookup_elem(&excl_counts, &zero);
    if (v)
        owner_saw = ++*v;
    return XDP_PASS;
}

SEC("xdp")
int excl_other(struct xdp_md *ctx)
{
    __u32 zero = 0;
    __u64 *v = bpf_map_lookup_elem(&excl_counts, &zero);
    return v ? XDP_PASS : XDP_DROP;
}
