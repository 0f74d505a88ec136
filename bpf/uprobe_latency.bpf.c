// Time spent in one user-space function: a uprobe notes the entry time per thread, a
// uretprobe on the same function turns it into a log2 histogram of microseconds.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "uprobe_latency.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0; /* 0: every process */

__u64 calls = 0;
__u64 total_ns = 0;
__u64 max_ns = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32); /* thread id */
    __type(value, __u64); /* entry time, ns */
} starts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, UPROBE_LATENCY_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} histogram SEC(".maps");

SEC("uprobe")
int on_entry(struct pt_regs *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    __u64 now = bpf_ktime_get_ns();

    if (target_tgid != 0 && (id >> 32) != target_tgid)
        return 0;
    bpf_map_update_elem(&starts, &tid, &now, BPF_ANY);
    return 0;
}

SEC("uretprobe")
int on_return(struct pt_regs *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    __u64 *start = bpf_map_lookup_elem(&starts, &tid);
    __u64 delta, us, *count;
    __u32 slot = 0;

    if (!start)
        return 0; /* entered before the probes were attached */
    delta = bpf_ktime_get_ns() - *start;
    bpf_map_delete_elem(&starts, &tid);

    for (us = delta / 1000; us > 1 && slot < UPROBE_LATENCY_SLOTS - 1; us >>= 1)
        slot++;
    count = bpf_map_lookup_elem(&histogram, &slot);
    if (count)
        __sync_fetch_and_add(count, 1);
    __sync_fetch_and_add(&calls, 1);
    __sync_fetch_and_add(&total_ns, delta);
    if (delta > max_ns)
        max_ns = delta; /* racy between CPUs; an approximate maximum is enough */
    return 0;
}
