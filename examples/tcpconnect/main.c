// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* tcpconnect, written against plain libbpf: the same tool as main.cpp (which uses
 * libbpfcpp), with the same options, output and messages, so the two can be compared
 * line by line and run side by side. The BPF object is embedded in the executable. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcpconnect.h"
#include "tcpconnect.skel.h" /* bpftool gen skeleton: struct tcpconnect_bpf, the object embedded */

enum attach_mode { ATTACH_AUTO, ATTACH_FENTRY, ATTACH_KPROBE, ATTACH_TRACEPOINT };
static const char *const attach_names[] = {"auto", "fentry", "kprobe", "tracepoint"};
static const char *const attach_points[] = {
    "", "fexit tcp_v4_connect, tcp_v6_connect", "kprobe+kretprobe tcp_v4_connect, tcp_v6_connect",
    "tracepoint sock:inet_sock_set_state"};

struct options {
    uint32_t pid;  /* 0: every process */
    uint32_t uid;  /* UINT32_MAX: every user */
    uint16_t ports[TCPCONNECT_MAX_PORTS];
    uint32_t nports;
    uint16_t family; /* 0, AF_INET or AF_INET6 */
    bool timestamp, print_uid, count, verbose, json, perf;
    double duration; /* seconds; 0: until a signal */
    enum attach_mode attach;
};

struct count_entry {
    uint16_t family;
    uint8_t saddr[16], daddr[16];
    uint16_t dport;
    uint64_t connects;
};

struct tracer {
    const struct options *opt;
    struct tcpconnect_bpf *skel;
    struct bpf_link *links[4];
    int nlinks;
    struct ring_buffer *rb;
    struct perf_buffer *pb;
    uint64_t events, perf_lost;
    uint64_t start_mono_ns;
    int64_t realtime_offset_ns;
    struct count_entry *counts;
    size_t ncounts, counts_cap;
};

static volatile sig_atomic_t stop_requested;
static bool verbose_libbpf;
/* The last libbpf warnings, for the message of a failed step. */
static char libbpf_last[512];

static const char usage_text[] =
    "Usage: tcpconnect [OPTIONS]\n"
    "Trace outgoing TCP connections (IPv4 and IPv6), one line per connection:\n"
    "  COMM (pid: PID) (loginuid: LOGINUID) | (proto: 6) SADDR (SPORT) => DADDR (DPORT)\n"
    "\n"
    "  -p, --pid PID              only connections made by process PID\n"
    "  -u, --uid UID              only connections made by user UID\n"
    "  -P, --port PORT[,PORT...]  only these destination ports (at most 64)\n"
    "  -4, --ipv4                 only IPv4\n"
    "  -6, --ipv6                 only IPv6\n"
    "  -t, --timestamp            first column: seconds since the start\n"
    "  -U, --print-uid            add a UID column\n"
    "  -c, --count                count connects per source, destination and port;\n"
    "                             print the table at exit instead of each connection\n"
    "  -d, --duration SECONDS     stop after SECONDS\n"
    "      --json                 one JSON object per line\n"
    "      --perf                 use a perf buffer even when the kernel has a ring buffer\n"
    "      --attach MODE          auto (default), fentry, kprobe or tracepoint\n"
    "  -v, --verbose              say which attach strategy and buffer are used, and why\n"
    "  -h, --help                 show this help\n"
    "\n"
    "Needs root (CAP_BPF and CAP_PERFMON). SIGINT or SIGTERM ends it with a summary.\n";

