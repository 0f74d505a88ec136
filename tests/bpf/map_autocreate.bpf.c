// A map of a type no kernel knows beside one that loads: the object opens, fails to load
// while the unknown map is to be created, and loads once its autocreate is turned off.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, ~0U);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} tester SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} calls SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
    __u32 key = 0;
    __u64 *n = bpf_map_lookup_elem(&calls, &key);

    if (n)
        __sync_fetch_and_add(n, 1);
    return 0;
}
