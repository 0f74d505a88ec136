// uprobes, USDT probes and uprobe_multi: programs on functions and probes of user-space binaries.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "error.hpp"
#include "log.hpp"
#include "prog.hpp"
#include "version.hpp"

namespace bpf {

/// Options of Prog::attach_uprobe / attach_uretprobe.
///
/// ```cpp
/// bpf::UprobeOptions o;
/// o.cookie = 7;
/// mod.program("up").attach_uprobe(-1, "/usr/bin/bash", "readline", o);
/// ```
struct UprobeOptions {
    std::uint64_t cookie = 0;          ///< read with bpf_get_attach_cookie()
    std::uint64_t ref_ctr_offset = 0;  ///< USDT-style semaphore offset, if any
};

/// Options of Prog::attach_usdt.
///
/// ```cpp
/// mod.program("on_probe").attach_usdt(-1, "/usr/bin/app", "app", "request", {.cookie = 3});
/// ```
struct UsdtOptions {
    std::uint64_t cookie = 0;  ///< read by the program with bpf_get_attach_cookie()
};

/// Options of Prog::attach_uprobe_multi.
///
/// ```cpp
/// mod.program("on_ret").attach_uprobe_multi(-1, "/usr/bin/app", "handle_*", {.retprobe = true});
/// ```
struct UprobeMultiOptions {
    bool retprobe = false;  ///< on the functions' return (uretprobe.multi)
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_uprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                                           const UprobeOptions& o) {
    return uprobe(pid, binary, symbol, 0, o, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                                           const UprobeOptions& o) {
    return uprobe(pid, binary, {}, offset, o, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_uretprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                                              const UprobeOptions& o) {
    return uprobe(pid, binary, symbol, 0, o, true);
}

LIBBPFCPP_INLINE Link& Prog::attach_uretprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                                              const UprobeOptions& o) {
    return uprobe(pid, binary, {}, offset, o, true);
}

LIBBPFCPP_INLINE Link& Prog::uprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                                    std::uint64_t offset, const UprobeOptions& o, bool ret) {
    const detail::QuietLog quiet;
    std::string what = std::string(ret ? "uretprobe " : "uprobe ") + binary + ":" +
                       (symbol.empty() ? "+" + std::to_string(offset) : symbol);
    // A bare name ("libc.so.6") is resolved by libbpf through the library search path.
    if (binary.find('/') != std::string::npos && access(binary.c_str(), R_OK) != 0)
        attach_failed(errno, what + ": cannot read '" + binary + "'");
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = o.ref_ctr_offset, .bpf_cookie = o.cookie,
                .retprobe = ret, .func_name = symbol.empty() ? nullptr : symbol.c_str());
    bpf_link* l = bpf_program__attach_uprobe_opts(prog_, pid, binary.c_str(), offset, &opts);
    int err = errno;
    if (l == nullptr && err == ENOENT && !symbol.empty() && fd() >= 0)
        attach_failed(ENOENT, what + ": symbol '" + symbol + "' not found in '" + binary + "'");
    if (l == nullptr && fd() >= 0)
        if (auto why = user_target_cause(err, pid, binary, false))
            attach_failed(err == ESRCH ? ESRCH : EINVAL, what + ": " + *why);
    return keep(l, err, what);
}

