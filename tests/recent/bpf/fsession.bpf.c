// An fsession program (SEC("fsession/..."), libbpf >= 1.7): one program on do_nanosleep()
// runs at its entry and at its return, the two runs sharing the session cookie. The
// entry keeps the first argument (the sleeper) in the cookie; the return run, which sees
// the arguments too, counts a pair when it finds the same one there.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern bool bpf_session_is_return(void *ctx) __ksym __weak;
extern __u64 *bpf_session_cookie(void *ctx) __ksym __weak;

const volatile __u32 target_tgid = 0;
__u64 entries = 0;
__u64 returns = 0;
__u64 paired = 0;

SEC("fsession/do_nanosleep")
int fsession_sleep(__u64 *ctx)
{
    __u64 *cookie;

    if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return 0;
    cookie = bpf_session_cookie(ctx);
    if (!bpf_session_is_return(ctx)) {
        entries++;
        *cookie = ctx[0];
        return 0;
    }
    returns++;
    if (*cookie == ctx[0] && ctx[0] != 0)
        paired++;
    return 0;
}
