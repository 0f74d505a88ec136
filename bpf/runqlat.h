/* runqlat: the histogram of run-queue latency (the time a task waits between being made
 * runnable and running), shared by runqlat.bpf.c and examples/runqlat/main.cpp. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define RUNQLAT_SLOTS 26

struct runqlat_hist {
    __u32 slots[RUNQLAT_SLOTS];
};
