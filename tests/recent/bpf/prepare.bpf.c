// Module::prepare(): user space fills `prep_config` between prepare() and load(); the
// program doubles it into `prep_result` when run.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} prep_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} prep_result SEC(".maps");

SEC("xdp")
int double_config(struct xdp_md *ctx)
{
    __u32 zero = 0;
    __u64 *in = bpf_map_lookup_elem(&prep_config, &zero);
    __u64 *out = bpf_map_lookup_elem(&prep_result, &zero);
    if (in && out)
        *out = *in * 2;
    return XDP_PASS;
}
