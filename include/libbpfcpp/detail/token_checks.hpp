// What a refused BPF token, or a refused load inside a user namespace, means: the
// checks behind the messages of Token::create(), Module::load() and StandaloneMap::create().
// The kernel answers with bare errnos (EINVAL for "not a bpffs" and for "no such command"
// alike); these tell the cases apart by looking at the path and the mount table.
#pragma once

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <sys/stat.h>
#include <sys/utsname.h>

#include "../error.hpp"

namespace bpf::detail {

/// True when this process is in a user namespace other than the initial one (the
/// initial one maps every uid onto itself: "0 0 4294967295").
inline bool in_user_namespace() {
    std::ifstream f("/proc/self/uid_map");
    if (!f) return false;
    unsigned long long inside = 0, outside = 0, count = 0;
    if (!(f >> inside >> outside >> count)) return false;
    std::string more;
    return !(inside == 0 && outside == 0 && count == 4294967295ULL && !(f >> more));
}

inline constexpr std::string_view delegation_hint =
    "a process with CAP_SYS_ADMIN in the initial user namespace must create that bpffs for this "
    "user namespace with the options delegate_cmds, delegate_maps, delegate_progs and "
    "delegate_attachs (bpf::delegate_bpffs() in <libbpfcpp/token.hpp>; the bpffs context must "
    "be opened from inside this namespace)";

/// The kernel's release, e.g. "6.1.0-27-cloud-amd64".
inline std::string kernel_release_text() {
    utsname u{};
    if (uname(&u) != 0) return "unknown";
    return u.release;
}

/// True when `path` is where a filesystem is mounted (its parent is on another device).
inline bool is_mount_point(const std::string& path) {
    struct stat self {}, parent {};
    if (stat(path.c_str(), &self) != 0 || stat((path + "/..").c_str(), &parent) != 0) return false;
    return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

/// The delegation options of the bpffs mounted at `path`, as /proc/self/mountinfo shows
/// them (kernel >= 6.9): each "" when not set, "any", names joined by ':' or a hex mask.
struct MountDelegation {
    bool found = false;  // a bpffs is mounted exactly there
    std::string cmds, maps, progs, attachs;
    [[nodiscard]] bool any_set() const { return !cmds.empty() || !maps.empty() || !progs.empty() || !attachs.empty(); }
};

/// mountinfo escapes space, tab, newline and backslash as octal.
inline std::string mountinfo_unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            const std::string oct(s.substr(i + 1, 3));
            char* end = nullptr;
            const long v = std::strtol(oct.c_str(), &end, 8);
            if (end == oct.c_str() + 3) {
                out += static_cast<char>(v);
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

inline MountDelegation mount_delegation(const std::string& path) {
    MountDelegation d;
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) == nullptr) return d;
    std::ifstream f("/proc/self/mountinfo");
    std::string line;
    while (std::getline(f, line)) {
        // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
        std::istringstream in(line);
        std::string id, parent, dev, root, point;
        in >> id >> parent >> dev >> root >> point;
        if (mountinfo_unescape(point) != resolved) continue;
        const auto sep = line.find(" - ");
        if (sep == std::string::npos) continue;
        std::istringstream tail(line.substr(sep + 3));
        std::string fstype, source, super;
        tail >> fstype >> source >> super;
        MountDelegation now;  // the last mount on a mount point is the visible one
        now.found = fstype == "bpf";
        std::istringstream opts(super);
        std::string opt;
        while (std::getline(opts, opt, ',')) {
            const auto eq = opt.find('=');
            if (eq == std::string::npos) continue;
            const std::string key = opt.substr(0, eq), value = opt.substr(eq + 1);
            if (key == "delegate_cmds") now.cmds = value;
            else if (key == "delegate_maps") now.maps = value;
            else if (key == "delegate_progs") now.progs = value;
            else if (key == "delegate_attachs") now.attachs = value;
        }
        d = now;
    }
    return d;
}

/// Whether the delegation list `list` ("any", "a:b:c" or "0x..." as the kernel prints it)
/// holds `name`, the enumerator numbered `value`.
inline bool delegates(std::string_view list, std::string_view name, unsigned value) {
    if (list == "any") return true;
    if (list.rfind("0x", 0) == 0) {
        const std::uint64_t mask = std::strtoull(std::string(list).c_str(), nullptr, 16);
        return value < 64 && ((mask >> value) & 1U) != 0;
    }
    std::size_t start = 0;
    while (start <= list.size()) {
        const auto colon = list.find(':', start);
        std::string_view item = list.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
        if (item.size() == name.size()) {
            bool same = true;
            for (std::size_t i = 0; i < item.size() && same; ++i)
                same = (item[i] | 0x20) == (name[i] | 0x20);
            if (same) return true;
        }
        if (colon == std::string_view::npos) break;
        start = colon + 1;
    }
    return false;
}

/// Why BPF_TOKEN_CREATE refused the bpffs at `path` with `err`, and what to do.
inline std::string token_create_cause(const std::string& path, int err) {
    const std::string where = "'" + path + "'";
    switch (err) {
        case ENOENT: {
            struct stat st {};
            if (stat(path.c_str(), &st) != 0) return "no such directory";
            return "the bpffs at " + where + " delegates nothing; " + std::string(delegation_hint);
        }
        case ENOTDIR: return "not a directory; give the directory a bpffs is mounted on";
        case EINVAL:
            if (!is_fs(path.c_str(), bpffs_magic))
                return where + " is not a BPF filesystem (bpffs); " + std::string(delegation_hint);
            if (!is_mount_point(path))
                return where + " is a directory inside a bpffs, not where the bpffs is mounted; give its mount point";
            return "this kernel (" + kernel_release_text() + ") has no BPF tokens (BPF_TOKEN_CREATE needs Linux >= 6.9)";
        case EPERM:
        case EACCES:
            if (!in_user_namespace())
                return "the kernel refused it (" + std::string(explain_errno(err)) + ")";
            return "the bpffs at " + where + " was not created for this process's user namespace, or the process "
                   "lacks CAP_BPF there; a token is made in the user namespace the bpffs context was opened in "
                   "(fsopen(\"bpf\"), bpf::bpffs_context()), by a process with CAP_BPF in it";
        case EOPNOTSUPP:
            return "this process is in the initial user namespace, where the kernel makes no BPF tokens: BPF "
                   "there depends on the process's own capabilities (" + std::string(privileges_hint) +
                   "); tokens are for processes in other user namespaces (containers)";
        default: return explain_errno(err);
    }
}

/// Why a bpf() call that a token did not cover was refused inside a user namespace.
inline std::string userns_refusal_cause() {
    return "this process is in a user namespace, where the kernel grants BPF only through a BPF token "
           "(Linux >= 6.9, libbpf >= 1.4): give the path of a bpffs that delegates the commands, map, "
           "program and attach types needed (OpenOptions::bpf_token_path, MapCreateOptions::token_fd); " +
           std::string(delegation_hint);
}

}  // namespace bpf::detail
