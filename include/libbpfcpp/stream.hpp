// BPF streams: what a program wrote with bpf_stream_printk() (and what the kernel wrote
// about it, e.g. a may_goto timeout or an arena fault), read from user space.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/libbpf_version.h>

#include "detail/needs_libbpf.hpp"
#include "error.hpp"
#include "prog.hpp"
#include "version.hpp"

namespace bpf {

/// A program's streams (BPF_STREAM_STDOUT, BPF_STREAM_STDERR of the kernel's UAPI).
enum class Stream : std::uint32_t { Stdout = 1, Stderr = 2 };

/// The name of a stream, for messages: "stdout", "stderr".
constexpr std::string_view stream_name(Stream s) noexcept { return s == Stream::Stdout ? "stdout" : "stderr"; }

/// Reads and consumes what `prog`'s stream `s` holds, at most `max_bytes`
/// (bpf_prog_stream_read; libbpf 1.6, Linux 6.17). An empty string: nothing was written
/// since the last read. Throws an Error naming the release needed on an older libbpf or
/// kernel.
///
/// ```cpp
/// mod.program("handler").test_run(o);
/// std::cout << bpf::read_stream(mod.program("handler"), bpf::Stream::Stdout);
/// ```
inline std::string read_stream(const Prog& prog, Stream s, std::size_t max_bytes = 1 << 20) {
    const std::string op = "reading " + std::string(stream_name(s)) + " of program";
    const std::string_view what = prog.name();
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 6)
    if (prog.fd() < 0)
        throw Error(EBADF, detail::describe(op, what, "the program is not loaded; call Module::load() first"));
    std::string out;
    char chunk[4096];
    while (out.size() < max_bytes) {
        const std::size_t want = std::min(sizeof chunk, max_bytes - out.size());
        LIBBPF_OPTS(bpf_prog_stream_read_opts, opts);
        const int n = bpf_prog_stream_read(prog.fd(), static_cast<std::uint32_t>(s), chunk,
                                           static_cast<std::uint32_t>(want), &opts);
        if (n < 0) {
            const int err = detail::positive_errno(n);
            // An unknown bpf() command is EINVAL: a kernel before streams.
            detail::throw_errno(err, op, what,
                                err == EINVAL ? "this kernel has no BPF streams (they need Linux >= 6.17)"
                                              : std::string_view{});
        }
        if (n == 0) break;
        out.append(chunk, static_cast<std::size_t>(n));
    }
    return out;
#else
    (void)max_bytes;
    detail::libbpf_too_old(op, what, "bpf::read_stream (bpf_prog_stream_read)", "BPF streams", 1, 6,
                           "the kernel's streams need Linux >= 6.17 as well");
#endif
}

}  // namespace bpf
