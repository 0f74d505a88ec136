// A kprobe session (SEC("kprobe.session"), libbpf >= 1.5, kernel >= 6.10): one program
// runs at entry and at return of each function; entry and return runs are counted per
// attach cookie. bpf_session_is_return() took no argument up to Linux 7.x, which gave it
// the context: both shapes are declared (libbpf drops the ___ suffix when resolving a
// kfunc) and the one this kernel has is called.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern bool bpf_session_is_return___noarg(void) __ksym __weak;
extern bool bpf_session_is_return___ctx(void *ctx) __ksym __weak;

static __always_inline bool session_is_return(void *ctx)
{
    if (bpf_session_is_return___noarg)
        return bpf_session_is_return___noarg();
    return bpf_session_is_return___ctx(ctx);
}

const volatile __u32 target_tgid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u64);   /* cookie * 2 + (1 at return) */
    __type(value, __u64); /* runs */
} session_runs SEC(".maps");

SEC("kprobe.session")
int ks_both(struct pt_regs *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return 0;
    __u64 key = bpf_get_attach_cookie(ctx) * 2 + (session_is_return(ctx) ? 1 : 0);
    __u64 one = 1;
    __u64 *v = bpf_map_lookup_elem(&session_runs, &key);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&session_runs, &key, &one, BPF_NOEXIST);
    return 0; /* 0 at entry: run at return too */
}
