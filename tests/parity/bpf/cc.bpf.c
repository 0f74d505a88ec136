// A minimal TCP congestion control registered through a struct_ops map.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 ssthresh_calls = 0;

SEC("struct_ops/parity_ssthresh")
__u32 BPF_PROG(parity_ssthresh, struct sock *sk)
{
    ssthresh_calls++;
    return 10;
}

SEC("struct_ops/parity_undo_cwnd")
__u32 BPF_PROG(parity_undo_cwnd, struct sock *sk)
{
    return 10;
}

SEC("struct_ops/parity_cong_avoid")
void BPF_PROG(parity_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC(".struct_ops")
struct tcp_congestion_ops parity_cc = {
    .ssthresh = (void *)parity_ssthresh,
    .undo_cwnd = (void *)parity_undo_cwnd,
    .cong_avoid = (void *)parity_cong_avoid,
    .name = "parity_cc",
};
