// A uprobe session (SEC("uprobe.session"), libbpf >= 1.6, Linux >= 6.13): the entry run
// keeps the argument in the session cookie, the return run checks the result against
// it. An odd argument returns 1 at entry, which skips the return run. The session kfuncs
// are weak and in two shapes (without arguments, and with the context, which later
// kernels may take); the one this kernel has is called.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern bool bpf_session_is_return___noarg(void) __ksym __weak;
extern bool bpf_session_is_return___ctx(void *ctx) __ksym __weak;
extern __u64 *bpf_session_cookie___noarg(void) __ksym __weak;
extern __u64 *bpf_session_cookie___ctx(void *ctx) __ksym __weak;

const volatile __u32 target_tgid = 0;
__u64 entries = 0;
__u64 returns = 0;
__u64 paired = 0;
__u64 attach_cookies = 0;
int no_kfuncs = 0;

SEC("uprobe.session")
int usession(struct pt_regs *ctx)
{
    bool is_return;
    __u64 *cookie;

    if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return 0;
    if (bpf_session_is_return___noarg && bpf_session_cookie___noarg) {
        is_return = bpf_session_is_return___noarg();
        cookie = bpf_session_cookie___noarg();
    } else if (bpf_session_is_return___ctx && bpf_session_cookie___ctx) {
        is_return = bpf_session_is_return___ctx(ctx);
        cookie = bpf_session_cookie___ctx(ctx);
    } else {
        no_kfuncs = 1;
        return 0;
    }
    if (!is_return) {
        __u64 x = PT_REGS_PARM1(ctx);
        entries++;
        attach_cookies += bpf_get_attach_cookie(ctx);
        *cookie = x;
        return x & 1;
    }
    returns++;
    if ((int)PT_REGS_RC(ctx) == (int)*cookie * 3)
        paired++;
    return 0;
}