static void fail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_line(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    fprintf(stderr, "tcpconnect: %s\n", buf);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    char line[512];
    va_list copy;

    if (level != LIBBPF_WARN || fmt == NULL)
        return 0;
    if (verbose_libbpf) {
        va_copy(copy, args);
        vfprintf(stderr, fmt, copy);
        va_end(copy);
    }
    /* The first warning of a failed step names the program and the cause; the
     * following ones only repeat that the object failed. */
    if (libbpf_last[0] == '\0') {
        size_t len;

        vsnprintf(line, sizeof(line), fmt, args);
        len = strlen(line);
        while (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        snprintf(libbpf_last, sizeof(libbpf_last), "%s", strncmp(line, "libbpf: ", 8) == 0 ? line + 8 : line);
    }
    return 0;
}

/* ---- options ------------------------------------------------------------------------ */

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_ports(const char *list, struct options *o)
{
    char buf[512];
    char *save = NULL;

    if (strlen(list) >= sizeof(buf) || list[0] == '\0' || list[0] == ',' || list[strlen(list) - 1] == ',')
        return false;
    strcpy(buf, list);
    o->nports = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint32_t port;

        if (o->nports == TCPCONNECT_MAX_PORTS || !parse_u32(tok, 65535, &port) || port == 0)
            return false;
        o->ports[o->nports++] = (uint16_t)port;
    }
    return o->nports > 0 && strstr(list, ",,") == NULL;
}

/* 0: run, 1: exit 0 (help), -1: bad input (message printed). */
static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_JSON = 256, OPT_PERF, OPT_ATTACH };
    static const struct option longopts[] = {
        {"pid", required_argument, NULL, 'p'},      {"uid", required_argument, NULL, 'u'},
        {"port", required_argument, NULL, 'P'},     {"ipv4", no_argument, NULL, '4'},
        {"ipv6", no_argument, NULL, '6'},           {"timestamp", no_argument, NULL, 't'},
        {"print-uid", no_argument, NULL, 'U'},      {"count", no_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},           {"json", no_argument, NULL, OPT_JSON},
        {"perf", no_argument, NULL, OPT_PERF},      {"attach", required_argument, NULL, OPT_ATTACH},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->uid = UINT32_MAX;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:u:P:46tUcd:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!parse_u32(optarg, INT32_MAX, &o->pid) || o->pid == 0) {
                fail_line("invalid PID '%s': expected a positive process id", optarg);
                return -1;
            }
            break;
        case 'u':
            if (!parse_u32(optarg, UINT32_MAX - 1, &o->uid)) {
                fail_line("invalid UID '%s': expected a number from 0 to 4294967294", optarg);
                return -1;
            }
            break;
        case 'P':
            if (!parse_ports(optarg, o)) {
                fail_line("invalid port list '%s': expected PORT[,PORT...], ports 1-65535, at most %d",
                          optarg, TCPCONNECT_MAX_PORTS);
                return -1;
            }
            break;
        case '4':
        case '6': {
            uint16_t f = c == '4' ? AF_INET : AF_INET6;

            if (o->family != 0 && o->family != f) {
                fail_line("-4 and -6 exclude each other");
                return -1;
            }
            o->family = f;
            break;
        }
        case 't': o->timestamp = true; break;
        case 'U': o->print_uid = true; break;
        case 'c': o->count = true; break;
        case 'v': o->verbose = true; break;
        case 'd': {
            char *end;

            errno = 0;
            o->duration = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || end == optarg || !(o->duration > 0) || o->duration > 1e9) {
                fail_line("invalid duration '%s': expected a positive number of seconds", optarg);
                return -1;
            }
            break;
        }
        case 'h': fputs(usage_text, stdout); return 1;
        case OPT_JSON: o->json = true; break;
        case OPT_PERF: o->perf = true; break;
        case OPT_ATTACH: {
            int i;

            for (i = 0; i < 4 && strcmp(optarg, attach_names[i]) != 0; i++)
                ;
            if (i == 4) {
                fail_line("invalid --attach '%s': expected auto, fentry, kprobe or tracepoint", optarg);
                return -1;
            }
            o->attach = (enum attach_mode)i;
            break;
        }
        case ':':
            fail_line("option '%s' needs a value (see --help)", argv[optind - 1]);
            return -1;
        default: {
            /* getopt sets optopt to a known option's value when that option was given a
             * value it does not take (--json=1, --count=3). */
            const struct option *lo;

            for (lo = longopts; lo->name != NULL; lo++) {
                if (optopt != 0 && lo->val == optopt && lo->has_arg == no_argument) {
                    fail_line("option '--%s' takes no value (see --help)", lo->name);
                    return -1;
                }
            }
            if (optopt != 0)
                fail_line("unknown option '-%c' (see --help)", optopt);
            else
                fail_line("unknown option '%s' (see --help)", argv[optind - 1]);
            return -1;
        }
        }
    }
    if (optind < argc) {
        fail_line("unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    return 0;
}

static bool has_capability(int cap)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

    if (syscall(SYS_capget, &hdr, data) != 0)
        return false;
    return (data[cap / 32].effective & (1U << (cap % 32))) != 0;
}

