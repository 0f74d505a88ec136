// BPF arena: a sleepable program allocates a page of the arena and builds a two-node list
// in it; `arena_head` holds the first node's __arena pointer for user space to follow.
// The pointers are in address space 1 (__arena), so clang (>= 18) emits the address-space
// casts the verifier of Linux 7.x requires around them; the values stored are the
// user-space addresses of the nodes, what bpf::Arena follows. tests/recent/meson.build
// compiles this file only with such a clang.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "arena.h"

#ifndef __BPF_FEATURE_ADDR_SPACE_CAST
#error "an arena program needs clang >= 18 (address-space casts); see tests/recent/meson.build"
#endif
#define __arena __attribute__((address_space(1)))

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, 33 /* BPF_MAP_TYPE_ARENA */);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 2); /* pages */
} arena SEC(".maps");

extern void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr, __u32 page_cnt, int node_id,
                                           __u64 flags) __weak __ksym;

const volatile __u64 first_value = 0;
__u64 arena_head = 0;
int arena_status = 0;  /* 1: built, -1: no page */

SEC("syscall")
int arena_build(void *ctx)
{
    struct arena_node __arena *a = bpf_arena_alloc_pages(&arena, NULL, 1, -1 /* NUMA_NO_NODE */, 0);
    struct arena_node __arena *b;

    if (!a) {
        arena_status = -1;
        return 0;
    }
    b = a + 1;
    b->value = first_value + 1;
    b->next = 0;
    a->value = first_value;
    /* An __arena pointer's value is the node's user-space address; a cast to a generic
     * pointer would turn it into the kernel's 32-bit form. */
    a->next = (__u64)b;
    arena_head = (__u64)a;
    arena_status = 1;
    return 0;
}
