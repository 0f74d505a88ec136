// Maps of the parity tests: map-in-map, queue/stack, mmap'ed array, freeze, pinning.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_pid = 0;
__u64 inner_seen = 0;
__u64 outer2_seen = 0;
__u64 marker = 0x600d; /* .data, for set/get initial value */

struct inner_arr {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner_arr);
} outer SEC(".maps");

/* An ordinary map of the object that also serves as an inner map of `outer`. */
struct inner_arr inner_obj SEC(".maps");

/* No inner definition: the inner template comes from Map::set_inner_map() before load. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} outer2 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __uint(max_entries, 8);
    __type(value, __u32);
} q SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __uint(max_entries, 8);
    __type(value, __u32);
} st SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, __u64);
} mm SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} frozen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_h SEC(".maps");

/* Used by no program: the autocreate test leaves it out of the kernel. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} maybe SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 100000);
    __type(key, __u32);
    __type(value, __u64);
} h SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} ph SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target_pid)
        return 0;
    __u32 k0 = 0, k1 = 1;

    void *inner = bpf_map_lookup_elem(&outer, &k0);
    if (inner) {
        __u64 *v = bpf_map_lookup_elem(inner, &k0);
        if (v)
            inner_seen = *v;
    }
    void *inner2 = bpf_map_lookup_elem(&outer2, &k1);
    if (inner2) {
        __u64 *v = bpf_map_lookup_elem(inner2, &k1);
        if (v)
            outer2_seen = *v;
    }

    __u32 val;
    if (bpf_map_pop_elem(&q, &val) == 0) {
        val += 1000;
        bpf_map_push_elem(&st, &val, 0);
    }

    __u64 *a0 = bpf_map_lookup_elem(&mm, &k0);
    __u64 *a1 = bpf_map_lookup_elem(&mm, &k1);
    if (a0 && a1)
        *a1 = *a0 * 2;

    __u64 *f = bpf_map_lookup_elem(&frozen, &k0);
    if (f)
        __sync_fetch_and_add(f, 1);
    return 0;
}
