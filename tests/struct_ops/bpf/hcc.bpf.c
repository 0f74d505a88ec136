// The test congestion control registered by a plain struct_ops map (any libbpf).
#include "hcc.h"

SEC(".struct_ops")
struct tcp_congestion_ops hcc = {
    .init = (void *)hcc_init,
    .ssthresh = (void *)hcc_ssthresh,
    .undo_cwnd = (void *)hcc_undo_cwnd,
    .cong_avoid = (void *)hcc_cong_avoid,
    .name = "lbcpp_hcc",
};
