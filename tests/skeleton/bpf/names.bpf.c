// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* Names that are legal in C and clash in C++ or with the skeleton's own names: each must
 * come out of the generator as a header that compiles (check.py names). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct Skeleton { __u32 a; };          /* the generator's class names */
struct OpenSkeleton { __u32 a; };
struct Bss { __u32 b; };                /* the struct of .bss */
struct detail { __u32 d; };             /* the generator's namespace for the object's bytes */
struct std { __u32 s; };                /* would hide ::std inside the namespace */

struct value {                          /* the map's value type ... */
    int class;                          /* a keyword, renamed class_ ... */
    int class_;                         /* ... beside a member already called so */
    int errno;                          /* a macro of <errno.h> */
    int value;                          /* a member named like its struct */
    int assert;
};
enum kinds { value = 1, Skeleton = 2, kinds = 3 };  /* ... and an enumerator named like it */

struct holder {
    struct Skeleton s;
    struct OpenSkeleton o;
    struct Bss b;
    struct detail d;
    struct std x;
    enum kinds k;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct value);
} values SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct holder);
} Maps SEC(".maps");                    /* named like the struct that holds the maps */

/* Event maps: the skeleton includes their buffers' headers. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

__u64 bss_hits = 0;
__u32 dotted SEC(".data.a.b") = 1;      /* two sections whose names sanitize alike */
__u32 underscored SEC(".data.a_b") = 2;

SEC("tracepoint/syscalls/sys_enter_getppid")
int Progs(void *ctx)                    /* named like the struct that holds the programs */
{
    __u32 k = 0;
    struct value *v = bpf_map_lookup_elem(&values, &k);
    if (v)
        v->errno += dotted + underscored;
    bss_hits++;
    return 0;
}
