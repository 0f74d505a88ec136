// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* The program half of a skeleton made from two objects: its program calls bump() and
 * writes the map `counts`, both defined in link_lib.bpf.c, and overrides its weak weight(). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "link.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern struct link_counts counts SEC(".maps");
extern void bump(__u32 slot, __u64 pid) __hidden;

const volatile __u32 filter_pid = 0;
__u64 main_hits = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} seen SEC(".maps");

int weight(void)
{
    return 10;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    __u64 one = 1, *n;

    if (pid != filter_pid)
        return 0;
    n = bpf_map_lookup_elem(&seen, &pid);
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        bpf_map_update_elem(&seen, &pid, &one, BPF_NOEXIST);
    main_hits++;
    bump(LINK_SLOT_SUM, pid);
    return 0;
}
