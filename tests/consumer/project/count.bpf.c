/* Counts getppid() calls of one process: a tracepoint program, a global variable set
 * from user space before load, a .bss counter, a hash map, and a ring buffer with the
 * drop counter of <libbpfcpp/bpf/ringbuf_drops.h> (so the build must put libbpfcpp's
 * include directory on the BPF compile line). Only UAPI headers, so it compiles without
 * a vmlinux.h. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <libbpfcpp/bpf/ringbuf_drops.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;
__u64 calls = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} calls_by_tid SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} tids SEC(".maps");
RINGBUF_DROPS(tids);

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    __u64 one = 1, *n;

    if ((id >> 32) != target_tgid)
        return 0;
    __sync_fetch_and_add(&calls, 1);
    ringbuf_output_counted(&tids, &tids_drops, &tid, sizeof(tid), 0);
    n = bpf_map_lookup_elem(&calls_by_tid, &tid);
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        bpf_map_update_elem(&calls_by_tid, &tid, &one, BPF_NOEXIST);
    return 0;
}
