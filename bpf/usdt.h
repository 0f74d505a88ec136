/* Shared by usdt.bpf.c and examples/usdt: one record per USDT probe hit. */
#ifndef LIBBPFCPP_USDT_H
#define LIBBPFCPP_USDT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct usdt_hit {
    __u64 ts_ns;
    __u32 pid;
    __u32 tid;
    __s64 args[2]; /* the probe's first two arguments (0 when it has fewer) */
    char comm[16];
};

#endif
