/* Shared by scx_fifo.bpf.c and its loader (examples/scx_fifo): the per-CPU statistics. */
#ifndef SCX_FIFO_H
#define SCX_FIFO_H

/* One per CPU in the map "stats"; user space sums or shows them per CPU. */
struct scx_fifo_stats {
    unsigned long long enqueued;   /* tasks queued on the global FIFO (ops.enqueue) */
    unsigned long long direct;     /* woken tasks put straight on an idle CPU (ops.select_cpu) */
    unsigned long long dispatched; /* tasks this CPU started running (ops.running) */
};

#endif
