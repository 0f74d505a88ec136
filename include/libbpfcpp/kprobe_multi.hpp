// kprobe_multi: one program on many kernel functions in one link (kernel >= 5.18).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cstdint>
#include <string>
#include <vector>

namespace bpf {

/// Options of Prog::attach_kprobe_multi. Functions are given by `symbols` (each with
/// its cookie when `cookies` is not empty) or by a glob pattern; not both.
///
/// ```cpp
/// bpf::KprobeMultiOptions o;
/// o.symbols = {"tcp_v4_connect", "tcp_v6_connect"};
/// o.cookies = {4, 6};                        // bpf_get_attach_cookie() tells which fired
/// mod.program("on_connect").attach_kprobe_multi(o);
/// mod.program("on_any").attach_kprobe_multi("tcp_v*_connect");   // by glob
/// ```
struct KprobeMultiOptions {
    std::vector<std::string> symbols;     ///< kernel functions (see /proc/kallsyms)
    std::vector<std::uint64_t> cookies;   ///< one per symbol, or empty
    bool retprobe = false;                ///< on function return (kretprobe.multi)
    /// kprobe session (kernel >= 6.10, libbpf >= 1.5): one program runs at entry and at
    /// return; a non-zero return at entry skips the return run. Needs a program of
    /// SEC("kprobe.session").
    bool session = false;
};

}  // namespace bpf
