/* The event benchmark's producer: records of a size chosen per run (16 bytes to 4 KiB),
 * written to a ring buffer or a perf buffer. Run it with BPF_PROG_TEST_RUN: args[0] =
 * how many records, args[1] = the sized_target, args[2] = the record size (a multiple
 * of 4 from 16 to SIZED_MAX). One producer runs at a time (the benchmark drives it from
 * one thread), so the sequence number is a plain increment. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "sized.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(int));
    __uint(value_size, sizeof(int));
} perf_events SEC(".maps");

/* The record is assembled here: 4 KiB does not fit on the BPF stack. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u8[SIZED_MAX]);
} scratch SEC(".maps");

__u64 next_seq = 0;  /* the next sequence number */
__u64 attempts = 0;  /* records the producer tried to write */
__u64 failures = 0;  /* ... and could not (full buffer) */

struct loop_ctx {
    void *ctx;
    __u8 *buf;
    __u32 target;
    __u32 size;
};

static long emit_one(__u64 index, struct loop_ctx *lc)
{
    struct sized_header *h = (struct sized_header *)lc->buf;
    __u32 size = lc->size;
    long err;

    h->seq = next_seq;
    next_seq = h->seq + 1;
    h->cpu = bpf_get_smp_processor_id();
    h->size = size;
    h->check = h->seq * 2654435761u;
    attempts += 1;
    if (size < sizeof(*h) || size > SIZED_MAX)
        return 1;
    if (lc->target == SIZED_RING)
        err = bpf_ringbuf_output(&events, lc->buf, size, 0);
    else
        err = bpf_perf_event_output(lc->ctx, &perf_events, BPF_F_CURRENT_CPU, lc->buf, size);
    if (err)
        failures += 1;
    return 0;
}

SEC("raw_tp")
int produce(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 zero = 0;
    __u8 *buf = bpf_map_lookup_elem(&scratch, &zero);
    struct loop_ctx lc = {
        .ctx = ctx, .buf = buf, .target = (__u32)ctx->args[1], .size = (__u32)ctx->args[2],
    };

    if (!buf)
        return 0;
    /* The payload's first and last bytes vary, so a record is not all zeros. */
    buf[sizeof(struct sized_header)] = 0xa5;
    buf[SIZED_MAX - 1] = 0x5a;
    bpf_loop((__u32)ctx->args[0], emit_one, &lc, 0);
    return 0;
}
