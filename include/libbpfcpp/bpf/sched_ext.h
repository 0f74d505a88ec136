/* BPF side of a sched_ext scheduler (Linux 6.13+ kfunc names, CONFIG_SCHED_CLASS_EXT):
 * the kernel types and kfuncs a scheduler uses, and the exit record user space waits on
 * (bpf::scx::Scheduler in <libbpfcpp/sched_ext.hpp>).
 *
 *   #include <libbpfcpp/bpf/sched_ext.h>       // instead of vmlinux.h
 *
 *   void BPF_STRUCT_OPS(fifo_enqueue, struct task_struct *p, __u64 enq_flags)
 *   {
 *       scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
 *   }
 *   void BPF_STRUCT_OPS(fifo_exit, struct scx_exit_info *ei)
 *   {
 *       libbpfcpp_scx_record_exit(ei);           // user space learns why it ended
 *   }
 *   SEC(".struct_ops")                            // or ".struct_ops.link" (libbpf >= 1.2)
 *   struct sched_ext_ops fifo_ops = {
 *       .enqueue = (void *)fifo_enqueue, .exit = (void *)fifo_exit, .name = "fifo",
 *   };
 *
 * Why it declares the kernel's types itself: a vmlinux.h has the sched_ext types only when
 * it was made from a kernel built with CONFIG_SCHED_CLASS_EXT, and the machine that builds
 * a scheduler often runs another kernel (a build host, CI). The declarations below are
 * CO-RE: libbpf matches struct sched_ext_ops to the running kernel's member by member
 * (by name), and the fields read through preserve_access_index are relocated, so one
 * object runs on every kernel that has these members. With a vmlinux.h of a sched_ext
 * kernel instead, define LIBBPFCPP_SCX_KERNEL_TYPES and include that vmlinux.h first.
 */
#ifndef LIBBPFCPP_BPF_SCHED_EXT_H
#define LIBBPFCPP_BPF_SCHED_EXT_H

#ifndef LIBBPFCPP_SCX_KERNEL_TYPES
#include <linux/bpf.h> /* map types and flags; the kernel types come next */
#endif
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sched_ext_exit.h"

#ifndef LIBBPFCPP_SCX_KERNEL_TYPES

typedef _Bool bool;
enum { false = 0, true = 1 };

/* A struct, not a forward declaration: libbpf checks kfunc prototypes against the
 * kernel's, and a declared-only struct does not match the kernel's struct there. The
 * fields are read through CO-RE, so only those used need to be named. */
struct task_struct {
    int pid;
    char comm[16];
} __attribute__((preserve_access_index));

/* The built-in dispatch queues (enum scx_dsq_id_flags). */
#define SCX_DSQ_FLAG_BUILTIN (1ULL << 63)
#define SCX_DSQ_GLOBAL (SCX_DSQ_FLAG_BUILTIN | 1)
#define SCX_DSQ_LOCAL (SCX_DSQ_FLAG_BUILTIN | 2)

/* The default time slice, 20 ms (SCX_SLICE_DFL), in ns. */
#define SCX_SLICE_DFL (20ULL * 1000 * 1000)

/* ops.flags (enum scx_ops_flags): a scheduler that leaves some tasks to the fair class
 * sets none of these and enables itself for SCHED_EXT tasks only (the "partial" mode). */
#define SCX_OPS_SWITCH_PARTIAL (1ULL << 3)

/* Why the kernel ended a scheduler (enum scx_exit_kind). */
enum scx_exit_kind {
    SCX_EXIT_NONE = 0,
    SCX_EXIT_DONE = 1,
    SCX_EXIT_UNREG = 64,
    SCX_EXIT_UNREG_BPF = 65,
    SCX_EXIT_UNREG_KERN = 66,
    SCX_EXIT_SYSRQ = 67,
    SCX_EXIT_ERROR = 1024,
    SCX_EXIT_ERROR_BPF = 1025,
    SCX_EXIT_ERROR_STALL = 1026,
};

struct scx_exit_info {
    enum scx_exit_kind kind;
    __s64 exit_code;
    const char *reason;
    char *msg;
} __attribute__((preserve_access_index));

struct scx_init_task_args;
struct scx_exit_task_args;

/* The ops a scheduler fills, by name; libbpf copies them into the running kernel's
 * struct sched_ext_ops. Members this header leaves out stay zero (the kernel's default). */
