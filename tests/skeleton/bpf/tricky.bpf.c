// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* A BPF object whose BTF exercises every construct the skeleton generator translates,
 * and whose program writes known values through each of them: the tests read them back
 * through the generated types, so a layout the generator gets wrong shows as a value. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tricky.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* .rodata: set through the skeleton before load. */
const volatile __u32 filter_pid = 0;
/* custom read-only section */
const volatile __u32 multiplier SEC(".rodata.consts") = 1;
const volatile struct pair rodata_pair SEC(".rodata.consts") = {7, 8};

/* .bss and .data: read and written live. */
__u64 hits = 0;
__u8 small_bss = 0;
__u64 data_counter = 5;
char data_tag[3] = "ab";

/* custom writable sections */
__u64 custom_hits SEC(".data.custom") = 100;
struct padded custom_padded SEC(".data.custom") = {1, 2, 3};
__u32 second_custom SEC(".data.other") = 42;

/* Gives struct tricky_event a place in the BTF: clang describes only the types of
 * globals and functions, and no map names the ring buffer's records. */
struct tricky_event *unused_event __attribute__((unused));

/* Static: not part of the skeleton's section struct (a hole there). */
static __u32 static_counter = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct tricky);
} results SEC(".maps");

/* A map named like a C++ keyword, keyed by an anonymous struct's typedef. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, point_t);
    __type(value, level3_t);
} new SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} percpu_hits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline void fill(struct tricky *t, __u32 pid)
{
    t->pad.a = 'A';
    t->pad.b = 0x1122334455667788ULL;
    t->pad.c = -3;
    t->bits.lo = 5;
    t->bits.mid = 17;
    t->bits.hi = 0xABCDEF;
    t->bits.flag = 1;
    t->bits.wide = 0x123456789AULL;
    t->bits.tail = 0xBEEF;
    t->bits.neg = -2;
    t->bits.kind = E2_B;
    t->nested.kind = 9;
    t->nested.lo = 0x11111111;
    t->nested.hi = 0x22222222;
    t->nested.inner.x = -7;
    t->nested.inner.z = 0x1234;
    for (int i = 0; i < 3; i++) {
        t->pairs[i].a = i + 1;
        t->pairs[i].b = (i + 1) * 1000;
    }
    t->v1 = E1_B;
    t->v2 = E2_B;
    t->v4 = E4_NEG;
    t->v8 = E8_A;
    t->chained = pid;
    t->packed.a = 0x5A;
    t->packed.b = 0xDEADBEEF;
    t->packed.c = 0x7777;
    t->aligned.a = 99;
    t->kw.class = 1;
    t->kw.new = 2;
    t->kw.this = 3;
    t->kw.template = 4;
    t->kw.and = 5;
    t->kw.namespace = 6;
    t->node.id = 77;
    t->node.next = (struct node *)0x1000;
    t->name[0] = 'a';
    t->name[1] = 'b';
    t->name[2] = 'c';
    t->name[3] = 'd';
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (filter_pid != 0 && pid != filter_pid)
        return 0;
    __sync_fetch_and_add(&hits, multiplier);
    data_counter += 1;
    custom_hits += 1;
    static_counter += 1;
    custom_padded.b = static_counter;

    struct tricky t = {};
    fill(&t, pid);
    __u32 key = 1;
    bpf_map_update_elem(&results, &key, &t, BPF_ANY);

    point_t p = {.x = pid, .y = rodata_pair.b};
    level3_t v = second_custom;
    bpf_map_update_elem(&new, &p, &v, BPF_ANY);

    __u32 zero = 0;
    __u64 *c = bpf_map_lookup_elem(&percpu_hits, &zero);
    if (c)
        *c += 1;

    struct tricky_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->seq = (__u32)hits;
    e->pid = pid;
    e->kind = E2_B;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    e->hits = hits;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* A second program, named like a C++ keyword. */
SEC("tracepoint/syscalls/sys_enter_getpgid")
int typename(void *ctx)
{
    small_bss += 1;
    return 0;
}
