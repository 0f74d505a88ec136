// Reads a __kconfig extern that the tests override with OpenOptions::kconfig.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern int CONFIG_LIBBPFCPP_TEST_VALUE __kconfig __weak;
int seen_value = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_kconfig(void *ctx)
{
    seen_value = CONFIG_LIBBPFCPP_TEST_VALUE;
    return 0;
}