struct sched_ext_ops {
    __s32 (*select_cpu)(struct task_struct *p, __s32 prev_cpu, __u64 wake_flags);
    void (*enqueue)(struct task_struct *p, __u64 enq_flags);
    void (*dequeue)(struct task_struct *p, __u64 deq_flags);
    void (*dispatch)(__s32 cpu, struct task_struct *prev);
    void (*tick)(struct task_struct *p);
    void (*runnable)(struct task_struct *p, __u64 enq_flags);
    void (*running)(struct task_struct *p);
    void (*stopping)(struct task_struct *p, bool runnable);
    void (*quiescent)(struct task_struct *p, __u64 deq_flags);
    void (*set_weight)(struct task_struct *p, __u32 weight);
    __s32 (*init_task)(struct task_struct *p, struct scx_init_task_args *args);
    void (*exit_task)(struct task_struct *p, struct scx_exit_task_args *args);
    void (*enable)(struct task_struct *p);
    void (*disable)(struct task_struct *p);
    void (*cpu_online)(__s32 cpu);
    void (*cpu_offline)(__s32 cpu);
    __s32 (*init)(void);
    void (*exit)(struct scx_exit_info *info);
    __u32 dispatch_max_batch;
    __u64 flags;
    __u32 timeout_ms;
    __u32 exit_dump_len;
    char name[128];
};

#endif /* LIBBPFCPP_SCX_KERNEL_TYPES */

/* The kfuncs (Linux 6.13 names; 6.12 called the first two scx_bpf_dispatch and
 * scx_bpf_consume). bpf::scx::probe() says when the running kernel lacks them. */
extern void scx_bpf_dsq_insert(struct task_struct *p, __u64 dsq_id, __u64 slice, __u64 enq_flags) __ksym;
extern bool scx_bpf_dsq_move_to_local(__u64 dsq_id) __ksym;
extern __s32 scx_bpf_create_dsq(__u64 dsq_id, __s32 node) __ksym;
extern __s32 scx_bpf_dsq_nr_queued(__u64 dsq_id) __ksym;
extern __s32 scx_bpf_select_cpu_dfl(struct task_struct *p, __s32 prev_cpu, __u64 wake_flags,
                                    bool *is_idle) __ksym;
extern void scx_bpf_error_bstr(char *fmt, unsigned long long *data, __u32 data__sz) __ksym;
extern void scx_bpf_exit_bstr(__s64 exit_code, char *fmt, unsigned long long *data, __u32 data__sz) __ksym;

/* A struct_ops callback: NAME's program in SEC("struct_ops/NAME"). */
#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
/* A callback allowed to sleep (ops.init, ops.init_task, ...); libbpf >= 1.2. */
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

/* The two arguments of a *_bstr kfunc, declared in the caller's block: the format as a
 * static string, the arguments as an array of u64. */
#define ___scx_bstr_args(fmt, args...)                                              \
    static char ___scx_fmt[] = fmt;                                                 \
    unsigned long long ___scx_param[___bpf_narg(args)];                             \
    _Pragma("GCC diagnostic push")                                                  \
    _Pragma("GCC diagnostic ignored \"-Wint-conversion\"")                          \
    ___bpf_fill(___scx_param, args);                                                \
    _Pragma("GCC diagnostic pop")

/* scx_bpf_error(fmt, args...): ends the scheduler with SCX_EXIT_ERROR_BPF and the message
 * printf-formatted by the kernel. At least one argument: the kernel takes the arguments as
 * an array of u64, whose size may not be zero. */
#define scx_bpf_error(fmt, args...)                                                 \
    ({                                                                              \
        ___scx_bstr_args(fmt, args);                                                \
        scx_bpf_error_bstr(___scx_fmt, ___scx_param, sizeof(___scx_param));         \
    })

/* scx_bpf_exit(code, fmt, args...): ends the scheduler with SCX_EXIT_UNREG_BPF and
 * `code`, which user space reads as ExitInfo::exit_code (e.g. to ask for a restart). */
#define scx_bpf_exit(code, fmt, args...)                                            \
    ({                                                                              \
        ___scx_bstr_args(fmt, args);                                                \
        scx_bpf_exit_bstr(code, ___scx_fmt, ___scx_param, sizeof(___scx_param));    \
    })

/* The ring the exit records go to; bpf::scx::Scheduler finds it by this name. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096 * 2);
} libbpfcpp_scx_exits SEC(".maps");

/* Called from ops.exit: copies the kernel's exit info into a record on
 * libbpfcpp_scx_exits, which wakes the user side waiting on it. */
static __always_inline void libbpfcpp_scx_record_exit(struct scx_exit_info *ei)
{
    struct libbpfcpp_scx_exit_record *r = bpf_ringbuf_reserve(&libbpfcpp_scx_exits, sizeof(*r), 0);
    if (!r)
        return;
    r->kind = ei->kind;
    r->exit_cpu = -1;
    r->exit_code = bpf_core_field_exists(ei->exit_code) ? ei->exit_code : 0; /* 6.10+ */
    if (bpf_probe_read_kernel_str(r->reason, sizeof(r->reason), ei->reason) < 0)
        r->reason[0] = 0;
    if (bpf_probe_read_kernel_str(r->msg, sizeof(r->msg), ei->msg) < 0)
        r->msg[0] = 0;
    bpf_ringbuf_submit(r, 0);
}

#endif /* LIBBPFCPP_BPF_SCHED_EXT_H */
