// A netfilter hook (SEC("netfilter"), libbpf >= 1.3): counts IPv4 packets and drops
// those of IP length NF_DROP_IP_LEN.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "links.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NFPROTO_IPV4_ 2
#define NF_DROP_ 0
#define NF_ACCEPT_ 1

__u64 nf_seen = 0;
__u64 nf_dropped = 0;
__u32 nf_last_hook = 0xffffffff;

SEC("netfilter")
int nf_filter(struct bpf_nf_ctx *ctx)
{
    const struct nf_hook_state *state = ctx->state;
    struct sk_buff *skb = ctx->skb;
    if (state->pf != NFPROTO_IPV4_)
        return NF_ACCEPT_;
    __sync_fetch_and_add(&nf_seen, 1);
    nf_last_hook = state->hook;
    if (skb->len == NF_DROP_IP_LEN) {
        __sync_fetch_and_add(&nf_dropped, 1);
        return NF_DROP_;
    }
    return NF_ACCEPT_;
}
