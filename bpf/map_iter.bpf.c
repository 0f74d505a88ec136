// Counts system calls per process and syscall number in a hash map, for user space to
// walk (examples/map_iter).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "map_iter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct syscall_key);
    __type(value, struct syscall_count);
} counts SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int on_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
    struct syscall_key key = {
        .pid = bpf_get_current_pid_tgid() >> 32,
        .nr = (__u32)ctx->id,
    };
    struct syscall_count *c = bpf_map_lookup_elem(&counts, &key);

    if (c) {
        __sync_fetch_and_add(&c->count, 1);
        return 0;
    }
    struct syscall_count fresh = {.count = 1};
    bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
    bpf_map_update_elem(&counts, &key, &fresh, BPF_NOEXIST);
    return 0;
}
