/* The other half of the linked skeleton (tally.bpf.c): a tracepoint program of one
 * process that adds `step` to tally.bpf.c's map through its function. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern void tally_add(__u64 n) __attribute__((visibility("hidden")));

const volatile __u32 target_tgid = 0;
const volatile __u64 step = 1;

SEC("tracepoint/syscalls/sys_enter_getppid")
int trace_getppid(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return 0;
    tally_add(step);
    return 0;
}
