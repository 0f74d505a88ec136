// BPF trampolines: fentry/fexit/fmod_ret/tp_btf and LSM programs, attached by BTF id.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cstdint>

#include <bpf/libbpf.h>

#include "log.hpp"
#include "prog.hpp"

namespace bpf {

// Prog::attach_trace and Prog::attach_lsm are defined below.

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_lsm() {
    const detail::QuietLog quiet;
    bpf_link* l = bpf_program__attach_lsm(prog_);
    int err = errno;
    return keep(l, err, "lsm " + std::string(section()));
}

LIBBPFCPP_INLINE Link& Prog::attach_trace(std::uint64_t cookie) {
    const detail::QuietLog quiet;
    LIBBPF_OPTS(bpf_trace_opts, opts, .cookie = cookie);
    bpf_link* l = bpf_program__attach_trace_opts(prog_, &opts);
    int err = errno;
    return keep(l, err, "trace " + std::string(section()));
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
