/* Shared between the parity test programs and the tests. */
#pragma once

#define PARITY_UDP_PORT 4242

/* Slots of the `net_counts` array. */
enum {
    SLOT_XDP = 0,
    SLOT_TC_INGRESS = 1,
    SLOT_TC_EGRESS = 2,
    SLOT_SK_LOOKUP = 3,
    SLOT_CGROUP_EGRESS = 4,
    SLOT_CGROUP_SOCK = 5,
    SLOT_SK_MSG_BYTES = 6,
    SLOT_SK_MSG_CALLS = 7,
    NET_SLOTS = 8,
};
