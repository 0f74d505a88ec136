/* The reference consumers of the event benchmark: plain libbpf C, as a C tool would
 * write them (ring_buffer__new / perf_buffer__new with a callback). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ref_stats {
    uint64_t count; /* records delivered */
    uint64_t sum;   /* sum of their sequence numbers (keeps the work observable) */
    uint64_t lost;  /* perf: records reported lost */
    uint32_t sentinel; /* drain: the seq of the drain's last record */
    int done;          /* ... set when it was seen */
};

struct ref_ring;
struct ref_ring *ref_ring_new(int map_fd);
int ref_ring_poll(struct ref_ring *r, int timeout_ms);
int ref_ring_consume(struct ref_ring *r);
struct ref_stats *ref_ring_stats(struct ref_ring *r);
void ref_ring_free(struct ref_ring *r);

struct ref_perf;
struct perf_buffer;
struct ref_perf *ref_perf_new(int map_fd, size_t pages);
int ref_perf_poll(struct ref_perf *p, int timeout_ms);
int ref_perf_consume(struct ref_perf *p);
/* Only the ring of buffer index idx (the CPU's index when every CPU is online). */
int ref_perf_consume_buffer(struct ref_perf *p, size_t idx);
struct ref_stats *ref_perf_stats(struct ref_perf *p);
/* The libbpf object, for its mappings (perf_buffer__buffer). */
struct perf_buffer *ref_perf_raw(struct ref_perf *p);
void ref_perf_free(struct ref_perf *p);

/* The floor: a ring consumer without libbpf that only walks the headers (ref_libbpf.c). */
struct ref_walk;
struct ref_walk *ref_walk_new(int map_fd, size_t size);
int ref_walk_consume(struct ref_walk *w);
struct ref_stats *ref_walk_stats(struct ref_walk *w);
void ref_walk_free(struct ref_walk *w);

#ifdef __cplusplus
}
#endif
