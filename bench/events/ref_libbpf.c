/* Plain libbpf consumers: the reference every libbpfcpp figure is divided by. */
#include "ref_libbpf.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/libbpf.h>

#include "sized.h"

struct ref_ring {
    struct ring_buffer *rb;
    struct ref_stats stats;
};

/* The callbacks read the record's header in place, as a C tool does: ring records are
 * 8-byte aligned, perf samples 4-byte aligned, enough for its 32-bit fields. */
static int on_ring_sample(void *ctx, void *data, size_t size)
{
    struct ref_stats *s = ctx;
    const struct sized_header *e = data;

    (void)size;
    s->sum += e->seq;
    s->count++;
    if (e->seq == s->sentinel)
        s->done = 1;
    return 0;
}

struct ref_ring *ref_ring_new(int map_fd)
{
    struct ref_ring *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->rb = ring_buffer__new(map_fd, on_ring_sample, &r->stats, NULL);
    if (!r->rb) {
        free(r);
        return NULL;
    }
    return r;
}

int ref_ring_poll(struct ref_ring *r, int timeout_ms) { return ring_buffer__poll(r->rb, timeout_ms); }
int ref_ring_consume(struct ref_ring *r) { return ring_buffer__consume(r->rb); }
struct ref_stats *ref_ring_stats(struct ref_ring *r) { return &r->stats; }

void ref_ring_free(struct ref_ring *r)
{
    ring_buffer__free(r->rb);
    free(r);
}

struct ref_perf {
    struct perf_buffer *pb;
    struct ref_stats stats;
};

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
    struct ref_stats *s = ctx;
    const struct sized_header *e = data;

    (void)cpu;
    (void)size;
    s->sum += e->seq;
    s->count++;
    if (e->seq == s->sentinel)
        s->done = 1;
}

static void on_perf_lost(void *ctx, int cpu, __u64 n)
{
    struct ref_stats *s = ctx;

    (void)cpu;
    s->lost += n;
}

struct ref_perf *ref_perf_new(int map_fd, size_t pages)
{
    struct ref_perf *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->pb = perf_buffer__new(map_fd, pages, on_perf_sample, on_perf_lost, &p->stats, NULL);
    if (!p->pb) {
        free(p);
        return NULL;
    }
    return p;
}

int ref_perf_poll(struct ref_perf *p, int timeout_ms) { return perf_buffer__poll(p->pb, timeout_ms); }
int ref_perf_consume(struct ref_perf *p) { return perf_buffer__consume(p->pb); }
int ref_perf_consume_buffer(struct ref_perf *p, size_t idx) { return perf_buffer__consume_buffer(p->pb, idx); }
struct ref_stats *ref_perf_stats(struct ref_perf *p) { return &p->stats; }
struct perf_buffer *ref_perf_raw(struct ref_perf *p) { return p->pb; }

void ref_perf_free(struct ref_perf *p)
{
    perf_buffer__free(p->pb);
    free(p);
}

/* The floor: no libbpf, no callback, the least a ring buffer consumer does. It reads
 * each record's header word, then the record's seq, in turn (the next header's address
 * is known only from this one's length, as in every consumer), and stores the consumer
 * position once at the end. A drain that takes libbpf's loop about as long as this is
 * bound by memory, not by its instructions. */
struct ref_walk {
    unsigned long *consumer;
    const unsigned long *producer;
    const unsigned char *data;
    size_t size, page;
    struct ref_stats stats;
};

struct ref_walk *ref_walk_new(int map_fd, size_t size)
{
    struct ref_walk *w = calloc(1, sizeof(*w));
    void *c, *p;

    if (!w)
        return NULL;
    w->page = (size_t)sysconf(_SC_PAGESIZE);
    w->size = size;
    c = mmap(NULL, w->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (c == MAP_FAILED) {
        free(w);
        return NULL;
    }
    p = mmap(NULL, w->page + 2 * size, PROT_READ, MAP_SHARED, map_fd, (off_t)w->page);
    if (p == MAP_FAILED) {
        munmap(c, w->page);
        free(w);
        return NULL;
    }
    w->consumer = c;
    w->producer = p;
    w->data = (const unsigned char *)p + w->page;
    return w;
}

int ref_walk_consume(struct ref_walk *w)
{
    unsigned long cons = __atomic_load_n(w->consumer, __ATOMIC_ACQUIRE);
    const unsigned long prod = __atomic_load_n(w->producer, __ATOMIC_ACQUIRE);
    const unsigned long mask = w->size - 1;
    struct ref_stats *s = &w->stats;
    int n = 0;

    while (cons < prod) {
        const uint32_t *hdr = (const uint32_t *)(w->data + (cons & mask));
        const uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

        if (len & BPF_RINGBUF_BUSY_BIT)
            break;
        if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
            const struct sized_header *e = (const void *)(hdr + 2);

            s->sum += e->seq;
            s->count++;
            if (e->seq == s->sentinel)
                s->done = 1;
            n++;
        }
        cons += ((len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
    }
    __atomic_store_n(w->consumer, cons, __ATOMIC_RELEASE);
    return n;
}

struct ref_stats *ref_walk_stats(struct ref_walk *w) { return &w->stats; }

void ref_walk_free(struct ref_walk *w)
{
    munmap(w->consumer, w->page);
    munmap((void *)w->producer, w->page + 2 * w->size);
    free(w);
}
