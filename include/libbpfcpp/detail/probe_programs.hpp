// The minimal programs and links that feature probes are made of: a kernel feature is
// decided by loading and attaching the smallest program that uses it, never by its
// release number. fallback.hpp's attach plans and the test suite's feature table
// (tests/harness/features.cpp) probe with these same pieces.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <linux/bpf.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace bpf::detail {

/// Loads "r0 = value; exit" as a program of `type` expecting `attach`: the fd, or -errno.
inline int tiny_prog(bpf_prog_type type, bpf_attach_type attach, int value, std::uint32_t attach_btf_id = 0) {
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, value},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach, .attach_btf_id = attach_btf_id);
    const int fd = bpf_prog_load(type, "probe", "GPL", insns, 2, &opts);
    return fd >= 0 ? fd : -errno;
}

/// Empty when a tiny program of `type` (returning `value`) loads and a link of `attach`
/// to `target` is made with it (and dropped at once); else which step failed and errno.
/// `what` names the feature in that message ("tcx").
inline std::string tiny_link_refusal(const std::string& what, bpf_prog_type type, bpf_attach_type attach,
                                     int target, int value, const bpf_link_create_opts* opts = nullptr) {
    const int prog = tiny_prog(type, attach, value);
    if (prog < 0) return "loading a " + what + " program: " + std::strerror(-prog) + " (errno " + std::to_string(-prog) + ")";
    const int link = bpf_link_create(prog, target, attach, opts);
    const int err = errno;
    ::close(prog);
    if (link < 0) return "creating a " + what + " link: " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
    ::close(link);
    return {};
}

/// Empty when a tiny tracing program expecting `attach` on the kernel BTF id `btf_id`
/// (fentry, fexit, tp_btf) loads and attaches; else `refused_load` or `refused_attach`
/// with errno's text. A program-type probe is not enough: kernels are seen that allow
/// some tracing attach types and refuse others.
inline std::string tracing_refusal(bpf_attach_type attach, std::uint32_t btf_id, const std::string& refused_load,
                                   const std::string& refused_attach) {
    const int prog = tiny_prog(BPF_PROG_TYPE_TRACING, attach, 0, btf_id);
    if (prog < 0) return refused_load + ": " + std::strerror(-prog);
    const int link = bpf_raw_tracepoint_open(nullptr, prog);
    const int err = errno;
    ::close(prog);
    if (link < 0) return refused_attach + ": " + std::strerror(err);
    ::close(link);
    return {};
}

}  // namespace bpf::detail
