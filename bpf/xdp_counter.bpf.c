// Counts the packets arriving on an interface by IP protocol, in a per-CPU array so
// CPUs never contend; every packet is passed on unchanged.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_counter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP_ 0x0800 /* not in vmlinux.h (macros are not BTF) */
#define ETH_P_IPV6_ 0x86DD

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, XDP_COUNTER_SLOTS);
    __type(key, __u32);
    __type(value, struct xdp_counter_value);
} counters SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u32 key = XDP_COUNTER_NOT_IP;

    if ((void *)(eth + 1) > end)
        return XDP_PASS;
    if (eth->h_proto == bpf_htons(ETH_P_IP_)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) <= end)
            key = ip->protocol;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6_)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) <= end)
            key = ip6->nexthdr;
    }
    struct xdp_counter_value *v = bpf_map_lookup_elem(&counters, &key);
    if (v) {
        v->packets++;
        v->bytes += end - data;
    }
    return XDP_PASS;
}
