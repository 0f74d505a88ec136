// kprobe_multi and kretprobe_multi programs: count the runs of this test's process per
// attach cookie.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u64);   /* cookie */
    __type(value, __u64); /* runs */
} entry_runs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u64);
    __type(value, __u64);
} exit_runs SEC(".maps");

static __always_inline void count(void *map, void *ctx, int with_cookie)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return;
    __u64 cookie = with_cookie ? bpf_get_attach_cookie(ctx) : 0;
    __u64 one = 1;
    __u64 *v = bpf_map_lookup_elem(map, &cookie);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(map, &cookie, &one, BPF_NOEXIST);
}

SEC("kprobe.multi")
int km_entry(struct pt_regs *ctx)
{
    count(&entry_runs, ctx, 1);
    return 0;
}

SEC("kretprobe.multi")
int km_exit(struct pt_regs *ctx)
{
    count(&exit_runs, ctx, 1);
    return 0;
}

/* The same count as a plain kprobe, attached once per function (the fallback of a
 * kernel without kprobe_multi), under key 0: kernels before 5.15 have no attach cookies
 * for kprobes. */
SEC("kprobe")
int kp_each(struct pt_regs *ctx)
{
    count(&entry_runs, ctx, 0);
    return 0;
}
