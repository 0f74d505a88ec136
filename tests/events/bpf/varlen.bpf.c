/* Variable-length records: on each getppid() of process `target_tgid`, one record of a
 * varlen_header and varlen_len(seq) tail bytes, to the ring buffer or the perf buffer
 * (`to_perf`). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "varlen.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(int));
    __uint(value_size, sizeof(int));
} perf SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct varlen_event);
} scratch SEC(".maps");

const volatile __u32 target_tgid = 0;
const volatile __u32 to_perf = 0;

__u32 next_seq = 0;
__u64 failures = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    __u32 zero = 0;
    struct varlen_event *e;
    __u32 seq, len, i;
    long err;

    if ((__u32)(bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return 0;
    e = bpf_map_lookup_elem(&scratch, &zero);
    if (!e)
        return 0;
    seq = next_seq++;
    len = varlen_len(seq);
    e->h.seq = seq;
    e->h.tail_len = len;
    e->h.magic = VARLEN_MAGIC ^ seq;
    for (i = 0; i < VARLEN_TAIL_MAX; i++)
        e->tail[i] = varlen_byte(seq, i);

    /* The verifier needs the size's bound at the call; the compiler would drop a check
     * it can prove, so the barrier hides the value from it. */
    barrier_var(len);
    if (len > VARLEN_TAIL_MAX)
        return 0;
    if (to_perf)
        err = bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, e, sizeof(e->h) + len);
    else
        err = bpf_ringbuf_output(&ring, e, sizeof(e->h) + len, 0);
    if (err)
        __sync_fetch_and_add(&failures, 1);
    return 0;
}
