// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* tcpconnect: one event per outgoing TCP connection (IPv4 and IPv6).
 *
 * Three ways to see a connect, the same event from each; user space loads one set:
 *   fexit_*      fexit on tcp_v4_connect/tcp_v6_connect: the socket and the result at once.
 *   kprobe_*     kprobe saves the socket per thread, kretprobe reports it if connect worked.
 *   tp_*         tracepoint sock:inet_sock_set_state. The CLOSE -> SYN_SENT transition runs
 *                in the connecting thread but before an ephemeral source port is chosen,
 *                so the process data is kept per socket and the event is sent when the
 *                socket leaves SYN_SENT, with the port the kernel picked.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tcpconnect.h"

#define AF_INET 2
#define AF_INET6 10

/* Filters, set by user space before load; zero means "no filter". */
const volatile __u32 filter_pid = 0;
const volatile __u32 filter_uid = (__u32)-1; /* (uid_t)-1 is no user's id */
const volatile __u16 filter_family = 0;
const volatile __u32 filter_nports = 0;
const volatile __u16 filter_ports[TCPCONNECT_MAX_PORTS] = {};
/* Ring buffer or perf event array: user space retypes "events" to match. */
const volatile bool use_ringbuf = true;

/* Events that could not be delivered (ring buffer full, too many connects in flight).
 * A full perf buffer is reported to user space by the perf buffer itself instead. */
__u64 lost_events = 0;
/* Perf buffer outputs that failed (the CPU's buffer was full). The kernel reports such a
 * loss through the buffer only with its next successful write there, so drops at the end
 * of a burst never reach a lost callback; this count is exact. */
__u64 perf_output_failures = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Tracepoint strategy: sockets in SYN_SENT, with the data of the process that connects. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct tcpconnect_event);
} pending SEC(".maps");

/* Kprobe strategy: the socket of each thread inside tcp_v4_connect/tcp_v6_connect. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, struct sock *);
} connecting SEC(".maps");

static __always_inline void count_lost(void)
{
    __sync_fetch_and_add(&lost_events, 1);
}

static __always_inline bool port_wanted(__u16 dport)
{
    if (filter_nports == 0)
        return true;
    for (__u32 i = 0; i < TCPCONNECT_MAX_PORTS; i++) {
        if (i >= filter_nports)
            break;
        if (filter_ports[i] == dport)
            return true;
    }
    return false;
}

static __always_inline bool family_wanted(__u16 family)
{
    return filter_family == 0 || filter_family == family;
}

/* Filters on the current task; false when it is filtered out. */
static __always_inline bool task_wanted(void)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 uid = (__u32)bpf_get_current_uid_gid();

    if (filter_pid != 0 && (__u32)(pid_tgid >> 32) != filter_pid)
        return false;
    if (filter_uid != (__u32)-1 && uid != filter_uid)
        return false;
    return true;
}

/* The process part of the event, from the current task. */
static __always_inline void fill_task(struct tcpconnect_event *e)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u64 uid_gid = bpf_get_current_uid_gid();
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();

    e->ts_ns = bpf_ktime_get_ns();
    e->pid = pid_tgid >> 32;
    e->tid = (__u32)pid_tgid;
    e->uid = (__u32)uid_gid;
    e->gid = uid_gid >> 32;
    e->loginuid = (__u32)-1;
    if (bpf_core_field_exists(task->loginuid))
        e->loginuid = BPF_CORE_READ(task, loginuid.val);
    e->proto = IPPROTO_TCP;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline void submit(void *ctx, struct tcpconnect_event *e)
{
    if (use_ringbuf) {
        if (bpf_ringbuf_output(&events, e, sizeof(*e), 0) != 0)
            count_lost();
    } else {
        if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e)) != 0)
            __sync_fetch_and_add(&perf_output_failures, 1);
    }
}

