// Programs of the link tests: tcx (two in an order, one that drops), XDP for a link's
// program update, a raw tracepoint for link info. Plain SEC("tc") so that every libbpf
// from 1.0 on loads the object; the tests give the tcx attach type before load.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "links.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP_ 0x0800
#define IPPROTO_UDP_ 17
#define TCX_NEXT_ -1
#define TCX_PASS_ 0
#define TCX_DROP_ 2

/* The programs that saw a test frame, in the order they ran. */
__u32 order_len = 0;
__u32 order[LINKS_ORDER_MAX] = {};
/* Test frames each XDP program saw. */
__u64 xdp_one_seen = 0;
__u64 xdp_two_seen = 0;
__u64 raw_tp_seen = 0;

/* The first payload byte of an IPv4/UDP packet to LINKS_UDP_PORT, or -1. */
static __always_inline int test_payload(void *data, void *data_end)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_))
        return -1;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP_)
        return -1;
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(LINKS_UDP_PORT))
        return -1;
    unsigned char *p = (void *)(udp + 1);
    if ((void *)(p + 1) > data_end)
        return -1;
    return *p;
}

static __always_inline int tcx_record(struct __sk_buff *skb, __u32 tag)
{
    int c = test_payload((void *)(long)skb->data, (void *)(long)skb->data_end);
    if (c < 0)
        return TCX_NEXT_;
    /* A plain increment: the programs of one frame run one after the other, and the tests
     * send their frames from one socket, which the receiving veth handles on the sending
     * CPU's backlog, one at a time. An atomic fetch-and-add that returns the old value
     * needs 5.12 (5.10 refuses the object: "BPF_STX uses reserved fields"). */
    __u32 i = order_len;
    order_len = i + 1;
    if (i < LINKS_ORDER_MAX)
        order[i & (LINKS_ORDER_MAX - 1)] = tag;
    return TCX_NEXT_;
}

SEC("tc")
int tcx_a(struct __sk_buff *skb) { return tcx_record(skb, LINKS_TAG_A); }

SEC("tc")
int tcx_b(struct __sk_buff *skb) { return tcx_record(skb, LINKS_TAG_B); }

SEC("tc")
int tcx_c(struct __sk_buff *skb) { return tcx_record(skb, LINKS_TAG_C); }

/* Drops test frames whose payload starts with 'D'; lets the rest go on. */
SEC("tc")
int tcx_drop(struct __sk_buff *skb)
{
    int c = test_payload((void *)(long)skb->data, (void *)(long)skb->data_end);
    if (c < 0)
        return TCX_NEXT_;
    tcx_record(skb, LINKS_TAG_DROP);
    return c == 'D' ? TCX_DROP_ : TCX_NEXT_;
}

SEC("xdp")
int xdp_one(struct xdp_md *ctx)
{
    if (test_payload((void *)(long)ctx->data, (void *)(long)ctx->data_end) >= 0)
        __sync_fetch_and_add(&xdp_one_seen, 1);
    return XDP_PASS;
}

SEC("xdp")
int xdp_two(struct xdp_md *ctx)
{
    if (test_payload((void *)(long)ctx->data, (void *)(long)ctx->data_end) >= 0)
        __sync_fetch_and_add(&xdp_two_seen, 1);
    return XDP_PASS;
}

SEC("raw_tp")
int raw_tp_count(void *ctx)
{
    __sync_fetch_and_add(&raw_tp_seen, 1);
    return 0;
}
