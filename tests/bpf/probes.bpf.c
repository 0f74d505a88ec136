// One minimal program per kernel feature the tests declare (tests/harness/features.cpp).
// The harness loads exactly one of them, of exactly the kind a test needs, and attaches
// it: a general program-type probe is not enough, since kernels allow some attach types
// of a type and refuse others (seen: iter/task loads where iter/bpf_map_elem gets EPERM).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} probe_kv SEC(".maps");

/* bpf_fentry_test1 exists for exactly this: one of BPF_PROG_TEST_RUN's own targets,
   present wherever trampolines are. */
SEC("fentry/bpf_fentry_test1")
int BPF_PROG(probe_fentry, int a)
{
    return 0;
}

SEC("fexit/bpf_fentry_test1")
int BPF_PROG(probe_fexit, int a, int ret)
{
    return 0;
}

/* A security hook, as the tests use (no error-injection list needed); 0 lets the open go on. */
SEC("fmod_ret/security_file_open")
int BPF_PROG(probe_fmod_ret, struct file *file, int ret)
{
    return 0;
}

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
    return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
    return 0;
}

SEC("iter/task")
int probe_iter_task(struct bpf_iter__task *ctx)
{
    return 0;
}

SEC("iter/bpf_map_elem")
int probe_iter_map_elem(struct bpf_iter__bpf_map_elem *ctx)
{
    return 0;
}

static long probe_loop_step(__u32 index, void *ctx)
{
    return 0;
}

SEC("raw_tp/sys_enter")
int probe_bpf_loop(void *ctx)
{
    bpf_loop(1, probe_loop_step, 0, 0);
    return 0;
}

SEC("kprobe")
int BPF_KPROBE(probe_kprobe)
{
    return 0;
}

/* Attached as uprobe_multi (expected attach type set by the probe) where libbpf has it. */
SEC("uprobe")
int BPF_KPROBE(probe_uprobe_multi)
{
    return 0;
}

SEC("uprobe")
int BPF_KPROBE(probe_cookie)
{
    return bpf_get_attach_cookie(ctx) == 0;
}

SEC("xdp")
int probe_xdp(struct xdp_md *ctx)
{
    return XDP_PASS;
}
