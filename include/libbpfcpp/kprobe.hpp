// kprobes: a program on the entry or return of a kernel function, by name or address.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstdint>
#include <string>

#include <bpf/libbpf.h>

#include "error.hpp"
#include "log.hpp"
#include "prog.hpp"

namespace bpf {

/// Options of Prog::attach_kprobe / attach_kretprobe.
///
/// ```cpp
/// bpf::KprobeOptions o;
/// o.cookie = 42;   // bpf_get_attach_cookie(ctx) returns 42 in the program
/// mod.program("kp").attach_kprobe("tcp_v4_connect", o);
/// ```
struct KprobeOptions {
    std::uint64_t offset = 0;  ///< offset inside the function
    std::uint64_t cookie = 0;  ///< read by the program with bpf_get_attach_cookie()
};

/// Options of Prog::attach_kprobe_at.
///
/// ```cpp
/// mod.program("kp").attach_kprobe_at(address, {.retprobe = true, .cookie = 7});
/// ```
struct KprobeAtOptions {
    bool retprobe = false;     ///< on the function's return (a kretprobe)
    std::uint64_t cookie = 0;  ///< read by the program with bpf_get_attach_cookie()
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_kprobe(const std::string& function, const KprobeOptions& o) {
    return kprobe(function, o, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_kretprobe(const std::string& function, const KprobeOptions& o) {
    return kprobe(function, o, true);
}

LIBBPFCPP_INLINE Link& Prog::attach_kprobe_at(std::uint64_t address, bool retprobe, std::uint64_t cookie) {
    const detail::QuietLog quiet;
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(address));
    const std::string what = std::string(retprobe ? "kretprobe at " : "kprobe at ") + hex;
    if (!detail::kernel_has_kprobes())
        attach_failed(EOPNOTSUPP, what + ": " + std::string(detail::kprobes_hint), detail::missing_kprobes());
    if (address == 0)
        attach_failed(EINVAL, what + ": address 0 (/proc/kallsyms shows zeros without "
                      "CAP_SYSLOG or with kernel.kptr_restrict=2)");
    LIBBPF_OPTS(bpf_kprobe_opts, opts, .bpf_cookie = cookie, .offset = address, .retprobe = retprobe);
    bpf_link* l = bpf_program__attach_kprobe_opts(prog_, nullptr, &opts);
    int err = errno;
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::kprobe(const std::string& function, const KprobeOptions& o, bool ret) {
    const detail::QuietLog quiet;
    std::string what = std::string(ret ? "kretprobe " : "kprobe ") + function;
    if (o.offset != 0) what += "+" + std::to_string(o.offset);
    if (!detail::kernel_has_kprobes())
        attach_failed(EOPNOTSUPP, what + ": " + std::string(detail::kprobes_hint), detail::missing_kprobes());
    LIBBPF_OPTS(bpf_kprobe_opts, opts, .bpf_cookie = o.cookie, .offset = o.offset, .retprobe = ret);
    bpf_link* l = bpf_program__attach_kprobe_opts(prog_, function.c_str(), &opts);
    int err = errno;
    if (l == nullptr && err == ENOENT && fd() >= 0)
        attach_failed(ENOENT, what + ": no such kernel function (see /proc/kallsyms)");
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::attach_kprobe(const std::string& function) { return kprobe(function, {}, false); }

LIBBPFCPP_INLINE Link& Prog::attach_kretprobe(const std::string& function) { return kprobe(function, {}, true); }

LIBBPFCPP_INLINE Link& Prog::attach_kprobe_at(std::uint64_t address, const KprobeAtOptions& o) {
    return attach_kprobe_at(address, o.retprobe, o.cookie);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
