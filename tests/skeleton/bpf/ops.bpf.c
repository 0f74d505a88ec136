// A struct_ops map for the skeleton's shadow of an ops struct: data members around the
// function pointers (with padding), a member no program fills, and a program no member
// names. The ops struct is declared here, so the golden text does not depend on the
// kernel the build runs on.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct skel_test_ops {
    int (*init)(void);
    void (*tick)(int cpu);
    unsigned int flags;
    unsigned long long timeout_ms;
    void (*exit)(void *info);
    char name[16];
};

SEC("struct_ops/ops_init")
int BPF_PROG(ops_init)
{
    return 0;
}

SEC("struct_ops/ops_tick")
void BPF_PROG(ops_tick, int cpu)
{
}

SEC("struct_ops/ops_tick_other")
void BPF_PROG(ops_tick_other, int cpu)
{
}

SEC(".struct_ops")
struct skel_test_ops test_ops = {
    .init = (void *)ops_init,
    .tick = (void *)ops_tick,
    .flags = 3,
    .timeout_ms = 500,
    .name = "skel_test",
};
