/* The event tcpconnect.bpf.c sends for each outgoing TCP connection, shared by the BPF
 * program and by both user programs (examples/tcpconnect/main.cpp and main.c).
 *
 * Fixed-width fields in an order that leaves no implicit padding, so the BPF side, the C
 * side and the C++ side agree on every offset; user space copies each record into this
 * struct (never casts the ring memory).
 */
#ifndef LIBBPFCPP_TCPCONNECT_H
#define LIBBPFCPP_TCPCONNECT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TCPCONNECT_COMM_LEN 16
/* The most destination ports -P accepts (the size of the filter_ports global). */
#define TCPCONNECT_MAX_PORTS 64

struct tcpconnect_event {
    __u64 ts_ns;    /* CLOCK_MONOTONIC time of the connect() */
    __u32 pid;      /* process (thread group) id */
    __u32 tid;      /* thread id */
    __u32 uid;
    __u32 gid;
    __u32 loginuid; /* audit login uid; 4294967295 when unset */
    __u16 family;   /* AF_INET or AF_INET6 */
    __u16 proto;    /* IPPROTO_TCP */
    __u16 sport;    /* host byte order */
    __u16 dport;    /* host byte order */
    __u8 saddr[16]; /* IPv4: the first 4 bytes, network order */
    __u8 daddr[16];
    char comm[TCPCONNECT_COMM_LEN];
    __u8 pad[4];
};

#ifdef __cplusplus
static_assert(sizeof(struct tcpconnect_event) == 88, "tcpconnect_event layout changed");
#else
_Static_assert(sizeof(struct tcpconnect_event) == 88, "tcpconnect_event layout changed");
#endif

#endif
