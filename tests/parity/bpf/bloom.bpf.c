// A bloom filter map, for map_extra (the number of its hash functions): an object of its
// own, since the map type is 5.16's and the other parity maps load on older kernels.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
    __type(value, __u32);
    __uint(max_entries, 64);
    __uint(map_extra, 3);
} bloom SEC(".maps");
