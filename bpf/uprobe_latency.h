/* Shared by uprobe_latency.bpf.c and examples/uprobe_latency: the histogram's shape. */
#ifndef LIBBPFCPP_UPROBE_LATENCY_H
#define LIBBPFCPP_UPROBE_LATENCY_H

/* Slot i counts calls that took [2^i, 2^(i+1)) microseconds; slot 0 also takes < 1 us. */
#define UPROBE_LATENCY_SLOTS 32

#endif
