/* One half of a skeleton made from two objects (trace.bpf.c is the other): the map and a
 * function the other object calls through `extern`. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} tally SEC(".maps");

/* Hidden: static once linked, so the verifier checks it with its caller. */
__attribute__((visibility("hidden"))) void tally_add(__u64 n)
{
    __u32 zero = 0;
    __u64 *v = bpf_map_lookup_elem(&tally, &zero);

    if (v)
        __sync_fetch_and_add(v, n);
}
