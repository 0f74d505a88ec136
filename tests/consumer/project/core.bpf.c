/* A CO-RE program: reads the parent's tgid out of task_struct with BPF_CORE_READ, built
 * against the vmlinux.h that libbpfcpp_bpf_object(... VMLINUX) generates. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;
__u32 parent_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_parent(void *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();

    if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return 0;
    parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
    return 0;
}
