// Tracepoints and raw tracepoints: programs on the kernel's static trace events.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <string>

#include <bpf/libbpf.h>

#include "error.hpp"
#include "log.hpp"
#include "prog.hpp"

namespace bpf {

// Prog::attach_tracepoint and Prog::attach_raw_tracepoint are defined below.

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_tracepoint(const std::string& category, const std::string& name) {
    const detail::QuietLog quiet;
    const std::string what = detail::cat({"tracepoint ", category, ":", name});
    if (detail::tracefs_root() == nullptr) attach_failed(ENOENT, detail::cat({what, ": ", detail::tracefs_hint}));
    bpf_link* l = bpf_program__attach_tracepoint(prog_, category.c_str(), name.c_str());
    int err = errno;
    if (l == nullptr && err == ENOENT && fd() >= 0)
        attach_failed(ENOENT, detail::cat({what, " does not exist in this kernel (see ", detail::tracefs_root(), "/events/)"}));
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::attach_raw_tracepoint(const std::string& name) {
    const detail::QuietLog quiet;
    bpf_link* l = bpf_program__attach_raw_tracepoint(prog_, name.c_str());
    int err = errno;
    return keep(l, err, "raw tracepoint " + name);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
