// The smallest useful tracer: remembers every process that calls exec, with its parent,
// until user space reads and removes it.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "minimal.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, struct exec_seen);
} execs SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    struct exec_seen *seen = bpf_map_lookup_elem(&execs, &pid);
    if (seen) {
        __sync_fetch_and_add(&seen->count, 1);
        return 0;
    }
    struct exec_seen fresh = {.count = 1};
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    fresh.ppid = BPF_CORE_READ(task, real_parent, tgid);
    bpf_get_current_comm(fresh.comm, sizeof fresh.comm);
    bpf_map_update_elem(&execs, &pid, &fresh, BPF_NOEXIST);
    return 0;
}
