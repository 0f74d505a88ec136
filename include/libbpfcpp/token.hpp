// BPF tokens: BPF from inside a user namespace (a container) through the delegation of a
// bpffs mount (kernel >= 6.9; tokens in libbpf >= 1.4).
//
// Both sides of the delegation are here: the container's process opens a bpffs context
// (bpffs_context()) and hands it to a privileged process, which sets what is delegated
// and creates the mount (delegate_bpffs()); the container mounts it (mount_bpffs()) and
// loads with OpenOptions::bpf_token_path, or makes a Token for standalone maps. The
// privileged side is public API because the three steps only work in this split, which
// a container manager or an agent's launcher has to reproduce exactly.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "detail/fd.hpp"
#include "detail/needs_libbpf.hpp"
#include "version.hpp"
#include "detail/token_checks.hpp"
#include "error.hpp"

namespace bpf {

/// What a bpffs mount delegates to the user namespace it was created for, in the syntax
/// of its mount options: enumerator names without their prefix joined by ':' (case does
/// not matter), "any", or empty for nothing.
///
/// ```cpp
/// bpf::TokenDelegation d;
/// d.cmds = "map_create:prog_load:btf_load";   // enum bpf_cmd:         BPF_MAP_CREATE, ...
/// d.maps = "array:ringbuf";                   // enum bpf_map_type:    BPF_MAP_TYPE_ARRAY, ...
/// d.progs = "xdp:socket_filter";              // enum bpf_prog_type:   BPF_PROG_TYPE_XDP, ...
/// d.attachs = "xdp:cgroup_inet_ingress";      // enum bpf_attach_type: BPF_XDP, ... (each program
///                                             // needs its expected attach type delegated too)
/// ```
struct TokenDelegation {
    std::string cmds;     ///< delegate_cmds: the bpf() commands
    std::string maps;     ///< delegate_maps: the map types
    std::string progs;    ///< delegate_progs: the program types
    std::string attachs;  ///< delegate_attachs: the attach types

