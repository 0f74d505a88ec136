/* A producer of numbered events for the event-streaming tests and benchmarks. Run it
 * with BPF_PROG_TEST_RUN: args[0] = how many events, args[1] = the stream_target.
 *
 * Two producers of the same events: produce_chunk, a bounded loop of at most STREAM_CHUNK
 * events a run, loads on every kernel with ring buffers (5.8); produce, any number a run
 * through bpf_loop() (5.17), is the benchmark's. One producer runs at a time (the tests
 * and the benchmark drive it from one thread), so the sequence number is a plain
 * increment: an atomic fetch-and-add that returns the old value needs 5.12. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <libbpfcpp/bpf/ringbuf_drops.h>

#include "stream.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");
RINGBUF_DROPS(events);

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} events2 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(int));
    __uint(value_size, sizeof(int));
} perf_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
    __uint(max_entries, 16 * 1024);
} to_kernel SEC(".maps");

__u64 next_seq = 0;    /* the next sequence number (one producer at a time) */
__u64 attempts = 0;    /* events the producer tried to write */
__u64 failures = 0;    /* ... and could not (full buffer), counted by the producer itself */

__u64 user_count = 0;  /* user ring: messages drained */
__u64 user_sum = 0;    /* ... sum of their values */
__u64 user_last = 0;   /* ... seq of the last one */
__u64 user_out_of_order = 0;

/* One event to `target`; 1 for an unknown target. */
static __always_inline int emit_event(void *ctx, __u32 target)
{
    struct stream_event e = {};
    long err;

    e.seq = next_seq;
    next_seq = e.seq + 1;
    e.cpu = bpf_get_smp_processor_id();
    e.target = target;
    e.check = e.seq * 2654435761u;
    e.payload[0] = (__u8)e.seq;
    e.payload[67] = (__u8)(e.seq >> 8);
    __sync_fetch_and_add(&attempts, 1);

    switch (target) {
    case TARGET_RING:
        err = ringbuf_output_counted(&events, &events_drops, &e, sizeof(e), 0);
        break;
    case TARGET_PERF:
        err = bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
        break;
    case TARGET_RING2:
        err = bpf_ringbuf_output(&events2, &e, sizeof(e), 0);
        break;
    case TARGET_RING_SHORT:
        err = ringbuf_output_counted(&events, &events_drops, &e, 12, 0);
        break;
    case TARGET_RING_DISCARD: {
        struct stream_event *r = bpf_ringbuf_reserve(&events, sizeof(e), 0);

        if (r) {
            __builtin_memcpy(r, &e, sizeof(e));
            bpf_ringbuf_discard(r, 0);
        }
        err = r ? 0 : -1;
        break;
    }
    default:
        return 1;
    }
    if (err)
        __sync_fetch_and_add(&failures, 1);
    return 0;
}

struct loop_ctx {
    void *ctx;
    __u32 target;
};

static long emit_one(__u64 index, struct loop_ctx *lc)
{
    return emit_event(lc->ctx, lc->target);
}

SEC("raw_tp")
int produce(struct bpf_raw_tracepoint_args *ctx)
{
    struct loop_ctx lc = { .ctx = ctx, .target = (__u32)ctx->args[1] };

    bpf_loop((__u32)ctx->args[0], emit_one, &lc, 0);
    return 0;
}

/* A global function is verified once, on its own, not again at each call: each of the
 * bounded loop's iterations below then costs the verifier a few instructions, not a walk
 * through every target (a static one made loading the object take half a second). */
__noinline int emit_global(struct bpf_raw_tracepoint_args *ctx, __u32 target)
{
    return emit_event(ctx, target);
}

SEC("raw_tp")
int produce_chunk(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 target = (__u32)ctx->args[1];
    __u32 n = (__u32)ctx->args[0];

    for (__u32 i = 0; i < STREAM_CHUNK && i < n; i++)
        if (emit_global(ctx, target))
            break;
    return 0;
}

static long on_user_msg(struct bpf_dynptr *dynptr, void *unused)
{
    struct user_msg m;

    if (bpf_dynptr_read(&m, sizeof(m), dynptr, 0, 0))
        return 1;
    if (user_count != 0 && m.seq != user_last + 1)
        __sync_fetch_and_add(&user_out_of_order, 1);
    user_last = m.seq;
    user_count += 1;
    user_sum += m.value;
    return 0;
}

SEC("raw_tp")
int drain_user(struct bpf_raw_tracepoint_args *ctx)
{
    bpf_user_ringbuf_drain(&to_kernel, on_user_msg, 0, 0);
    return 0;
}
