// BPF arena: a sleepable program allocates a page of the arena and builds a two-node list
// in it; `arena_head` holds the first node's __arena pointer for user space to follow.
// Written without address-space casts (clang 14 has none): the kfunc's result is an
// arena pointer to the verifier, and the values stored are the user-space addresses.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "arena.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, 33 /* BPF_MAP_TYPE_ARENA */);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 2); /* pages */
} arena SEC(".maps");

extern void *bpf_arena_alloc_pages(void *map, void *addr, __u32 page_cnt, int node_id, __u64 flags) __weak __ksym;

const volatile __u64 first_value = 0;
__u64 arena_head = 0;
int arena_status = 0;  /* 1: built, -1: no page */

SEC("syscall")
int arena_build(void *ctx)
{
    struct arena_node *a = bpf_arena_alloc_pages(&arena, 0, 1, -1 /* NUMA_NO_NODE */, 0);
    struct arena_node *b;

    if (!a) {
        arena_status = -1;
        return 0;
    }
    b = a + 1;
    b->value = first_value + 1;
    b->next = 0;
    a->value = first_value;
    a->next = (__u64)b;
    arena_head = (__u64)a;
    arena_status = 1;
    return 0;
}
