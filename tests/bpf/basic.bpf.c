// Programs and maps for the core integration tests.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "basic.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_pid = 0;  /* .rodata: set before load */
const volatile __s64 watched_nr = -1;  /* syscall number the raw tracepoint counts */
__u64 multiplier = 1;                  /* .data */
__u64 hits = 0;                        /* .bss */
__u64 raw_hits = 0;                    /* .bss */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 128);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} arr SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} pcpu SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u32);
} pcpu_hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} tiny SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 32);
    __type(key, struct pair_key);
    __type(value, struct record);
} records SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_by_name SEC(".maps");

static __always_inline int mine(void)
{
    return (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

static __always_inline void bump(__u32 slot, __u64 by)
{
    __u64 *v = bpf_map_lookup_elem(&arr, &slot);
    if (v)
        __sync_fetch_and_add(v, by);
}

static __always_inline void store(__u32 slot, __u64 val)
{
    bpf_map_update_elem(&arr, &slot, &val, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    __u32 zero = 0;
    __u64 *v, *c;

    if (pid != target_pid)
        return 0;
    __sync_fetch_and_add(&hits, multiplier);
    v = bpf_map_lookup_elem(&counts, &pid);
    if (v) {
        __sync_fetch_and_add(v, multiplier);
    } else {
        __u64 init = multiplier;
        bpf_map_update_elem(&counts, &pid, &init, BPF_NOEXIST);
    }
    c = bpf_map_lookup_elem(&pcpu, &zero);
    if (c)
        *c += 1;
    return 0;
}

SEC("raw_tracepoint/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
    if (!mine())
        return 0;
    if ((__s64)ctx->args[1] == watched_nr) {
        __sync_fetch_and_add(&raw_hits, 1);
        store(SLOT_LAST_SYSCALL, ctx->args[1]);
    }
    return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_add, int a, int b)
{
    store(SLOT_UPROBE_A, (__u64)(__s64)a);
    store(SLOT_UPROBE_B, (__u64)(__s64)b);
    /* The helper is 5.15's; where the kernel lacks it the branch is dead code, which the
       verifier drops, and the object still loads (the cookie test needs the feature). */
    if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_attach_cookie))
        store(SLOT_UPROBE_COOKIE, bpf_get_attach_cookie(ctx));
    bump(SLOT_UPROBE_HITS, 1);
    return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_add_ret, int ret)
{
    store(SLOT_URETPROBE_RET, (__u64)(__s64)ret);
    return 0;
}

SEC("kprobe")
int BPF_KPROBE(on_kprobe)
{
    if (mine())
        bump(SLOT_KPROBE_HITS, 1);
    return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(on_kretprobe)
{
    if (mine())
        bump(SLOT_KRETPROBE_HITS, 1);
    return 0;
}

SEC("perf_event")
int on_perf_event(struct bpf_perf_event_data *ctx)
{
    bump(SLOT_PERF_EVENT_HITS, 1);
    return 0;
}
