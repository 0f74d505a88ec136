// Reports each hit of one USDT probe (a <sys/sdt.h> DTRACE_PROBE in a program) with its
// first two arguments, through a ring buffer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "usdt.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} hits SEC(".maps");

SEC("usdt")
int on_probe(struct pt_regs *ctx)
{
    struct usdt_hit *h = bpf_ringbuf_reserve(&hits, sizeof(*h), 0);
    __u64 id = bpf_get_current_pid_tgid();
    long v;

    if (!h)
        return 0;
    h->ts_ns = bpf_ktime_get_ns();
    h->pid = id >> 32;
    h->tid = (__u32)id;
    for (int i = 0; i < 2; i++)
        h->args[i] = bpf_usdt_arg(ctx, i, &v) == 0 ? v : 0;
    bpf_get_current_comm(h->comm, sizeof(h->comm));
    bpf_ringbuf_submit(h, 0);
    return 0;
}
