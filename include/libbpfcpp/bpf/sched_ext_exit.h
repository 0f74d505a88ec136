/* The record a sched_ext scheduler's ops.exit writes for user space (bpf/sched_ext.h on the
 * BPF side, bpf::scx::ExitInfo in <libbpfcpp/sched_ext.hpp> on the user side): why the
 * kernel ended the scheduler. Plain C with fixed-size fields, one layout on both sides. */
#ifndef LIBBPFCPP_BPF_SCHED_EXT_EXIT_H
#define LIBBPFCPP_BPF_SCHED_EXT_EXIT_H

enum {
    LIBBPFCPP_SCX_REASON_LEN = 128,
    LIBBPFCPP_SCX_MSG_LEN = 1024,
};

struct libbpfcpp_scx_exit_record {
    /* enum scx_exit_kind: SCX_EXIT_DONE, SCX_EXIT_UNREG*, SCX_EXIT_SYSRQ, SCX_EXIT_ERROR* */
    int kind;
    int exit_cpu;   /* the CPU that triggered the exit, -1 when the kernel does not say */
    long long exit_code;    /* scx_bpf_exit()'s code, 0 for an error */
    char reason[LIBBPFCPP_SCX_REASON_LEN];  /* the kernel's words, e.g. "scx_bpf_error" */
    char msg[LIBBPFCPP_SCX_MSG_LEN];        /* the message the scheduler or the watchdog gave */
};

#endif /* LIBBPFCPP_BPF_SCHED_EXT_EXIT_H */
