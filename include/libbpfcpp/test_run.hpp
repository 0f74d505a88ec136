// Test runs: a loaded program run by the kernel on input the caller gives
// (BPF_PROG_TEST_RUN), without attaching it.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.hpp"
#include "prog.hpp"

namespace bpf {

/// Input of Prog::test_run (BPF_PROG_TEST_RUN). Every field is optional.
///
/// ```cpp
/// bpf::TestRunOptions o;
/// o.data_in = packet_bytes;  o.data_out_size = 1500;  o.repeat = 100;
/// auto r = mod.program("xdp_count").test_run(o);
/// if (r.retval == XDP_PASS) use(r.data_out, r.duration);
/// ```
struct TestRunOptions {
    std::span<const std::byte> data_in;  ///< packet (skb/xdp programs)
    std::size_t data_out_size = 0;       ///< room for the packet after the run (0: do not return it)
    std::span<const std::byte> ctx_in;   ///< context (e.g. struct xdp_md, __sk_buff, raw_tp args)
    std::size_t ctx_out_size = 0;        ///< room for the context after the run
    int repeat = 0;                      ///< run this many times (0 and 1 both run once)
    std::uint32_t flags = 0;             ///< BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES, ...
    std::uint32_t cpu = 0;               ///< with BPF_F_TEST_RUN_ON_CPU: where to run
    std::uint32_t batch_size = 0;        ///< with BPF_F_TEST_XDP_LIVE_FRAMES
};

/// Output of Prog::test_run.
///
/// ```cpp
/// auto r = mod.program("xdp_drop_udp").test_run({.data_in = packet});
/// if (r.retval == XDP_DROP) report(r.duration);
/// ```
struct TestRunResult {
    std::uint32_t retval = 0;              ///< the program's return value
    std::uint32_t duration = 0;            ///< mean run time per repetition, in ns
    std::vector<std::byte> data_out;       ///< the packet after the run (resized to its length)
    std::vector<std::byte> ctx_out;        ///< the context after the run
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE TestRunResult Prog::test_run(const TestRunOptions& o) const {
    TestRunResult r;
    r.data_out.resize(o.data_out_size);
    r.ctx_out.resize(o.ctx_out_size);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = o.data_in.empty() ? nullptr : o.data_in.data();
    opts.data_size_in = static_cast<std::uint32_t>(o.data_in.size());
    opts.data_out = r.data_out.empty() ? nullptr : r.data_out.data();
    opts.data_size_out = static_cast<std::uint32_t>(r.data_out.size());
    opts.ctx_in = o.ctx_in.empty() ? nullptr : o.ctx_in.data();
    opts.ctx_size_in = static_cast<std::uint32_t>(o.ctx_in.size());
    opts.ctx_out = r.ctx_out.empty() ? nullptr : r.ctx_out.data();
    opts.ctx_size_out = static_cast<std::uint32_t>(r.ctx_out.size());
    opts.repeat = o.repeat;
    opts.flags = o.flags;
    opts.cpu = o.cpu;
    opts.batch_size = o.batch_size;
    if (fd() < 0)
        throw Error(EBADF, detail::describe("test-running program", std::string(name()),
                                            "the program is not loaded; call Module::load() first"));
    if (int ret = bpf_prog_test_run_opts(fd(), &opts); ret != 0) {
        int err = detail::positive_errno(ret);
        std::string cause;
        if (err == ENOTSUPP_ || err == EOPNOTSUPP)
            cause = "this program type cannot be test-run on this kernel";
        else if (err == ENOSPC)
            cause = "data_out_size/ctx_out_size is too small for the output";
        else if (err == EINVAL)
            cause = "the kernel rejected the input (data/ctx sizes or flags do not fit this program type)";
        else
            cause = detail::explain_errno(err);
        throw Error(err, detail::describe("test-running program", std::string(name()), cause));
    }
    r.retval = opts.retval;
    r.duration = opts.duration;
    r.data_out.resize(std::min<std::size_t>(r.data_out.size(), opts.data_size_out));
    r.ctx_out.resize(std::min<std::size_t>(r.ctx_out.size(), opts.ctx_size_out));
    return r;
}

LIBBPFCPP_INLINE TestRunResult Prog::test_run() const { return test_run(TestRunOptions{}); }

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
