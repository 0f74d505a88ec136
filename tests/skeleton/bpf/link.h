/* SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only */
/* What link_lib.bpf.c and link_main.bpf.c share: the map both use (an extern's definition
 * must match the definition's) and its slots. */
#pragma once

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum { LINK_SLOT_SUM = 0, LINK_SLOT_PID = 1 };

struct link_counts {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
};
