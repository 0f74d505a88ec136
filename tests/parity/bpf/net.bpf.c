// Network programs of the parity tests: XDP, TC, sk_lookup, cgroup, sk_msg, test_run targets.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "parity.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP_ 0x0800
#define IPPROTO_UDP_ 17

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, NET_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} net_counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} socks SEC(".maps");

/* Set by test_run of raw_tp: the CPU it ran on and the first argument. */
__u32 ran_on_cpu = 0xffffffff;
__u64 raw_arg0 = 0;

static __always_inline void bump(__u32 slot, __u64 by)
{
    __u64 *v = bpf_map_lookup_elem(&net_counts, &slot);
    if (v)
        __sync_fetch_and_add(v, by);
}

/* True for an IPv4/UDP packet to PARITY_UDP_PORT. */
static __always_inline int is_test_udp(void *data, void *data_end)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_))
        return 0;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP_)
        return 0;
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end)
        return 0;
    return udp->dest == bpf_htons(PARITY_UDP_PORT);
}

/* Counts test packets; drops them when their first payload byte is 'D', and rewrites a
 * payload byte 'R' to 'W' (so test_run's data_out shows the change). */
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    if (!is_test_udp(data, data_end))
        return XDP_PASS;
    bump(SLOT_XDP, 1);
    unsigned char *payload = data + sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr);
    if ((void *)(payload + 1) > data_end)
        return XDP_PASS;
    if (payload[0] == 'D')
        return XDP_DROP;
    if (payload[0] == 'R')
        payload[0] = 'W';
    return XDP_PASS;
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
    if (is_test_udp((void *)(long)skb->data, (void *)(long)skb->data_end))
        bump(SLOT_TC_INGRESS, 1);
    return 0; /* TC_ACT_OK */
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
    if (is_test_udp((void *)(long)skb->data, (void *)(long)skb->data_end))
        bump(SLOT_TC_EGRESS, 1);
    return 0;
}

SEC("sk_lookup")
int count_lookup(struct bpf_sk_lookup *ctx)
{
    if (ctx->local_port == PARITY_UDP_PORT)
        bump(SLOT_SK_LOOKUP, 1);
    return SK_PASS;
}

/* Egress UDP to the test port leaving a process of the cgroup. */
SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
    if (skb->protocol == bpf_htons(ETH_P_IP_)) {
        struct iphdr ip;
        struct udphdr udp;
        if (bpf_skb_load_bytes(skb, 0, &ip, sizeof ip) == 0 && ip.protocol == IPPROTO_UDP_ &&
            bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof udp) == 0 &&
            udp.dest == bpf_htons(PARITY_UDP_PORT))
            bump(SLOT_CGROUP_EGRESS, 1);
    }
    return 1;
}

/* Sockets created by processes of the cgroup. */
SEC("cgroup/sock_create")
int cg_sock_create(struct bpf_sock *sk)
{
    if (sk->type == 2 /* SOCK_DGRAM */)
        bump(SLOT_CGROUP_SOCK, 1);
    return 1;
}

SEC("sk_msg")
int msg_count(struct sk_msg_md *msg)
{
    bump(SLOT_SK_MSG_CALLS, 1);
    bump(SLOT_SK_MSG_BYTES, msg->size);
    return SK_PASS;
}

SEC("raw_tp/sys_enter")
int raw_probe(struct bpf_raw_tracepoint_args *ctx)
{
    ran_on_cpu = bpf_get_smp_processor_id();
    raw_arg0 = ctx->args[0];
    return 7;
}
