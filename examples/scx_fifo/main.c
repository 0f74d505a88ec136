// scx_fifo in C on a bpftool skeleton: the same loader as main.cpp, for comparison
// (docs/sched-ext.md counts both). Plain libbpf calls where a scx C loader would use the
// SCX_OPS_OPEN/LOAD/ATTACH macros of the scx project's headers.
//
//   ./scx_fifo-c [--slice-us N] [--seconds N] [--fail-after N]
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "scx_fifo.h"
#include "scx_fifo.skel.h"  // bpftool gen skeleton
#include <libbpfcpp/bpf/sched_ext_exit.h>

static volatile sig_atomic_t stop;
static struct libbpfcpp_scx_exit_record exit_rec;
static int exited;

static void on_signal(int sig) { (void)sig; stop = 1; }

static int on_exit_record(void *ctx, void *data, size_t size) {
    (void)ctx;
    if (size >= sizeof(exit_rec) && !exited) {
        memcpy(&exit_rec, data, sizeof(exit_rec));
        exited = 1;
    }
    return 0;
}

static const char *kind_name(int kind) {
    switch (kind) {
    case 64: return "unregistered";
    case 65: return "scx_bpf_exit";
    case 66: return "unregistered by the kernel";
    case 67: return "SysRq-S";
    case 1024: return "error";
    case 1025: return "scx_bpf_error";
    case 1026: return "stall";
    default: return "kind";
    }
}

static void read_state(char *buf, size_t len) {
    FILE *f = fopen("/sys/kernel/sched_ext/state", "r");
    buf[0] = 0;
    if (f) {
        if (fgets(buf, (int)len, f)) buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
}

int main(int argc, char **argv) {
    unsigned long long slice_us = 20000;
    int seconds = 0, fail_after = 0, ret = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long long v = strtoull(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--slice-us") && v > 0) slice_us = v;
        else if (!strcmp(argv[i], "--seconds")) seconds = (int)v;
        else if (!strcmp(argv[i], "--fail-after")) fail_after = (int)v;
        else { fprintf(stderr, "usage: scx_fifo-c [--slice-us N] [--seconds N] [--fail-after N]\n"); return 64; }
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    struct scx_fifo_bpf *skel = scx_fifo_bpf__open();
    if (!skel) { fprintf(stderr, "scx_fifo: opening: %s\n", strerror(errno)); return 1; }
    skel->rodata->slice_ns = slice_us * 1000;
    int err = scx_fifo_bpf__load(skel);
    if (err) { fprintf(stderr, "scx_fifo: loading: %s\n", strerror(-err)); goto out; }

    struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.libbpfcpp_scx_exits), on_exit_record, NULL, NULL);
    if (!rb) { fprintf(stderr, "scx_fifo: exit ring: %s\n", strerror(errno)); goto out; }
    struct bpf_link *link = bpf_map__attach_struct_ops(skel->maps.fifo_ops);
    if (!link) {
        fprintf(stderr, "scx_fifo: attaching: %s\n", strerror(errno));
        ring_buffer__free(rb);
        goto out;
    }
    char state[32];
    read_state(state, sizeof(state));
    printf("scx_fifo: %s, slice %llu us\n", state, slice_us);

    int ncpus = libbpf_num_possible_cpus();
    struct scx_fifo_stats *per_cpu = calloc((size_t)ncpus, sizeof(*per_cpu));
    ret = 0;
    for (int second = 1; !stop && (seconds == 0 || second <= seconds); ++second) {
        if (fail_after && second == fail_after + 1) skel->bss->fail_request = 1;
        ring_buffer__poll(rb, 1000);
        if (exited) {
            printf("scx_fifo: ejected by the kernel: %s (%d): %s: %s\n", kind_name(exit_rec.kind), exit_rec.kind,
                   exit_rec.reason, exit_rec.msg);
            ret = 2;
            break;
        }
        if (stop) break;
        __u32 zero = 0;
        unsigned long long enq = 0, direct = 0, disp = 0;
        if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &zero, per_cpu) == 0) {
            printf("[%3d s]", second);
            for (int cpu = 0; cpu < ncpus; ++cpu) {
                enq += per_cpu[cpu].enqueued;
                direct += per_cpu[cpu].direct;
                disp += per_cpu[cpu].dispatched;
                printf(" cpu%d %llu", cpu, per_cpu[cpu].dispatched);
            }
            printf(" | dispatched %llu enqueued %llu direct %llu\n", disp, enq, direct);
            fflush(stdout);
        }
    }
    free(per_cpu);
    bpf_link__destroy(link);
    if (ret == 0) {
        ring_buffer__consume(rb);
        read_state(state, sizeof(state));
        printf("scx_fifo: unloaded (%s); the kernel's scheduler is '%s'\n", exited ? kind_name(exit_rec.kind) : "no exit record",
               state);
    }
    ring_buffer__free(rb);
out:
    scx_fifo_bpf__destroy(skel);
    return ret;
}
