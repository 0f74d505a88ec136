/* The arena list node shared by arena.bpf.c and the tests. */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

struct arena_node {
    __u64 value;
    __u64 next; /* struct arena_node __arena *: a user-space address of the arena */
};
