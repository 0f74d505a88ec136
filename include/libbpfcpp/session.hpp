// uprobe sessions (libbpf 1.6, Linux 6.13): one program of SEC("uprobe.session") runs at
// a function's entry and at its return, the two runs sharing an 8-byte session cookie
// (bpf_session_cookie()); a non-zero return at entry skips the return run. fsession
// programs (libbpf 1.7) are the same pairing on a kernel function's BPF trampoline.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <sys/types.h>

#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

#include "detail/needs_libbpf.hpp"
#include "error.hpp"
#include "link.hpp"
#include "log.hpp"
#include "module.hpp"
#include "prog.hpp"
#include "version.hpp"

namespace bpf {

/// Where a uprobe session attaches: functions of `binary` by name (`symbols`, each with
/// its attach cookie when `cookies` is not empty) or by file offset (`offsets`), in
/// process `pid` (-1: every process). One uprobe_multi link holds them all.
///
/// ```cpp
/// bpf::UprobeSessionOptions o;
/// o.binary = "/usr/bin/bash";
/// o.symbols = {"readline"};
/// bpf::attach_uprobe_session(mod.program("on_readline"), o);
/// ```
struct UprobeSessionOptions {
    std::string binary;                  ///< the executable or library
    std::vector<std::string> symbols;    ///< function names, or
    std::vector<std::uint64_t> offsets;  ///< file offsets (not both)
    std::vector<std::uint64_t> cookies;  ///< one per symbol or offset, or empty
    pid_t pid = -1;                      ///< -1: every process
};

/// Attaches a SEC("uprobe.session") program (bpf_program__attach_uprobe_multi with
/// `session`); the Module owns the link. Throws naming libbpf 1.6 on an older libbpf and
/// Linux 6.13 where the kernel refuses a session.
inline Link& attach_uprobe_session(Prog prog, const UprobeSessionOptions& o) {
    const std::string what = "uprobe session " + o.binary;
    const std::size_t n = o.symbols.empty() ? o.offsets.size() : o.symbols.size();
    auto refuse = [&](int err, const std::string& cause) {
        throw Error(err, detail::describe("attaching program", std::string(prog.name()), what + ": " + cause));
    };
    if (o.symbols.empty() == o.offsets.empty())
        refuse(EINVAL, "give the functions by symbols or by offsets (one of the two)");
    if (!o.cookies.empty() && o.cookies.size() != n)
        refuse(EINVAL, std::to_string(o.cookies.size()) + " cookies for " + std::to_string(n) + " functions");
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 6)
    detail::LogCapture capture(detail::LogCapture::UnlessThrown);
    std::vector<const char*> syms;
    for (const auto& s : o.symbols) syms.push_back(s.c_str());
    const std::vector<unsigned long> offs(o.offsets.begin(), o.offsets.end());
    const std::vector<__u64> cooks(o.cookies.begin(), o.cookies.end());  // __u64 is not std::uint64_t's type
    LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .syms = syms.empty() ? nullptr : syms.data(),
                .offsets = offs.empty() ? nullptr : offs.data(), .cookies = cooks.empty() ? nullptr : cooks.data(),
                .cnt = n, .session = true);
    bpf_link* l = bpf_program__attach_uprobe_multi(prog.get(), o.pid, o.binary.c_str(), nullptr, &opts);
    if (l == nullptr) {
        const int err = errno;
        std::string why = detail::libbpf_warnings(capture.text());
        if (err == EINVAL || err == EOPNOTSUPP)
            why += std::string(why.empty() ? "" : "; ") +
                   "uprobe sessions need Linux >= 6.13 and a program of SEC(\"uprobe.session\")";
        refuse(err, why.empty() ? detail::explain_errno(err) : why);
    }
    return prog.adopt(l, what);
#else
    detail::libbpf_too_old("attaching program", std::string(prog.name()),
                           "bpf::attach_uprobe_session (uprobe.session)", "uprobe sessions", 1, 6,
                           "attach a uprobe and a uretprobe instead");
#endif
}

/// Attaches a SEC("fsession/FUNCTION") program (libbpf 1.7): one BPF trampoline runs it
/// at the kernel function's entry and at its return, the two runs sharing the session
/// cookie (bpf_session_cookie(ctx), bpf_session_is_return(ctx)). The Module owns the
/// link. Throws naming libbpf 1.7 on an older libbpf; a kernel without
/// BPF_TRACE_FSESSION refuses the program at load.
inline Link& attach_fsession(Prog prog) {
    const std::string name(prog.name());
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 7)
    if (bpf_program__expected_attach_type(prog.get()) != BPF_TRACE_FSESSION)
        throw Error(EINVAL, detail::describe("attaching program", name,
                                             "not an fsession program (SEC(\"fsession/FUNCTION\"))"));
    if (prog.fd() < 0)
        throw Error(EINVAL, detail::describe("attaching program", name,
                                             "the object is not loaded; call Module::load() first"));
    detail::LogCapture capture(detail::LogCapture::UnlessThrown);
    bpf_link* l = bpf_program__attach_trace(prog.get());
    if (l == nullptr) {
        const int err = errno;
        const std::string why = detail::libbpf_warnings(capture.text());
        throw Error(err, detail::describe("attaching program", name,
                                          "fsession: " + (why.empty() ? detail::explain_errno(err) : why)));
    }
    return prog.adopt(l, "fsession");
#else
    detail::libbpf_too_old("attaching program", name, "bpf::attach_fsession (fsession)", "fsession programs", 1, 7,
                           "attach an fentry and an fexit program instead");
#endif
}

}  // namespace bpf
