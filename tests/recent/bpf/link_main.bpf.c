// The half of a linked object that calls: link_lib.bpf.c defines linked_combine() and
// the `linked_bias` variable; alone this object does not load.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern int linked_combine(int tens, int ones);
extern __u64 linked_bias;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} link_out SEC(".maps");

SEC("xdp")
int call_linked(struct xdp_md *ctx)
{
    __u32 zero = 0;
    __u64 *out = bpf_map_lookup_elem(&link_out, &zero);
    if (out)
        *out = (__u64)linked_combine(4, 2) + linked_bias;
    return XDP_PASS;
}