    /// Everything.
    static TokenDelegation any() { return {"any", "any", "any", "any"}; }
};

namespace detail {

inline constexpr unsigned fsopen_cloexec = 0x1;         // FSOPEN_CLOEXEC
inline constexpr unsigned fsconfig_set_string = 1;      // FSCONFIG_SET_STRING
inline constexpr unsigned fsconfig_cmd_create = 6;      // FSCONFIG_CMD_CREATE
inline constexpr unsigned fsmount_cloexec = 0x1;        // FSMOUNT_CLOEXEC
inline constexpr unsigned move_mount_f_empty_path = 0x4;  // MOVE_MOUNT_F_EMPTY_PATH

/// Where /proc/self/fd/FD points ("pipe:[123]", "anon_inode:[fscontext]"), or empty when
/// /proc cannot tell.
inline std::string fd_target(int fd) {
    char target[64] = {};
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

inline constexpr std::string_view fs_context_target = "anon_inode:[fscontext]";

/// What `fd` is when it is not a filesystem context (fsopen()), for the message ("a pipe",
/// "a regular file", ...); empty when it is one, or when /proc cannot tell (the kernel's
/// fsconfig() then answers for it). Decided from the descriptor, never from its contents:
/// a pipe would block a read, and a file's bytes are not ours to show.
inline std::string not_fs_context(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return "not an open file descriptor";
    switch (st.st_mode & S_IFMT) {
    case S_IFIFO: return "a pipe";
    case S_IFSOCK: return "a socket";
    case S_IFDIR: return "a directory";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFLNK: return "a symbolic link";
    default: break;
    }
    const std::string what = fd_target(fd);
    if (what.empty()) return S_ISREG(st.st_mode) ? "a regular file" : "";
    if (what == fs_context_target) return {};
    if (what.rfind("anon_inode:", 0) == 0) return "an anonymous inode (" + what.substr(11) + ")";
    return S_ISREG(st.st_mode) ? "a regular file" : "another kind of file";
}

/// The kernel's messages about the filesystem context `context_fd` ("e bpf: ..."),
/// joined; they say which option it refused. Empty for an fd that is not known to be a
/// context: only the kernel's messages are read, never a user's data.
inline std::string fs_context_messages(int context_fd) {
    std::string out;
    if (fd_target(context_fd) != fs_context_target) return out;
    char buf[512];
    for (int i = 0; i < 8; ++i) {
        const ssize_t n = read(context_fd, buf, sizeof buf);
        if (n <= 0) break;
        std::string msg(buf, static_cast<std::size_t>(n));
        if (msg.size() > 2 && msg[1] == ' ') msg.erase(0, 2);
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        out += (out.empty() ? "" : "; ") + msg;
    }
    return out;
}

}  // namespace detail

/// Step 1, inside the user namespace that is to use BPF: a new bpffs context
/// (fsopen("bpf")) that belongs to this process's user namespace. Hand it to the
/// privileged side (over a unix socket, SCM_RIGHTS) for delegate_bpffs().
inline OwnedFd bpffs_context() {
    const long fd = syscall(SYS_fsopen, "bpf", detail::fsopen_cloexec);
    if (fd < 0) {
        const int err = errno;
        detail::throw_errno(err, "opening a bpffs context", "",
                            err == EPERM ? "needs CAP_SYS_ADMIN in the user namespace that owns this process's "
                                           "mount namespace (unshare the user and the mount namespace together)"
                            : err == ENOSYS || err == ENODEV ? "this kernel has no fsopen() (Linux >= 5.2) or no bpffs"
                                                             : detail::explain_errno(err));
    }
    return OwnedFd(static_cast<int>(fd));
}

/// Step 2, in a process with CAP_SYS_ADMIN in the initial user namespace: sets `what` on
/// `context_fd` (from bpffs_context() in the user namespace), creates the filesystem and
/// returns its mount, not yet attached anywhere (fsmount()); hand it back for
/// mount_bpffs(). A context opened outside the user namespace gives a bpffs that no
/// process inside can make a token from.
inline OwnedFd delegate_bpffs(int context_fd, const TokenDelegation& what) {
    if (const std::string kind = detail::not_fs_context(context_fd); !kind.empty())
        throw Error(EINVAL, detail::describe("delegating a bpffs", "fd " + std::to_string(context_fd),
                                             "it is " + kind + ", not a filesystem context; pass the fd "
                                             "bpf::bpffs_context() (fsopen(\"bpf\")) returned"));
    const std::pair<const char*, const std::string*> options[] = {
        {"delegate_cmds", &what.cmds}, {"delegate_maps", &what.maps},
        {"delegate_progs", &what.progs}, {"delegate_attachs", &what.attachs}};
    for (const auto& [key, value] : options) {
        if (value->empty()) continue;
        if (syscall(SYS_fsconfig, context_fd, detail::fsconfig_set_string, key, value->c_str(), 0) == 0) continue;
        const int err = errno;
        const std::string said = detail::fs_context_messages(context_fd);
        std::string why = err == EPERM ? "only a process with CAP_SYS_ADMIN in the initial user namespace may set "
                                         "delegation options"
                          : err == EINVAL ? "the kernel refused '" + *value + "' (a name it does not know, or a "
                                            "context of a filesystem other than bpffs)"
                                          : detail::explain_errno(err);
        if (!said.empty()) why += " (" + said + ")";
        throw Error(err, detail::describe("setting bpffs option", std::string(key) + "=" + *value, why));
    }
    if (syscall(SYS_fsconfig, context_fd, detail::fsconfig_cmd_create, nullptr, nullptr, 0) != 0) {
        const int err = errno;
        const std::string said = detail::fs_context_messages(context_fd);
        std::string why = err == EPERM ? "this kernel (" + detail::kernel_release_text() +
                                             ") does not create a bpffs for another user namespace (Linux >= 6.9), or "
                                             "the caller lacks CAP_SYS_ADMIN"
                                       : detail::explain_errno(err);
        if (!said.empty()) why += " (" + said + ")";
        throw Error(err, detail::describe("creating the delegated bpffs", "", why));
    }
    const long mnt = syscall(SYS_fsmount, context_fd, detail::fsmount_cloexec, 0);
    if (mnt < 0) detail::throw_errno(errno, "mounting the delegated bpffs", "");
    return OwnedFd(static_cast<int>(mnt));
}

/// Step 3, inside the user namespace again: attaches the mount from delegate_bpffs() at
/// the directory `dir` of this process's mount namespace (move_mount()), e.g. /sys/fs/bpf,
/// where libbpf >= 1.4 looks for a token by default.
inline void mount_bpffs(int mount_fd, const std::string& dir) {
    if (syscall(SYS_move_mount, mount_fd, "", AT_FDCWD, dir.c_str(), detail::move_mount_f_empty_path) != 0) {
        const int err = errno;
        detail::throw_errno(err, "mounting the delegated bpffs on", dir,
                            err == EPERM ? "needs CAP_SYS_ADMIN in the user namespace owning this mount namespace"
                            : err == ENOENT ? "no such directory"
                                            : detail::explain_errno(err));
    }
}

/// A BPF token: the rights a delegating bpffs grants, for bpf() calls of a process in
/// that bpffs's user namespace (kernel >= 6.9, libbpf >= 1.4). Move-only; owns its fd.
/// Modules make their own from OpenOptions::bpf_token_path; a Token is for calls made
/// outside one (MapCreateOptions::token_fd).
///
/// ```cpp
/// auto token = bpf::Token::create("/sys/fs/bpf");      // delegated by the container's host
/// bpf::MapCreateOptions o;
/// o.token_fd = token.fd();
/// auto m = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "cfg", 4, 8, 1, o);
/// ```
class Token {
public:
    /// A token from the bpffs mounted at `bpffs_path` (bpf_token_create()).
    static Token create(const std::string& bpffs_path) {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
        const int dir = open(bpffs_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) {
            const int err = errno;
            detail::throw_errno(err, "creating a BPF token from", bpffs_path,
                                err == ENOENT ? "no such directory" : detail::token_create_cause(bpffs_path, err));
        }
        const detail::Fd d(dir);
        return from_dir(dir, bpffs_path);
#else
        needs_libbpf_1_4(bpffs_path);
#endif
    }

