// Feature probes: which program types, map types and helpers this kernel supports, and
// small kernel-object look-ups (libbpfgo's BPFProgramTypeIsSupported & co).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstdint>
#include <string>

#include <linux/bpf.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/fd.hpp"
#include "error.hpp"

namespace bpf {

/// True when the kernel can load programs of type `t` (loads a trivial one).
///
/// ```cpp
/// if (!bpf::prog_type_supported(BPF_PROG_TYPE_LSM)) use_fallback();
/// ```
inline bool prog_type_supported(bpf_prog_type t) {
    int ret = libbpf_probe_bpf_prog_type(t, nullptr);
    if (ret < 0) detail::throw_errno(-ret, "probing program type", libbpf_bpf_prog_type_str(t) ? libbpf_bpf_prog_type_str(t) : "?");
    return ret == 1;
}

/// True when the kernel can create maps of type `t`.
inline bool map_type_supported(bpf_map_type t) {
    int ret = libbpf_probe_bpf_map_type(t, nullptr);
    if (ret < 0) detail::throw_errno(-ret, "probing map type", libbpf_bpf_map_type_str(t) ? libbpf_bpf_map_type_str(t) : "?");
    return ret == 1;
}

namespace detail {

/// Loads "call helper; r0 = 0; exit" and reads the verifier's verdict on the call.
/// libbpf 1.1 only recognises the messages of older kernels; newer ones say "program of
/// this type cannot use helper", which it reports as supported.
inline bool verifier_refuses_helper(bpf_prog_type t, bpf_func_id helper) {
    const bpf_insn insns[] = {
        {BPF_JMP | BPF_CALL, 0, 0, 0, static_cast<std::int32_t>(helper)},
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    std::string log(64 * 1024, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = static_cast<std::uint32_t>(log.size()),
                .log_buf = log.data());
    int fd = bpf_prog_load(t, nullptr, "GPL", insns, 3, &opts);
    if (fd >= 0) {
        ::close(fd);
        return false;
    }
    return log.find("unknown func") != std::string::npos || log.find("invalid func") != std::string::npos ||
           log.find("cannot use helper") != std::string::npos;
}

/// Program types that load without attach data, so verifier_refuses_helper() can try them.
inline bool loads_without_attach_data(bpf_prog_type t) noexcept {
    switch (t) {
        case BPF_PROG_TYPE_SOCKET_FILTER:
        case BPF_PROG_TYPE_KPROBE:
        case BPF_PROG_TYPE_SCHED_CLS:
        case BPF_PROG_TYPE_SCHED_ACT:
        case BPF_PROG_TYPE_TRACEPOINT:
        case BPF_PROG_TYPE_XDP:
        case BPF_PROG_TYPE_PERF_EVENT:
        case BPF_PROG_TYPE_CGROUP_SKB:
        case BPF_PROG_TYPE_CGROUP_SOCK:
        case BPF_PROG_TYPE_LWT_IN:
        case BPF_PROG_TYPE_LWT_OUT:
        case BPF_PROG_TYPE_LWT_XMIT:
        case BPF_PROG_TYPE_SOCK_OPS:
        case BPF_PROG_TYPE_SK_SKB:
        case BPF_PROG_TYPE_CGROUP_DEVICE:
        case BPF_PROG_TYPE_SK_MSG:
        case BPF_PROG_TYPE_RAW_TRACEPOINT:
        case BPF_PROG_TYPE_CGROUP_SYSCTL:
        case BPF_PROG_TYPE_FLOW_DISSECTOR:
            return true;
        default:
            return false;
    }
}

}  // namespace detail

/// True when programs of type `t` may call helper `helper` (e.g. BPF_FUNC_ringbuf_output).
///
/// ```cpp
/// bool ok = bpf::helper_supported(BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup);
/// ```
inline bool helper_supported(bpf_prog_type t, bpf_func_id helper) {
    int ret = libbpf_probe_bpf_helper(t, helper, nullptr);
    if (ret < 0)
        detail::throw_errno(-ret, "probing helper " + std::to_string(helper) + " for program type",
                            libbpf_bpf_prog_type_str(t) ? libbpf_bpf_prog_type_str(t) : "?");
    if (ret == 1 && detail::loads_without_attach_data(t)) return !detail::verifier_refuses_helper(t, helper);
    return ret == 1;
}

/// An fd of the BTF object with kernel id `id` (e.g. MapInfo::btf_id); closed with the
/// returned owner (libbpfgo's GetBTFFDByID).
inline OwnedFd btf_fd_by_id(std::uint32_t id) {
    int fd = bpf_btf_get_fd_by_id(id);
    if (fd < 0)
        detail::throw_errno(errno, "opening BTF id", std::to_string(id),
                            errno == ENOENT ? "no BTF object with this id" : detail::explain_errno(errno));
    return OwnedFd(fd);
}

}  // namespace bpf
