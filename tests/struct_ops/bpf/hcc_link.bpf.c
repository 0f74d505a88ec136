// The test congestion control in SEC(".struct_ops.link"): registered through a BPF link,
// a section libbpf reads from release 1.2 on.
#include "hcc.h"

SEC(".struct_ops.link")
struct tcp_congestion_ops hcc_link = {
    .init = (void *)hcc_init,
    .ssthresh = (void *)hcc_ssthresh,
    .undo_cwnd = (void *)hcc_undo_cwnd,
    .cong_avoid = (void *)hcc_cong_avoid,
    .name = "lbcpp_hcc_link",
};