    /// A token from `bpffs_fd`: an open directory that is a bpffs's root, or the mount
    /// delegate_bpffs() returned (the caller keeps its descriptor).
    static Token create(int bpffs_fd) {
        const std::string label = "/proc/self/fd/" + std::to_string(bpffs_fd);
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
        // A mount from fsmount() is an O_PATH descriptor, which bpf() does not take.
        const int dir = openat(bpffs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) detail::throw_errno(errno, "creating a BPF token from", label);
        const detail::Fd d(dir);
        return from_dir(dir, label);
#else
        needs_libbpf_1_4(label);
#endif
    }

    /// The token's fd, owned by this object.
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// Gives up ownership of the fd.
    [[nodiscard]] int release() noexcept { return fd_.release(); }

private:
    explicit Token(detail::Fd fd) noexcept : fd_(std::move(fd)) {}

#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
    static Token from_dir(int dir, const std::string& label) {
        const int fd = bpf_token_create(dir, nullptr);
        if (fd < 0) {
            const int err = detail::positive_errno(fd);
            throw Error(err, detail::describe("creating a BPF token from", label, detail::token_create_cause(label, err)));
        }
        return Token(detail::Fd(fd));
    }
#else
    [[noreturn]] static void needs_libbpf_1_4(std::string_view label) {
        detail::libbpf_too_old("creating a BPF token from", label, "BPF tokens", "BPF tokens", 1, 4,
                               "run the loader with the capabilities BPF needs instead");
    }
#endif

    detail::Fd fd_;
};

}  // namespace bpf
