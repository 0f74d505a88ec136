/* Shared between tests/bpf/basic.bpf.c and the tests. */
#pragma once

/* Slots of the "arr" array map that the programs write. */
enum basic_slot {
    SLOT_LAST_SYSCALL = 1,
    SLOT_UPROBE_A = 2,
    SLOT_UPROBE_B = 3,
    SLOT_URETPROBE_RET = 4,
    SLOT_UPROBE_COOKIE = 5,
    SLOT_UPROBE_HITS = 6,
    SLOT_KPROBE_HITS = 7,
    SLOT_KRETPROBE_HITS = 8,
    SLOT_PERF_EVENT_HITS = 9,
};

struct pair_key {
    unsigned int a;
    unsigned short b;
    unsigned short c;
};

struct record {
    unsigned long long sum;
    unsigned int count;
    char tag[12];
};
