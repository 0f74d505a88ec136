// kprobe_multi: one program on many kernel functions in one link (kernel >= 5.18).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <bpf/libbpf.h>

#include "detail/needs_libbpf.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"
#include "log.hpp"
#include "prog.hpp"
#include "version.hpp"

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

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_kprobe_multi(const std::string& pattern, bool retprobe) {
    KprobeMultiOptions o;
    o.retprobe = retprobe;
    return kprobe_multi(&pattern, o);
}

LIBBPFCPP_INLINE Link& Prog::kprobe_multi(const std::string* pattern, const KprobeMultiOptions& o) {
    const detail::QuietLog quiet;
    std::string what = std::string(o.session ? "kprobe_session " : o.retprobe ? "kretprobe_multi " : "kprobe_multi ");
    if (pattern != nullptr) {
        what += *pattern;
    } else {
        what += std::to_string(o.symbols.size()) + " functions";
        if (!o.symbols.empty()) what += " (" + o.symbols.front() + (o.symbols.size() > 1 ? ", ...)" : ")");
    }
    const auto fail = [&](int err, const std::string& cause) {
        attach_failed(err, what + ": " + cause);
    };
    if (pattern != nullptr && pattern->empty()) fail(EINVAL, "empty pattern");
    if (pattern == nullptr && o.symbols.empty()) fail(EINVAL, "no functions given");
    if (!o.cookies.empty() && o.cookies.size() != o.symbols.size())
        fail(EINVAL, std::to_string(o.cookies.size()) + " cookies for " + std::to_string(o.symbols.size()) +
                         " functions");
    if (o.session && o.retprobe) fail(EINVAL, "a session runs at entry and return; do not set retprobe too");
#if !LIBBPFCPP_LIBBPF_AT_LEAST(1, 5)
    if (o.session)
        detail::libbpf_too_old("attaching program", name(), what, "kprobe session", 1, 5,
                               "attach a kprobe_multi and a kretprobe_multi program instead");
#endif
    if (!detail::kernel_has_kprobes())
        attach_failed(EOPNOTSUPP, what + ": " + std::string(detail::kprobes_hint), detail::missing_kprobes());
    std::vector<const char*> syms;
    for (const auto& s : o.symbols) syms.push_back(s.c_str());
    const std::vector<__u64> cookies(o.cookies.begin(), o.cookies.end());
    LIBBPF_OPTS(bpf_kprobe_multi_opts, opts, .syms = syms.empty() ? nullptr : syms.data(),
                .cookies = cookies.empty() ? nullptr : cookies.data(), .cnt = syms.size(),
                .retprobe = o.retprobe);
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 5)
    opts.session = o.session;
#endif
    bpf_link* l = bpf_program__attach_kprobe_multi_opts(prog_, pattern != nullptr ? pattern->c_str() : nullptr, &opts);
    int err = errno;
    if (l == nullptr && fd() >= 0) {
        if (err == ENOENT || err == ESRCH)
            fail(ENOENT, pattern != nullptr ? "no kernel function matches (see /sys/kernel/tracing/available_filter_functions)"
                                            : "a function is not in this kernel or cannot be traced (see "
                                              "/sys/kernel/tracing/available_filter_functions)");
        if (err == EOPNOTSUPP || err == EINVAL) {
            const bpf_attach_type want = o.session ? detail::uapi::attach_kprobe_session : BPF_TRACE_KPROBE_MULTI;
            if (expected_attach_type() != want)
                fail(EINVAL, std::string("the program was not loaded as ") +
                                 (o.session ? "a kprobe session; use SEC(\"kprobe.session\")"
                                            : "kprobe_multi; use SEC(\"kprobe.multi\") or SEC(\"kretprobe.multi\")"));
            fail(err, "the kernel refused: kprobe_multi needs kernel >= 5.18 with CONFIG_FPROBE"
                      " (a session >= 6.10)");
        }
    }
    return keep(l, err, what);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
