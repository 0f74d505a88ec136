// Programs of the parity attach tests: iterators, tp_btf, fentry/fexit/fmod_ret, LSM,
// USDT, uprobe with cookie, kprobe by offset.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_pid = 0;
const volatile __s64 getppid_nr = 110;

__u64 btf_hits = 0;
__u64 raw_hits = 0;
__u64 fentry_hits = 0;
__u64 fexit_hits = 0;
__u64 fmod_hits = 0;
__u64 lsm_hits = 0;
__u64 usdt_sum = 0;
__u64 usdt_cookie = 0;
__u64 uprobe_cookie = 0;
__u64 uprobe_hits = 0;
__u64 multi_hits = 0;
__u64 kprobe_hits = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} kv SEC(".maps");

static __always_inline int mine(void)
{
    return (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

/* One line per process: "TGID COMM". */
SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
    struct seq_file *seq = ctx->meta->seq;
    struct task_struct *task = ctx->task;
    if (!task || task->pid != task->tgid)
        return 0;
    BPF_SEQ_PRINTF(seq, "%d %s\n", task->tgid, task->comm);
    return 0;
}

/* One line per entry of the map given at attach: "KEY VALUE". */
SEC("iter/bpf_map_elem")
int dump_kv(struct bpf_iter__bpf_map_elem *ctx)
{
    struct seq_file *seq = ctx->meta->seq;
    __u32 *key = ctx->key;
    __u64 *value = ctx->value;
    if (!key || !value)
        return 0;
    BPF_SEQ_PRINTF(seq, "%u %llu\n", *key, *value);
    return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
    if (mine() && id == getppid_nr)
        __sync_fetch_and_add(&btf_hits, 1);
    return 0;
}

/* The same count as btf_sys_enter through a plain raw tracepoint: the fallback of
 * tp_btf on kernels that refuse tracing programs. */
SEC("raw_tp/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
    if (mine() && id == getppid_nr)
        __sync_fetch_and_add(&raw_hits, 1);
    return 0;
}

SEC("fentry/__x64_sys_close")
int BPF_PROG(fentry_close)
{
    if (mine())
        __sync_fetch_and_add(&fentry_hits, 1);
    return 0;
}

SEC("fexit/__x64_sys_close")
int BPF_PROG(fexit_close)
{
    if (mine())
        __sync_fetch_and_add(&fexit_hits, 1);
    return 0;
}

/* fmod_ret needs an error-injectable function or a security_ hook. */
SEC("fmod_ret/security_file_open")
int BPF_PROG(fmod_file_open, struct file *file)
{
    if (mine())
        __sync_fetch_and_add(&fmod_hits, 1);
    return 0; /* 0: run the function and keep its result */
}

/* Attach target set from user space with Prog::set_attach_target(). */
SEC("fentry")
int BPF_PROG(fentry_dynamic)
{
    if (mine())
        __sync_fetch_and_add(&fentry_hits, 100);
    return 0;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_open, struct file *file)
{
    if (mine())
        __sync_fetch_and_add(&lsm_hits, 1);
    return 0;
}

SEC("usdt")
int BPF_USDT(on_tick, long a, long b)
{
    usdt_sum += a * b;
    usdt_cookie = bpf_usdt_cookie(ctx);
    return 0;
}

SEC("uprobe")
int on_uprobe(struct pt_regs *ctx)
{
    uprobe_hits++;
    uprobe_cookie = bpf_get_attach_cookie(ctx);
    return 0;
}

SEC("uprobe")
int on_multi(struct pt_regs *ctx)
{
    multi_hits++;
    return 0;
}

SEC("kprobe")
int on_kprobe(struct pt_regs *ctx)
{
    if (mine())
        __sync_fetch_and_add(&kprobe_hits, 1);
    return 0;
}
