// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* A second strong definition of link_main.bpf.c's weight(): linking the two is refused. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int weight(void)
{
    return 2;
}
