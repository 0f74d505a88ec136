/* The event the stream producer writes, shared by tests/events and bench/. 84 bytes,
 * like tcpconnect's event. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The most events one run of produce_chunk writes. */
#define STREAM_CHUNK 256

enum stream_target {
    TARGET_RING = 0,       /* ring map "events" */
    TARGET_PERF = 1,       /* perf event array "perf_events" */
    TARGET_RING2 = 2,      /* ring map "events2" */
    TARGET_RING_SHORT = 3, /* 12-byte records into "events" */
    TARGET_RING_DISCARD = 4, /* a record reserved in "events", then discarded */
};

struct stream_event {
    __u32 seq;      /* 0, 1, 2, ... per object, over all targets */
    __u32 cpu;
    __u32 target;
    __u32 check;    /* seq * 2654435761 */
    __u8 payload[68];
};

/* What user space writes into the user ring "to_kernel". */
struct user_msg {
    __u64 seq;
    __u64 value;
};
