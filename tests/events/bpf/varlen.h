/* Records of a fixed header and a variable-length tail, submitted at their used length
 * (as execsnoop submits only the used part of its argument buffer). */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VARLEN_TAIL_MAX 200

struct varlen_header {
    __u32 seq;       /* 0, 1, 2, ... per object */
    __u32 tail_len;  /* bytes of tail submitted after the header */
    __u64 magic;     /* VARLEN_MAGIC ^ seq */
};

#define VARLEN_MAGIC 0x5eed0fdeadbeef00ULL

struct varlen_event {
    struct varlen_header h;
    __u8 tail[VARLEN_TAIL_MAX];
};

/* The tail's byte i of record seq. */
static inline __u8 varlen_byte(__u32 seq, __u32 i)
{
    return (__u8)(seq * 7 + i * 3 + 1);
}

/* The tail length of record seq: 0 to VARLEN_TAIL_MAX, every value over a run of 201. */
static inline __u32 varlen_len(__u32 seq)
{
    return (seq * 37) % (VARLEN_TAIL_MAX + 1);
}
