/* Shared by map_iter.bpf.c and examples/map_iter: the map's key and value. */
#ifndef LIBBPFCPP_MAP_ITER_H
#define LIBBPFCPP_MAP_ITER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct syscall_key {
    __u32 pid;
    __u32 nr; /* syscall number */
};

struct syscall_count {
    __u64 count;
    char comm[16];
};

#endif