static bool privileged(void)
{
    /* CAP_BPF (39) and CAP_PERFMON (38) may be missing from old kernel headers. */
    return has_capability(CAP_SYS_ADMIN) || (has_capability(39) && has_capability(38));
}

/* ---- the BPF object ----------------------------------------------------------------- */

static bool kernel_has_kprobes(void)
{
    return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0 ||
           access("/sys/kernel/tracing/kprobe_events", F_OK) == 0 ||
           access("/sys/kernel/debug/tracing/kprobe_events", F_OK) == 0;
}

static bool program_of(const char *prog, enum attach_mode mode)
{
    switch (mode) {
    case ATTACH_FENTRY: return strncmp(prog, "fexit_", 6) == 0;
    case ATTACH_KPROBE: return strncmp(prog, "kprobe_", 7) == 0 || strncmp(prog, "kretprobe_", 10) == 0;
    case ATTACH_TRACEPOINT: return strncmp(prog, "tp_", 3) == 0;
    default: return false;
    }
}

static void tracer_close(struct tracer *t)
{
    ring_buffer__free(t->rb);
    perf_buffer__free(t->pb);
    t->rb = NULL;
    t->pb = NULL;
    while (t->nlinks > 0)
        bpf_link__destroy(t->links[--t->nlinks]);
    tcpconnect_bpf__destroy(t->skel);
    t->skel = NULL;
}

/* Opens, configures, loads and attaches the object with one strategy. On failure the
 * tracer is left closed and `why` says what went wrong. */
static int tracer_setup(struct tracer *t, enum attach_mode mode, bool ringbuf, char *why, size_t why_len)
{
    const struct options *o = t->opt;
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "tcpconnect");
    struct bpf_program *prog;
    struct bpf_map *events;
    int err;

    libbpf_last[0] = '\0';
    if (mode == ATTACH_KPROBE && !kernel_has_kprobes()) {
        snprintf(why, why_len, "kprobes are not available in this kernel (CONFIG_KPROBES is off)");
        return -EOPNOTSUPP;
    }
    t->skel = tcpconnect_bpf__open_opts(&open_opts);
    if (t->skel == NULL) {
        err = -errno;
        snprintf(why, why_len, "opening the embedded BPF object: %s", strerror(-err));
        return err;
    }
    events = t->skel->maps.events;
    if (!ringbuf) {
        /* Same map, retyped: max_entries 0 lets libbpf use one slot per possible CPU. */
        bpf_map__set_type(events, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
        bpf_map__set_key_size(events, sizeof(int));
        bpf_map__set_value_size(events, sizeof(int));
        bpf_map__set_max_entries(events, 0);
    }
    t->skel->rodata->filter_pid = o->pid;
    t->skel->rodata->filter_uid = o->uid;
    t->skel->rodata->filter_family = o->family;
    t->skel->rodata->filter_nports = o->nports;
    memcpy(t->skel->rodata->filter_ports, o->ports, sizeof(t->skel->rodata->filter_ports));
    t->skel->rodata->use_ringbuf = ringbuf;
    bpf_object__for_each_program(prog, t->skel->obj)
        bpf_program__set_autoload(prog, program_of(bpf_program__name(prog), mode));

    err = tcpconnect_bpf__load(t->skel);
    if (err != 0) {
        err = err < 0 ? err : -EINVAL;
        /* libbpf blames the memlock limit for any EPERM; a kernel that refuses the
         * whole program type says it better. */
        if (mode == ATTACH_FENTRY && err == -EPERM && libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACING, NULL) == 0)
            snprintf(why, why_len, "this kernel refuses fentry/fexit programs (BPF trampolines unavailable)");
        else
            snprintf(why, why_len, "loading object 'tcpconnect': %s (%s)",
                     libbpf_last[0] ? libbpf_last : "failed", strerror(-err));
        goto fail;
    }
    bpf_object__for_each_program(prog, t->skel->obj) {
        struct bpf_link *link;

        if (!bpf_program__autoload(prog))
            continue;
        link = bpf_program__attach(prog);
        if (link == NULL) {
            err = -errno;
            snprintf(why, why_len, "attaching program '%s' (%s): %s", bpf_program__name(prog),
                     bpf_program__section_name(prog), strerror(-err));
            goto fail;
        }
        t->links[t->nlinks++] = link;
    }
    return 0;
