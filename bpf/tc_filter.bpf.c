// A TC ingress filter: drops UDP datagrams (IPv4 and IPv6) to one destination port,
// passes everything else, and counts both.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP_ 0x0800 /* not in vmlinux.h (macros are not BTF) */
#define ETH_P_IPV6_ 0x86DD
#define IPPROTO_UDP_ 17
#define TC_ACT_OK_ 0
#define TC_ACT_SHOT_ 2

const volatile __u16 blocked_port = 0; /* host byte order */

__u64 dropped = 0;
__u64 passed = 0;

static __always_inline int verdict(bool drop)
{
    __sync_fetch_and_add(drop ? &dropped : &passed, 1);
    return drop ? TC_ACT_SHOT_ : TC_ACT_OK_;
}

SEC("tc")
int drop_udp_port(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct udphdr *udp;

    if ((void *)(eth + 1) > end)
        return verdict(false);
    if (eth->h_proto == bpf_htons(ETH_P_IP_)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP_ || ip->ihl < 5)
            return verdict(false);
        udp = (void *)ip + ip->ihl * 4;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6_)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP_)
            return verdict(false);
        udp = (void *)(ip6 + 1);
    } else {
        return verdict(false);
    }
    if ((void *)(udp + 1) > end)
        return verdict(false);
    return verdict(udp->dest == bpf_htons(blocked_port));
}
