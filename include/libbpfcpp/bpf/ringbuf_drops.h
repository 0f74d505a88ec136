/* BPF side of bpf::RingBuffer::drops(): count the records a program could not write
 * because the ring was full, so user space sees drops instead of silent gaps.
 *
 *   struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } events SEC(".maps");
 *   RINGBUF_DROPS(events);          // declares the per-CPU counter map "events_drops"
 *
 *   struct event *e = ringbuf_reserve_counted(&events, &events_drops, sizeof(*e));
 *   if (!e) return 0;               // counted
 *   ...
 *   bpf_ringbuf_submit(e, 0);
 *   // or: ringbuf_output_counted(&events, &events_drops, &ev, sizeof(ev), 0);
 *
 * Module::ring_buffer("events", ...) finds "events_drops" by its name and
 * RingBuffer::drops() sums it over CPUs. Include after <bpf/bpf_helpers.h>.
 */
#ifndef LIBBPFCPP_BPF_RINGBUF_DROPS_H
#define LIBBPFCPP_BPF_RINGBUF_DROPS_H

/* The counter map of ring map RING: one u64 per CPU, named RING_drops. A macro because
 * the map's name is made from the ring's. */
#define RINGBUF_DROPS(ring)                            \
    struct {                                           \
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);       \
        __uint(max_entries, 1);                        \
        __type(key, __u32);                            \
        __type(value, __u64);                          \
    } ring##_drops SEC(".maps")

static __always_inline void ringbuf_count_drop(void *drops)
{
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(drops, &zero);

    /* Atomic although per CPU: a program interrupted by another one on the same CPU
     * (e.g. an NMI-context perf_event program) may count at the same time. */
    if (n)
        __sync_fetch_and_add(n, 1);
}

/* bpf_ringbuf_reserve() that counts a failure in `drops`. `size` must be a constant. */
static __always_inline void *ringbuf_reserve_counted(void *ring, void *drops, __u64 size)
{
    void *p = bpf_ringbuf_reserve(ring, size, 0);

    if (!p)
        ringbuf_count_drop(drops);
    return p;
}

/* bpf_ringbuf_output() that counts a failure in `drops`. */
static __always_inline long ringbuf_output_counted(void *ring, void *drops, void *data, __u64 size,
                                                   __u64 flags)
{
    long err = bpf_ringbuf_output(ring, data, size, flags);

    if (err)
        ringbuf_count_drop(drops);
    return err;
}

#endif
