// cgroup, network namespace and generic-fd (e.g. sockmap) attachment, by link or BPF_PROG_ATTACH.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstdint>
#include <string>

#include <fcntl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.hpp"
#include "legacy_attachment.hpp"
#include "log.hpp"
#include "prog.hpp"

namespace bpf {

/// Flags of the program-attach API (cgroup legacy attach, attach_generic_fd).
///
/// ```cpp
/// mod.program("egress").attach_cgroup_legacy("/sys/fs/cgroup/app", BPF_CGROUP_INET_EGRESS,
///                                           bpf::AttachFlag::AllowMulti);
/// ```
enum class AttachFlag : std::uint32_t {
    None = 0,
    AllowOverride = BPF_F_ALLOW_OVERRIDE,  ///< a descendant cgroup may override this program
    AllowMulti = BPF_F_ALLOW_MULTI,        ///< several programs at this hook, all run
    Replace = BPF_F_REPLACE,               ///< replace the program given in the options
};
constexpr AttachFlag operator|(AttachFlag a, AttachFlag b) noexcept {
    return static_cast<AttachFlag>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_cgroup(const std::string& path) {
    const detail::QuietLog quiet;
    detail::Fd cg = open_path(path, O_RDONLY | O_DIRECTORY, "cgroup");
    bpf_link* l = bpf_program__attach_cgroup(prog_, cg.get());
    int err = errno;
    return keep(l, err, "cgroup " + path);
}

LIBBPFCPP_INLINE LegacyAttachment& Prog::attach_cgroup_legacy(const std::string& path, bpf_attach_type type,
        AttachFlag flags) {
    const std::string what = "cgroup (legacy) " + path;
    require_fd(what);
    detail::Fd cg = open_path(path, O_RDONLY | O_DIRECTORY, "cgroup");
    if (bpf_prog_attach(fd(), cg.get(), type, static_cast<std::uint32_t>(flags)) != 0)
        attach_failed(errno, what + ": " + detail::explain_errno(errno));
    const int prog_fd = fd();
    return keep_legacy(what, [path, prog_fd, type] {
        int cgfd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0) return -errno;
        int ret = bpf_prog_detach2(prog_fd, cgfd, type);
        int err = errno;
        ::close(cgfd);
        return ret == 0 ? 0 : -err;
    });
}

LIBBPFCPP_INLINE void Prog::detach_cgroup_legacy(const std::string& path, bpf_attach_type type) {
    detail::Fd cg = open_path(path, O_RDONLY | O_DIRECTORY, "cgroup");
    if (bpf_prog_detach2(fd(), cg.get(), type) != 0)
        detail::throw_errno(errno, "detaching program", name(), "from cgroup " + path + ": " +
                                                                    detail::explain_errno(errno));
}

LIBBPFCPP_INLINE Link& Prog::attach_netns(const std::string& path) {
    const detail::QuietLog quiet;
    detail::Fd ns = open_path(path, O_RDONLY, "network namespace");
    bpf_link* l = bpf_program__attach_netns(prog_, ns.get());
    int err = errno;
    return keep(l, err, "netns " + path);
}

LIBBPFCPP_INLINE void Prog::attach_generic_fd(int target_fd, bpf_attach_type type, AttachFlag flags) {
    require_fd("attaching to fd " + std::to_string(target_fd));
    if (bpf_prog_attach(fd(), target_fd, type, static_cast<std::uint32_t>(flags)) != 0)
        detail::throw_errno(errno, "attaching program", name(),
                            "to fd " + std::to_string(target_fd) + ": " + detail::explain_errno(errno));
}

LIBBPFCPP_INLINE void Prog::detach_generic_fd(int target_fd, bpf_attach_type type) {
    if (bpf_prog_detach2(fd(), target_fd, type) != 0)
        detail::throw_errno(errno, "detaching program", name(),
                            "from fd " + std::to_string(target_fd) + ": " + detail::explain_errno(errno));
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
