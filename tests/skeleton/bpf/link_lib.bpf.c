// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* The library half of a skeleton made from two objects (link_main.bpf.c is the other):
 * a map and a function the other object uses through `extern`, a weak function the other
 * object overrides, and globals that share .bss/.data with the other object's after the
 * link. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "link.h"

struct link_counts counts SEC(".maps");

__u64 lib_calls = 0;
__u64 lib_step = 1;

/* Overridden by link_main.bpf.c's strong definition: the link must pick that one. */
__weak int weight(void)
{
    return 1;
}

/* Hidden: static in the linked object, so the verifier checks it with its caller. */
__hidden void bump(__u32 slot, __u64 pid)
{
    __u64 *v = bpf_map_lookup_elem(&counts, &slot);

    if (v)
        __sync_fetch_and_add(v, lib_step * (__u64)weight());
    slot = LINK_SLOT_PID;
    bpf_map_update_elem(&counts, &slot, &pid, BPF_ANY);
    lib_calls++;
}
