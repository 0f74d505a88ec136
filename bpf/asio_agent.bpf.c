// The asio_agent example: processes that exec go to a ring buffer, processes that end to
// a perf buffer, so one agent serves both kinds from one io_context. Tracepoints only.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <libbpfcpp/bpf/ringbuf_drops.h>

#include "asio_agent.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} execs SEC(".maps");
RINGBUF_DROPS(execs);

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(int));
    __uint(value_size, sizeof(int));
} exits SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct exec_event e = {};

    e.pid = bpf_get_current_pid_tgid() >> 32;
    e.ppid = BPF_CORE_READ(task, real_parent, tgid);
    bpf_get_current_comm(e.comm, sizeof e.comm);
    ringbuf_output_counted(&execs, &execs_drops, &e, sizeof e, 0);
    return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct task_struct *task;
    struct exit_event e = {};

    if ((__u32)id != id >> 32)  /* a thread, not the process */
        return 0;
    task = (struct task_struct *)bpf_get_current_task();
    e.pid = id >> 32;
    e.exit_code = BPF_CORE_READ(task, exit_code);
    bpf_get_current_comm(e.comm, sizeof e.comm);
    bpf_perf_event_output(ctx, &exits, BPF_F_CURRENT_CPU, &e, sizeof e);
    return 0;
}
