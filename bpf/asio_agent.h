/* Events of the asio_agent example, shared by the BPF side and user space. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* A process called exec (ring buffer "execs"). */
struct exec_event {
    __u32 pid;
    __u32 ppid;
    char comm[16];
};

/* A process ended (perf buffer "exits"). */
struct exit_event {
    __u32 pid;
    __s32 exit_code;  /* the status as wait() reports it: code << 8 | signal */
    char comm[16];
};
