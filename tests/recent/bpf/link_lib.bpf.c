// The half of a linked object that is called (see link_main.bpf.c).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 linked_bias = 1000;

__noinline int linked_combine(int tens, int ones)
{
    return tens * 10 + ones;
}