fail:
    tracer_close(t);
    return err;
}

/* ---- output ------------------------------------------------------------------------- */

static void format_addr(uint16_t family, const uint8_t *addr, char *out, size_t len)
{
    if (inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

/* The length of the well-formed UTF-8 sequence at s (2 to 4 bytes, no overlong forms,
 * surrogates or code points above U+10FFFF; `left` bytes remain), or 0; its code point
 * in *cp. */
static size_t utf8_sequence(const unsigned char *s, size_t left, uint32_t *cp)
{
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned char b0 = s[0];
    size_t n = b0 >= 0xf0 && b0 <= 0xf4 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc2 && b0 < 0xe0 ? 2 : 0;
    size_t i;

    if (n == 0 || b0 > 0xf4 || left < n)
        return 0;
    *cp = b0 & (0xff >> (n + 1));
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min_cp[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* A process name for a terminal: any local process picks its own name, so control bytes
 * (a newline would forge a line, ESC drives the terminal) and bytes that are not UTF-8
 * are shown as \xHH, and a backslash as \\; well-formed UTF-8 passes, except the C1
 * controls (U+0080-U+009F), which terminals obey too. */
static void text_comm(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str), i = 0;

    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp = 0;
        size_t n = c >= 0x80 ? utf8_sequence(s + i, len - i, &cp) : 0;

        if (n > 0 && cp >= 0xa0) {
            fwrite(s + i, 1, n, f);
            i += n;
            continue;
        }
        if (c == '\\')
            fputs("\\\\", f);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
        i++;
    }
}

/* A JSON string: well-formed UTF-8 passes as it is; control characters (C0, DEL and C1)
 * are escaped as \u00XX, and a byte that is not UTF-8 becomes U+FFFD. */
static void json_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str), i = 0;

    fputc('"', f);
    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp = c;
        size_t n = 1;

        if (c >= 0x80) {
            n = utf8_sequence(s + i, len - i, &cp);
            if (n == 0) {
                fputs("\\ufffd", f);
                i++;
                continue;
            }
        }
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
            fprintf(f, "\\u%04x", (unsigned)cp);
        else
            fwrite(s + i, 1, n, f);
        i += n;
    }
    fputc('"', f);
}

static void count_connect(struct tracer *t, const struct tcpconnect_event *e)
{
    size_t i;

    for (i = 0; i < t->ncounts; i++) {
        struct count_entry *c = &t->counts[i];

        if (c->family == e->family && c->dport == e->dport && memcmp(c->saddr, e->saddr, 16) == 0 &&
            memcmp(c->daddr, e->daddr, 16) == 0) {
            c->connects++;
            return;
        }
    }
    if (t->ncounts == t->counts_cap) {
        size_t cap = t->counts_cap ? t->counts_cap * 2 : 64;
        struct count_entry *grown = realloc(t->counts, cap * sizeof(*grown));

        if (grown == NULL)
            return;
        t->counts = grown;
        t->counts_cap = cap;
    }
    t->counts[t->ncounts].family = e->family;
    memcpy(t->counts[t->ncounts].saddr, e->saddr, 16);
    memcpy(t->counts[t->ncounts].daddr, e->daddr, 16);
    t->counts[t->ncounts].dport = e->dport;
    t->counts[t->ncounts].connects = 1;
    t->ncounts++;
}

