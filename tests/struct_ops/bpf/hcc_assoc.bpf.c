// The test congestion control and a syscall program that is not part of it, for
// bpf::assoc_struct_ops (the program associated with the ops map after load).
#include "hcc.h"

__u64 assoc_runs = 0;

SEC("syscall")
int assoc_trigger(void *ctx)
{
    __sync_fetch_and_add(&assoc_runs, 1);
    return 0;
}

SEC(".struct_ops")
struct tcp_congestion_ops hcc_assoc = {
    .init = (void *)hcc_init,
    .ssthresh = (void *)hcc_ssthresh,
    .undo_cwnd = (void *)hcc_undo_cwnd,
    .cong_avoid = (void *)hcc_cong_avoid,
    .name = "lbcpp_hcc_asc",
};
