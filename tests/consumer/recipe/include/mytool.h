/* The event of the recipes' tool, shared by mytool.bpf.c and main.cpp. In include/, so
 * the BPF compile line needs the recipes' INCLUDES (or -I) to find it. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct event {
    __u32 pid;
    __u32 flag;  /* MYTOOL_FLAG as the BPF side was compiled: the recipes' extra clang flag */
};
