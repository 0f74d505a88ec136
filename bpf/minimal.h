/* Shared between bpf/minimal.bpf.c and examples/minimal. */
#pragma once

#define MINIMAL_COMM_LEN 16

/* One process that called exec since the last read, keyed by pid in map "execs". */
struct exec_seen {
    char comm[MINIMAL_COMM_LEN];
    unsigned int ppid;
    unsigned int count;
};
