/* Shared by xdp_counter.bpf.c and examples/xdp_counter. */
#ifndef LIBBPFCPP_XDP_COUNTER_H
#define LIBBPFCPP_XDP_COUNTER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Keys of the per-CPU counter array: the IP protocol number (IPv4 protocol or IPv6 next
 * header), and this reserved number for frames that are not IP (ARP, ...). */
#define XDP_COUNTER_NOT_IP 255
#define XDP_COUNTER_SLOTS 256

struct xdp_counter_value {
    __u64 packets;
    __u64 bytes;
};

#endif
