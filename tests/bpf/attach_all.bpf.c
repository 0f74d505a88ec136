// attach_all() and its three cases: a tracepoint it attaches, a kprobe naming its function
// (attached, or a failure on a kernel without kprobes, never passed over) and a bare
// SEC("uprobe") naming no attach point (passed over, and reported to the logger).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u32 target_pid = 0;
__u64 tp_hits = 0;
__u64 kprobe_hits = 0;

static __always_inline int mine(void)
{
    return (__u32)(bpf_get_current_pid_tgid() >> 32) == target_pid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_getppid(void *ctx)
{
    if (mine()) __sync_fetch_and_add(&tp_hits, 1);
    return 0;
}

SEC("kprobe/__x64_sys_getppid")
int kp_getppid(void *ctx)
{
    if (mine()) __sync_fetch_and_add(&kprobe_hits, 1);
    return 0;
}

SEC("uprobe")
int up_unnamed(void *ctx)
{
    return 0;
}
