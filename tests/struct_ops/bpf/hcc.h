// A TCP congestion control for the struct_ops tests: Reno through the kernel's own
// functions, and a count of each callback in .bss, so a test sees which ones the kernel ran.
// Included by hcc.bpf.c (SEC(".struct_ops")) and hcc_link.bpf.c (SEC(".struct_ops.link")).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;

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
    return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/hcc_undo_cwnd")
__u32 BPF_PROG(hcc_undo_cwnd, struct sock *sk)
{
    __sync_fetch_and_add(&undo_cwnd_calls, 1);
    return tcp_reno_undo_cwnd(sk);
}

SEC("struct_ops/hcc_cong_avoid")
void BPF_PROG(hcc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
    __sync_fetch_and_add(&cong_avoid_calls, 1);
    tcp_reno_cong_avoid(sk, ack, acked);
}
