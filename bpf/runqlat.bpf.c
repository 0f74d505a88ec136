/* Run-queue latency as a log2 histogram: a task's wake-up (or its preemption, when it is
 * still runnable as it is switched out) stamps the time; the switch that runs it again
 * adds now - stamp to the histogram. Raw tracepoints, which every kernel with BPF has
 * (the BTF-typed tp_btf needs program type tracing, which some kernels refuse). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "runqlat.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 filter_tgid = 0;   /* 0: every process */
const volatile bool in_msecs = false;   /* slots of milliseconds instead of microseconds */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);   /* thread id */
    __type(value, __u64); /* when it became runnable (bpf_ktime_get_ns) */
} queued_at SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct runqlat_hist);
} hist SEC(".maps");

/* task_struct::state was renamed __state in 5.14. */
struct task_struct___pre_5_14 {
    long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
    if (bpf_core_field_exists(t->__state))
        return BPF_CORE_READ(t, __state);
    return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

static __always_inline void stamp(struct task_struct *t)
{
    __u32 tid = BPF_CORE_READ(t, pid);
    __u64 now;

    if (!tid || (filter_tgid && BPF_CORE_READ(t, tgid) != filter_tgid))
        return;
    now = bpf_ktime_get_ns();
    bpf_map_update_elem(&queued_at, &tid, &now, BPF_ANY);
}

static __always_inline __u32 log2_slot(__u64 v)
{
    __u32 slot = 0;

    while (v > 1 && slot < RUNQLAT_SLOTS - 1) {
        v >>= 1;
        slot++;
    }
    return slot;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
    stamp(p);
    return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
    stamp(p);
    return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    struct runqlat_hist *h;
    __u32 tid, zero = 0;
    __u64 *t0, delta;

    if (task_state(prev) == 0) /* TASK_RUNNING: preempted, back in the queue */
        stamp(prev);

    tid = BPF_CORE_READ(next, pid);
    t0 = bpf_map_lookup_elem(&queued_at, &tid);
    if (!t0)
        return 0;
    delta = bpf_ktime_get_ns() - *t0;
    bpf_map_delete_elem(&queued_at, &tid);
    delta /= in_msecs ? 1000000 : 1000;
    h = bpf_map_lookup_elem(&hist, &zero);
    if (h) {
        __u32 slot = log2_slot(delta);

        barrier_var(slot);  /* the verifier needs the bound here, not only in the loop */
        if (slot < RUNQLAT_SLOTS)
            __sync_fetch_and_add(&h->slots[slot], 1);
    }
    return 0;
}
