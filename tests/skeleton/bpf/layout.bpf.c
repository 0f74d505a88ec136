// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* Bitfield layouts whose C++ mirror is easy to get wrong with every size and offset
 * still right. The initial values of the globals are the bytes the BPF compiler laid out:
 * the layout test reads them through the generated structs (no kernel needed). */
#include <linux/types.h>

/* b crosses a byte: packed C keeps it at bits 4-11, an unpacked struct would move it. */
struct __attribute__((packed)) ev {
    __u8 a : 4;
    __u8 b : 8;
    __u8 c;
};

/* A 16-bit field across two bytes, a 40-bit one across a 64-bit unit, a member after them. */
struct __attribute__((packed)) wide {
    __u8 x : 3;
    __u16 y : 16;
    __u8 z;
    __u64 w : 40;
    __u64 v : 40;
    __u32 tail;
};

/* Packed, but no bitfield crosses its unit: the same as unpacked but for the size. */
struct __attribute__((packed)) tidy {
    __u32 p : 4;
    __u32 q : 28;
    __u8 r;
};

/* Unpacked: the control. */
struct plain {
    __u8 a : 4;
    __u8 b : 8;
    __u8 c;
};

struct ev ev_val = {.a = 0x5, .b = 0xab, .c = 0x77};
struct wide wide_val = {.x = 5, .y = 0xbeef, .z = 0x42, .w = 0x123456789aULL, .v = 0xfedcba9876ULL,
                        .tail = 0xdeadbeef};
struct tidy tidy_val = {.p = 9, .q = 0xabcdef1, .r = 0x33};
struct plain plain_val = {.a = 0x5, .b = 0xab, .c = 0x77};

char LICENSE[] __attribute__((section("license"), used)) = "Dual BSD/GPL";
