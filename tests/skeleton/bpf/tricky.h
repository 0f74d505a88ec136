/* Types of tricky.bpf.c whose BTF the skeleton generator has to reproduce exactly. */
#ifndef TRICKY_H
#define TRICKY_H

#include <linux/types.h>

typedef __u32 level1_t;
typedef level1_t level2_t;
typedef level2_t level3_t; /* a typedef chain */

enum __attribute__((packed)) e1 { E1_A = 1, E1_B = 200 };    /* 1 byte */
enum __attribute__((packed)) e2 { E2_A = 1, E2_B = 60000 };  /* 2 bytes */
enum e4 { E4_NEG = -1, E4_B = 100000 };                        /* 4 bytes, signed */
enum e8 { E8_A = 1, E8_BIG = 0x100000000ULL };                 /* 8 bytes */

struct padded { /* holes after a and after c */
    char a;
    __u64 b;
    short c;
};

struct bits {
    __u32 lo : 3;
    __u32 mid : 5;
    __u32 hi : 24;
    __u8 flag : 1;
    __u64 wide : 40;
    __u16 tail;
    int neg : 4;
    enum e2 kind : 16;
};

struct opaque; /* only declared: reachable through pointers only */

struct empty {}; /* size 0 in C (as in the kernel's lock-debugging structs), 1 in C++ */

struct node { /* pointers become integers of their size */
    __u32 id;
    struct empty marker;
    struct node *next;
    void (*fn)(int);
    struct opaque *op;
};

struct __attribute__((packed)) packed_s {
    __u8 a;
    __u32 b;
    __u16 c;
};

struct __attribute__((aligned(16))) aligned_s {
    __u32 a;
};

struct keywords { /* C names that are C++ keywords */
    int class;
    int new;
    int this;
    int template;
    int and;
    int namespace;
};

struct nested {
    __u32 kind;
    union {
        __u64 as_u64;
        struct {
            __u32 lo, hi;
        };
        struct {
            __u8 b[7];
            __u8 last;
        } bytes;
    };
    struct {
        int x;
        union {
            int y;
            __u16 z;
        };
    } inner;
};

struct pair {
    __u16 a;
    __u32 b;
};

struct tricky {
    struct padded pad;
    struct bits bits;
    struct nested nested;
    struct pair pairs[3];
    enum e1 v1;
    enum e2 v2;
    enum e4 v4;
    enum e8 v8;
    level3_t chained;
    struct packed_s packed;
    struct aligned_s aligned;
    struct keywords kw;
    struct node node;
    char name[5];
};

typedef struct { /* an anonymous struct named by its typedef */
    __u32 x;
    __u32 y;
} point_t;

struct tricky_event { /* sent through the ring buffer; no map names it */
    __u32 seq;
    __u32 pid;
    enum e2 kind;
    char comm[16];
    __u64 hits;
};

#endif