/* Builds and sends the event of a socket whose connect() has succeeded (kprobe, fentry). */
static __always_inline void report_sock(void *ctx, struct sock *sk)
{
    struct tcpconnect_event e = {};
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    __u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));

    if (!family_wanted(family) || !port_wanted(dport))
        return;
    fill_task(&e);
    e.family = family;
    e.dport = dport;
    e.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    if (family == AF_INET) {
        BPF_CORE_READ_INTO(&e.saddr, sk, __sk_common.skc_rcv_saddr);
        BPF_CORE_READ_INTO(&e.daddr, sk, __sk_common.skc_daddr);
    } else {
        BPF_CORE_READ_INTO(&e.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(&e.daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    }
    submit(ctx, &e);
}

/* An IPv6 socket connecting to a v4-mapped address goes through tcp_v4_connect from
 * tcp_v6_connect; the outer call reports it, once, with the socket's own family. */
static __always_inline bool inner_v4_call(struct sock *sk)
{
    return BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6;
}

/* ---- fentry strategy ---------------------------------------------------------------- */

SEC("fexit/tcp_v4_connect")
int BPF_PROG(fexit_tcp_v4_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
    if (ret != 0 || inner_v4_call(sk) || !task_wanted())
        return 0;
    report_sock(ctx, sk);
    return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fexit_tcp_v6_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
    if (ret != 0 || !task_wanted())
        return 0;
    report_sock(ctx, sk);
    return 0;
}

/* ---- kprobe strategy ---------------------------------------------------------------- */

static __always_inline int connect_entry(struct sock *sk, bool v4)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();

    /* The v4-mapped case: tcp_v6_connect's entry has saved this socket already. */
    if ((v4 && inner_v4_call(sk)) || !task_wanted())
        return 0;
    if (bpf_map_update_elem(&connecting, &tid, &sk, BPF_ANY) != 0)
        count_lost();
    return 0;
}

static __always_inline int connect_return(void *ctx, int ret, bool v4)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct sock **skp = bpf_map_lookup_elem(&connecting, &tid);
    struct sock *sk;

    if (skp == NULL)
        return 0;
    sk = *skp;
    if (v4 && inner_v4_call(sk))
        return 0;
    bpf_map_delete_elem(&connecting, &tid);
    if (ret == 0)
        report_sock(ctx, sk);
    return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_v4_connect, struct sock *sk)
{
    return connect_entry(sk, true);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_tcp_v4_connect, int ret)
{
    return connect_return(ctx, ret, true);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_tcp_v6_connect, struct sock *sk)
{
    return connect_entry(sk, false);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_tcp_v6_connect, int ret)
{
    return connect_return(ctx, ret, false);
}

/* ---- tracepoint strategy ------------------------------------------------------------ */

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
    __u64 sk = (__u64)ctx->skaddr;
    struct tcpconnect_event *e;

    if (ctx->protocol != IPPROTO_TCP)
        return 0;

    if (ctx->newstate == TCP_SYN_SENT) {
        struct tcpconnect_event fresh = {};

        if (!family_wanted(ctx->family) || !port_wanted(ctx->dport) || !task_wanted())
            return 0;
        fill_task(&fresh);
        fresh.dport = ctx->dport;
        if (bpf_map_update_elem(&pending, &sk, &fresh, BPF_ANY) != 0)
            count_lost();
        return 0;
    }
    /* The run at the socket's exit from SYN_SENT happens in softirq context on the
     * SYN-ACK, and the kernel skips a tracing program there when the interrupt came in
     * the middle of another one's run on that CPU (counted only in the program's
     * recursion_misses). The socket's next transition, out of ESTABLISHED (in the
     * process when it closes the socket), reports the connect then. The port check
     * keeps an entry left by a missed failure from naming another socket at that
     * address. */
    if (ctx->oldstate != TCP_SYN_SENT && ctx->oldstate != TCP_ESTABLISHED)
        return 0;
    e = bpf_map_lookup_elem(&pending, &sk);
    if (e == NULL)
        return 0; /* filtered out, or connecting since before the tracer started */
    if (ctx->oldstate == TCP_ESTABLISHED && e->dport != ctx->dport)
        return 0;
    /* Source port still 0: connect() failed before sending the SYN (no port free);
     * like the other strategies, only connects that got that far are reported. */
    if (ctx->sport != 0) {
        e->family = ctx->family;
        e->sport = ctx->sport;
        e->dport = ctx->dport;
        /* Helper reads: CO-RE turns a direct copy of these arrays into an access
         * through a computed context pointer, which the verifier refuses. */
        if (ctx->family == AF_INET) {
            bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
            bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
        } else {
            bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
            bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
        }
        submit(ctx, e);
    }
    bpf_map_delete_elem(&pending, &sk);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
