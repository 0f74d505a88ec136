// Two auto-attachable programs, the second naming a tracepoint no kernel has: attach_all()
// must fail and roll the first attachment back.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 good_hits = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int good(void *ctx)
{
    __sync_fetch_and_add(&good_hits, 1);
    return 0;
}

SEC("tracepoint/libbpfcpp_none/no_such_tracepoint")
int bad(void *ctx)
{
    return 0;
}
