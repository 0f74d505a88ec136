// A TCP congestion control for the struct_ops tests: a small Reno written here, and a count
// of each callback in .bss, so a test sees which ones the kernel ran. It writes the socket's
// window through the BTF pointer (allowed to congestion controls since 5.6) rather than
// calling the kernel's tcp_reno_* functions, which are kfuncs from 5.13 only.
// Included by hcc.bpf.c (SEC(".struct_ops")) and hcc_link.bpf.c (SEC(".struct_ops.link")).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

static __always_inline struct tcp_sock *tcp_of(struct sock *sk)
{
    return (struct tcp_sock *)sk;
}

/* Slow start below ssthresh, then one segment per window of ACKed segments. */
static __always_inline void reno_cong_avoid(struct sock *sk, __u32 acked)
{
    struct tcp_sock *tp = tcp_of(sk);
    if (tp->snd_cwnd < tp->snd_ssthresh) {
        tp->snd_cwnd = tp->snd_cwnd + acked;
    } else {
        tp->snd_cwnd_cnt = tp->snd_cwnd_cnt + acked;
        if (tp->snd_cwnd_cnt >= tp->snd_cwnd) {
            tp->snd_cwnd_cnt = tp->snd_cwnd_cnt - tp->snd_cwnd;
            tp->snd_cwnd = tp->snd_cwnd + 1;
        }
    }
    if (tp->snd_cwnd > tp->snd_cwnd_clamp)
        tp->snd_cwnd = tp->snd_cwnd_clamp;
}

__u64 init_calls = 0;
__u64 ssthresh_calls = 0;
__u64 undo_cwnd_calls = 0;
__u64 cong_avoid_calls = 0;

SEC("struct_ops/hcc_init")
void BPF_PROG(hcc_init, struct sock *sk)
{
    __sync_fetch_and_add(&init_calls, 1);
}

SEC("struct_ops/hcc_ssthresh")
__u32 BPF_PROG(hcc_ssthresh, struct sock *sk)
{
    __sync_fetch_and_add(&ssthresh_calls, 1);
    __u32 half = tcp_of(sk)->snd_cwnd >> 1;
    return half < 2 ? 2 : half;
}

SEC("struct_ops/hcc_undo_cwnd")
__u32 BPF_PROG(hcc_undo_cwnd, struct sock *sk)
{
    __sync_fetch_and_add(&undo_cwnd_calls, 1);
    return tcp_of(sk)->snd_cwnd;
}

SEC("struct_ops/hcc_cong_avoid")
void BPF_PROG(hcc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
    __sync_fetch_and_add(&cong_avoid_calls, 1);
    reno_cong_avoid(sk, acked);
}
