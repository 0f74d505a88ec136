// BPF streams: the program writes a line to its stdout and one to its stderr. The kfunc
// has two shapes: Linux 6.17-6.18 export bpf_stream_vprintk_impl with the program's aux
// as a fifth argument (the verifier fills it), later kernels bpf_stream_vprintk with
// four (the fifth is implicit). Both are weak: the one this kernel lacks is never called.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern int bpf_stream_vprintk(int stream_id, const char *fmt__str, const void *args, __u32 len__sz) __weak __ksym;
extern int bpf_stream_vprintk_impl(int stream_id, const char *fmt__str, const void *args, __u32 len__sz,
                                   void *aux__prog) __weak __ksym;

const volatile __u64 stream_token = 0;  /* set before load: the tests look for it */
int printed = 0;                        /* how many lines went out */
int last_ret = 0;                       /* the kfunc's last result (-EOPNOTSUPP: neither exists) */

static __always_inline int stream_print(int stream, const char *fmt, __u64 *args, __u32 len)
{
    if (bpf_stream_vprintk)
        return bpf_stream_vprintk(stream, fmt, args, len);
    if (bpf_stream_vprintk_impl)
        return bpf_stream_vprintk_impl(stream, fmt, args, len, 0);
    return -95; /* EOPNOTSUPP */
}

SEC("xdp")
int print_streams(struct xdp_md *ctx)
{
    static const char out_fmt[] = "stdout line %llu\n";
    static const char err_fmt[] = "stderr line %llu\n";
    __u64 args[1] = {stream_token};

    last_ret = stream_print(1, out_fmt, args, sizeof(args));
    if (last_ret == 0)
        printed++;
    args[0] = stream_token + 1;
    last_ret = stream_print(2, err_fmt, args, sizeof(args));
    if (last_ret == 0)
        printed++;
    return XDP_PASS;
}
