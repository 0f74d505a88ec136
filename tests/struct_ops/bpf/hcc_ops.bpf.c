// The test congestion control with a second cong_avoid program that no ops table names:
// the skeleton's struct_ops shadow puts it in the cong_avoid member before load
// (libbpf >= 1.4; libbpf >= 1.3 leaves an unnamed struct_ops program unloaded).
#include "hcc.h"

__u64 cong_avoid_alt_calls = 0;

SEC("struct_ops/hcc_cong_avoid_alt")
void BPF_PROG(hcc_cong_avoid_alt, struct sock *sk, __u32 ack, __u32 acked)
{
    __sync_fetch_and_add(&cong_avoid_alt_calls, 1);
    reno_cong_avoid(sk, acked);
}

SEC(".struct_ops")
struct tcp_congestion_ops hcc_ops = {
    .init = (void *)hcc_init,
    .ssthresh = (void *)hcc_ssthresh,
    .undo_cwnd = (void *)hcc_undo_cwnd,
    .cong_avoid = (void *)hcc_cong_avoid,
    .name = "lbcpp_hcc_ops",
};
