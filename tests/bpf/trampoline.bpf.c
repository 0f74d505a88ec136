// One fentry program: this kernel refuses BPF trampolines (EPERM), others load it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 calls = 0;

SEC("fentry/do_nanosleep")
int BPF_PROG(on_nanosleep)
{
    __sync_fetch_and_add(&calls, 1);
    return 0;
}
