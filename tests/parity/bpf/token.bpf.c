// Loaded through a BPF token from inside a user namespace (tests/parity/token_test.cpp):
// an XDP program, a type no process outside the initial user namespace may load without
// delegation, that records the length of each test-run frame plus a marker in an array.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TOKEN_MARK 1000

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} token_seen SEC(".maps");

SEC("xdp")
int token_xdp(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&token_seen, &key);
    if (v)
        *v = TOKEN_MARK + (ctx->data_end - ctx->data);
    return XDP_PASS;
}
