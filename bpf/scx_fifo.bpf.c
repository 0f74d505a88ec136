/* A first sched_ext scheduler: one global first-in first-out queue.
 *
 * A task that wakes up while some CPU is idle goes straight to that CPU; every other
 * runnable task joins the kernel's global dispatch queue (SCX_DSQ_GLOBAL) in arrival
 * order, from which a CPU that runs out of work takes the oldest. Each runs for slice_ns
 * before it is preempted and queued again. The loader is examples/scx_fifo/main.cpp.
 *
 * Without ops.dispatch and ops.init it needs no sleepable callback (SEC("struct_ops.s/"),
 * libbpf >= 1.2) and no queue of its own, so it loads with libbpf 1.1 too. */
#include <libbpfcpp/bpf/sched_ext.h>

#include "scx_fifo.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u64 slice_ns = SCX_SLICE_DFL;

/* Written by user space while the scheduler runs, to see the exit protocol end to end:
 * a non-zero fail_request makes the next enqueue call scx_bpf_error() with it; a non-zero
 * stall_request makes enqueue lose the tasks it is given, which the kernel's watchdog
 * notices after timeout_ms. */
volatile __u64 fail_request = 0;
volatile __u64 stall_request = 0;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scx_fifo_stats);
} stats SEC(".maps");

static __always_inline struct scx_fifo_stats *my_stats(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&stats, &zero);
}

__s32 BPF_STRUCT_OPS(fifo_select_cpu, struct task_struct *p, __s32 prev_cpu, __u64 wake_flags)
{
    bool idle = false;
    __s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &idle);
    if (idle) {
        struct scx_fifo_stats *s = my_stats();
        if (s)
            s->direct++;
        scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_ns, 0);
    }
    return cpu;
}

void BPF_STRUCT_OPS(fifo_enqueue, struct task_struct *p, __u64 enq_flags)
{
    __u64 request = fail_request;
    if (request)
        scx_bpf_error("failure requested by user space (request %llu)", request);
    if (stall_request)
        return;
    struct scx_fifo_stats *s = my_stats();
    if (s)
        s->enqueued++;
    scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, slice_ns, enq_flags);
}

void BPF_STRUCT_OPS(fifo_running, struct task_struct *p)
{
    struct scx_fifo_stats *s = my_stats();
    if (s)
        s->dispatched++;
}

void BPF_STRUCT_OPS(fifo_exit, struct scx_exit_info *ei)
{
    libbpfcpp_scx_record_exit(ei);
}

SEC(".struct_ops")
struct sched_ext_ops fifo_ops = {
    .select_cpu = (void *)fifo_select_cpu,
    .enqueue = (void *)fifo_enqueue,
    .running = (void *)fifo_running,
    .exit = (void *)fifo_exit,
    .timeout_ms = 5000, /* the watchdog: a runnable task not run for 5 s ejects the scheduler */
    .name = "scx_fifo",
};