LIBBPFCPP_INLINE std::optional<std::string> Prog::user_target_cause(int err, pid_t pid,
        const std::string& binary, bool usdt) {
    if (err == ESRCH && pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
        return "no process with pid " + std::to_string(pid) + " (give a running process, or -1 for all)";
    if (err == LIBBPF_ERRNO__FORMAT || err == LIBBPF_ERRNO__LIBELF)
        return "'" + binary + "' is not an ELF executable or shared library";
    if (usdt && (err == ESRCH || err == ENOENT))
        return "no such USDT probe in '" + binary + "' (list them with: readelf -n)";
    return std::nullopt;
}

LIBBPFCPP_INLINE Link& Prog::attach_usdt(pid_t pid, const std::string& binary, const std::string& provider,
                                         const std::string& probe, std::uint64_t cookie) {
    const detail::QuietLog quiet;
    std::string what = "usdt " + binary + ":" + provider + ":" + probe;
    // A bare name ("libfoo.so", "tool") is resolved by libbpf through LD_LIBRARY_PATH
    // and the library directories, or PATH; only a path can be checked here.
    const bool bare = binary.find('/') == std::string::npos;
    if (!bare && access(binary.c_str(), R_OK) != 0)
        attach_failed(errno, what + ": cannot read '" + binary + "'");
    LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = cookie);
    bpf_link* l = bpf_program__attach_usdt(prog_, pid, binary.c_str(), provider.c_str(), probe.c_str(), &opts);
    int err = errno;
    if (l == nullptr && fd() >= 0) {
        if (bare && err == ENOENT)
            attach_failed(ENOENT, what + ": '" + binary + "' was not found in LD_LIBRARY_PATH, "
                          "the library directories or PATH, or it has no such "
                          "USDT probe (list them with: readelf -n)");
        if (auto why = user_target_cause(err, pid, binary, true))
            attach_failed(err == ESRCH || err == ENOENT ? err : EINVAL, what + ": " + *why);
    }
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe_multi(pid_t pid, const std::string& binary,
                                                 const std::string& pattern, bool retprobe) {
    const detail::QuietLog quiet;
    std::string what = "uprobe_multi " + binary + ":" + pattern;
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .retprobe = retprobe);
    bpf_link* l = bpf_program__attach_uprobe_multi(prog_, pid, binary.c_str(), pattern.c_str(), &opts);
    int err = errno;
    return keep(l, err, what);
#else
    (void)pid;
    (void)retprobe;
    uprobe_multi_unavailable(what, "function");
#endif
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe_multi(pid_t pid, const std::string& binary,
                                                 std::span<const std::uint64_t> offsets,
                                                 std::span<const std::uint64_t> cookies, bool retprobe) {
    const detail::QuietLog quiet;
    std::string what = "uprobe_multi " + binary + " at " + std::to_string(offsets.size()) + " offsets";
    if (!cookies.empty() && cookies.size() != offsets.size())
        attach_failed(EINVAL, what + ": " + std::to_string(cookies.size()) +
                      " cookies for " + std::to_string(offsets.size()) + " offsets");
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    // libbpf takes unsigned long offsets and __u64 (unsigned long long) cookies.
    std::vector<unsigned long> offs(offsets.begin(), offsets.end());
    const std::vector<__u64> cooks(cookies.begin(), cookies.end());  // __u64 is not std::uint64_t's type
    LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .offsets = offs.data(),
                .cookies = cooks.empty() ? nullptr : cooks.data(), .cnt = offs.size(), .retprobe = retprobe);
    bpf_link* l = bpf_program__attach_uprobe_multi(prog_, pid, binary.c_str(), nullptr, &opts);
    int err = errno;
    return keep(l, err, what);
#else
    (void)pid;
    (void)retprobe;
    uprobe_multi_unavailable(what, "offset");
#endif
}

LIBBPFCPP_INLINE void Prog::uprobe_multi_unavailable(const std::string& what, std::string_view unit) const {
    attach_failed(EOPNOTSUPP, what + ": uprobe_multi needs libbpf >= 1.3, this program was built "
                  "with libbpf " + bpf::libbpf_compiled_version() + "; attach one uprobe per " +
                  std::string(unit) + " with attach_uprobe()",
                  detail::missing_libbpf("uprobe_multi", 1, 3));
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe(pid_t pid, const std::string& binary, const std::string& symbol) {
    return uprobe(pid, binary, symbol, 0, {}, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe(pid_t pid, const std::string& binary, std::uint64_t offset) {
    return uprobe(pid, binary, {}, offset, {}, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_uretprobe(pid_t pid, const std::string& binary, const std::string& symbol) {
    return uprobe(pid, binary, symbol, 0, {}, true);
}

LIBBPFCPP_INLINE Link& Prog::attach_uretprobe(pid_t pid, const std::string& binary, std::uint64_t offset) {
    return uprobe(pid, binary, {}, offset, {}, true);
}

LIBBPFCPP_INLINE Link& Prog::attach_usdt(pid_t pid, const std::string& binary, const std::string& provider,
                                         const std::string& probe, const UsdtOptions& o) {
    return attach_usdt(pid, binary, provider, probe, o.cookie);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe_multi(pid_t pid, const std::string& binary, const std::string& pattern,
                                                 const UprobeMultiOptions& o) {
    return attach_uprobe_multi(pid, binary, pattern, o.retprobe);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe_multi(pid_t pid, const std::string& binary,
                                                 std::span<const std::uint64_t> offsets,
                                                 std::span<const std::uint64_t> cookies, const UprobeMultiOptions& o) {
    return attach_uprobe_multi(pid, binary, offsets, cookies, o.retprobe);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