static void handle_event(struct tracer *t, const void *data, size_t size)
{
    const struct options *o = t->opt;
    struct tcpconnect_event e;
    char comm[TCPCONNECT_COMM_LEN + 1];
    char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];

    if (size < sizeof(e))
        return;
    memcpy(&e, data, sizeof(e));
    t->events++;
    if (o->count) {
        count_connect(t, &e);
        return;
    }
    memcpy(comm, e.comm, TCPCONNECT_COMM_LEN);
    comm[TCPCONNECT_COMM_LEN] = '\0';
    format_addr(e.family, e.saddr, saddr, sizeof(saddr));
    format_addr(e.family, e.daddr, daddr, sizeof(daddr));
    if (o->json) {
        printf("{\"ts_ns\":%llu,\"pid\":%u,\"tid\":%u,\"uid\":%u,\"gid\":%u,\"loginuid\":%u,\"comm\":",
               (unsigned long long)((int64_t)e.ts_ns + t->realtime_offset_ns), e.pid, e.tid, e.uid,
               e.gid, e.loginuid);
        json_string(stdout, comm);
        printf(",\"family\":%d,\"saddr\":\"%s\",\"sport\":%u,\"daddr\":\"%s\",\"dport\":%u}\n",
               e.family == AF_INET ? 4 : 6, saddr, e.sport, daddr, e.dport);
        return;
    }
    if (o->timestamp)
        printf("%-9.3f ", (double)(int64_t)(e.ts_ns - t->start_mono_ns) / 1e9);
    if (o->print_uid)
        printf("%-6u ", e.uid);
    text_comm(stdout, comm);
    printf(" (pid: %u) (loginuid: %u) | (proto: %u) %s (%u) => %s (%u)\n", e.pid, e.loginuid, e.proto, saddr,
           e.sport, daddr, e.dport);
}

static int on_ring_event(void *ctx, void *data, size_t size)
{
    handle_event(ctx, data, size);
    return 0;
}

static void on_perf_event(void *ctx, int cpu, void *data, __u32 size)
{
    (void)cpu;
    handle_event(ctx, data, size);
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
    struct tracer *t = ctx;

    (void)cpu;
    t->perf_lost += count;
}

static int compare_counts(const void *a, const void *b)
{
    const struct count_entry *x = a, *y = b;
    int r;

    if (x->connects != y->connects)
        return x->connects > y->connects ? -1 : 1;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    if ((r = memcmp(x->saddr, y->saddr, 16)) != 0)
        return r;
    if ((r = memcmp(x->daddr, y->daddr, 16)) != 0)
        return r;
    return x->dport < y->dport ? -1 : x->dport > y->dport;
}

static void print_counts(struct tracer *t)
{
    char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];

    qsort(t->counts, t->ncounts, sizeof(*t->counts), compare_counts);
    if (!t->opt->json)
        printf("%-39s %-39s %-5s %s\n", "SADDR", "DADDR", "DPORT", "CONNECTS");
    for (size_t i = 0; i < t->ncounts; i++) {
        const struct count_entry *c = &t->counts[i];

        format_addr(c->family, c->saddr, saddr, sizeof(saddr));
        format_addr(c->family, c->daddr, daddr, sizeof(daddr));
        if (t->opt->json)
            printf("{\"family\":%d,\"saddr\":\"%s\",\"daddr\":\"%s\",\"dport\":%u,\"connects\":%llu}\n",
                   c->family == AF_INET ? 4 : 6, saddr, daddr, c->dport, (unsigned long long)c->connects);
        else
            printf("%-39s %-39s %-5u %llu\n", saddr, daddr, c->dport, (unsigned long long)c->connects);
    }
}

