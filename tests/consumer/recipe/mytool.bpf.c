/* The tool docs/recipes.md builds: on each getppid() of process `target_tgid`, an event
 * to a ring buffer with the drop counter of <libbpfcpp/bpf/ringbuf_drops.h>. CO-RE
 * (vmlinux.h), a header from include/ and a value from an extra clang flag, so a recipe
 * that forgets any of them fails to build or is caught by main.cpp. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <libbpfcpp/bpf/ringbuf_drops.h>

#include "mytool.h"

#ifndef MYTOOL_FLAG
#define MYTOOL_FLAG 0
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;
struct event last_event = {};  /* also puts struct event into the BTF, for the skeleton */

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");
RINGBUF_DROPS(events);

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    struct event e = {};

    e.pid = bpf_get_current_pid_tgid() >> 32;
    if (e.pid != target_tgid)
        return 0;
    e.flag = MYTOOL_FLAG;
    last_event = e;
    ringbuf_output_counted(&events, &events_drops, &e, sizeof(e), 0);
    return 0;
}
