/* The records of the event benchmark's producer (sized.bpf.c): a header of four
 * 32-bit words, then payload up to the record size the run asks for. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The largest record the producer writes. */
#define SIZED_MAX 4096

enum sized_target {
    SIZED_RING = 0, /* ring map "events" */
    SIZED_PERF = 1, /* perf event array "perf_events" */
};

struct sized_header {
    __u32 seq;   /* 0, 1, 2, ... per object, over both targets */
    __u32 cpu;
    __u32 size;  /* the record's size in bytes */
    __u32 check; /* seq * 2654435761 */
};