/* ---- main --------------------------------------------------------------------------- */

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    static const enum attach_mode auto_order[] = {ATTACH_FENTRY, ATTACH_KPROBE, ATTACH_TRACEPOINT};
    struct options opt;
    struct tracer t = {0};
    struct sigaction sa;
    char reasons[3][512];
    enum attach_mode chosen = ATTACH_AUTO;
    bool ringbuf;
    uint64_t deadline = 0, lost;
    int r;

    r = parse_options(argc, argv, &opt);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (!privileged()) {
        fail_line("must run as root (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
        return 1;
    }
    verbose_libbpf = opt.verbose;
    libbpf_set_print(libbpf_print);
    t.opt = &opt;

    ringbuf = !opt.perf && libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
    if (opt.attach == ATTACH_AUTO) {
        for (int i = 0; i < 3 && chosen == ATTACH_AUTO; i++) {
            if (tracer_setup(&t, auto_order[i], ringbuf, reasons[i], sizeof(reasons[i])) == 0)
                chosen = auto_order[i];
            else if (opt.verbose)
                fail_line("%s: not usable: %s", attach_names[auto_order[i]], reasons[i]);
        }
        if (chosen == ATTACH_AUTO) {
            fail_line("no usable attach strategy in this kernel: fentry: %s; kprobe: %s; tracepoint: %s",
                      reasons[0], reasons[1], reasons[2]);
            return 1;
        }
    } else {
        if (tracer_setup(&t, opt.attach, ringbuf, reasons[0], sizeof(reasons[0])) != 0) {
            fail_line("--attach %s: %s", attach_names[opt.attach], reasons[0]);
            return 1;
        }
        chosen = opt.attach;
    }
    if (opt.verbose)
        fail_line("attached: %s (%s)", attach_points[chosen],
                  opt.attach != ATTACH_AUTO ? "forced by --attach"
                  : chosen == ATTACH_FENTRY ? "the kernel supports fentry"
                  : chosen == ATTACH_KPROBE ? "fentry is not usable, kprobes are"
                                            : "neither fentry nor kprobes are usable");

    {
        int fd = bpf_map__fd(t.skel->maps.events);

        if (ringbuf)
            t.rb = ring_buffer__new(fd, on_ring_event, &t, NULL);
        else
            t.pb = perf_buffer__new(fd, 64, on_perf_event, on_perf_lost, &t, NULL);
        if (t.rb == NULL && t.pb == NULL) {
            fail_line("setting up the %s of map 'events': %s", ringbuf ? "ring buffer" : "perf buffer",
                      strerror(errno));
            tracer_close(&t);
            return 1;
        }
    }
    if (opt.verbose)
        fail_line("events: %s", ringbuf ? "ring buffer"
                                : opt.perf ? "perf buffer (--perf)"
                                           : "perf buffer (no ring buffer in this kernel)");

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    t.start_mono_ns = now_ns(CLOCK_MONOTONIC);
    t.realtime_offset_ns = (int64_t)(now_ns(CLOCK_REALTIME) - t.start_mono_ns);
    if (opt.duration > 0)
        deadline = t.start_mono_ns + (uint64_t)(opt.duration * 1e9);
    if (opt.verbose)
        fail_line("tracing TCP connects; Ctrl-C to end");

    while (!stop_requested) {
        int timeout = 100;

        if (deadline != 0) {
            uint64_t now = now_ns(CLOCK_MONOTONIC);

            if (now >= deadline)
                break;
            if ((deadline - now) / 1000000 < (uint64_t)timeout)
                timeout = (int)((deadline - now) / 1000000) + 1;
        }
        r = t.rb ? ring_buffer__poll(t.rb, timeout) : perf_buffer__poll(t.pb, timeout);
        if (r < 0 && r != -EINTR) {
            fail_line("polling the events: %s", strerror(-r));
            break;
        }
        if (r > 0)
            fflush(stdout);
    }
    /* Whatever is already in the buffer was connected while tracing: report it too. */
    if (t.rb)
        ring_buffer__consume(t.rb);
    else
        perf_buffer__consume(t.pb);
    /* The lost callback misses drops after the last successful write on a CPU; the
     * program's own count of failed perf outputs does not. */
    lost = (t.perf_lost > t.skel->bss->perf_output_failures ? t.perf_lost : t.skel->bss->perf_output_failures) +
           t.skel->bss->lost_events;
    if (opt.count)
        print_counts(&t);
    fflush(stdout);
    fprintf(stderr, "tcpconnect: %llu events, %llu lost\n", (unsigned long long)t.events,
            (unsigned long long)lost);
    tracer_close(&t);
    free(t.counts);
    return r < 0 && r != -EINTR ? 1 : 0;
}
