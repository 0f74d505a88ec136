// What a refused BPF token, or a refused load inside a user namespace, means: the
// checks behind the messages of Token::create(), Module::load() and StandaloneMap::create().
// The kernel answers with bare errnos (EINVAL for "not a bpffs" and for "no such command"
// alike); these tell the cases apart by looking at the path and the mount table.
#pragma once

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../error.hpp"
#include "compiled.hpp"
#include "../version.hpp"

namespace bpf::detail {

/// True when this process is in a user namespace other than the initial one (the
/// initial one maps every uid onto itself: "0 0 4294967295").
LIBBPFCPP_INLINE bool in_user_namespace();

inline constexpr std::string_view delegation_hint =
    "a process with CAP_SYS_ADMIN in the initial user namespace must create that bpffs for this "
    "user namespace with the options delegate_cmds, delegate_maps, delegate_progs and "
    "delegate_attachs (bpf::delegate_bpffs() in <libbpfcpp/token.hpp>; the bpffs context must "
    "be opened from inside this namespace)";

/// The kernel's release, e.g. "6.1.0-27-cloud-amd64".
LIBBPFCPP_INLINE std::string kernel_release_text();

/// True when `path` is where a filesystem is mounted (its parent is on another device).
LIBBPFCPP_INLINE bool is_mount_point(const std::string& path);

/// The delegation options of the bpffs mounted at `path`, as /proc/self/mountinfo shows
/// them (kernel >= 6.9): each "" when not set, "any", names joined by ':' or a hex mask.
struct MountDelegation {
    bool found = false;  // a bpffs is mounted exactly there
    std::string cmds, maps, progs, attachs;
    [[nodiscard]] bool any_set() const { return !cmds.empty() || !maps.empty() || !progs.empty() || !attachs.empty(); }
};

/// mountinfo escapes space, tab, newline and backslash as octal.
LIBBPFCPP_INLINE std::string mountinfo_unescape(std::string_view s);

/// The `n`th field (from 0) of the space-separated `line`, or "".
inline std::string_view field(std::string_view line, int n) {
    std::size_t pos = 0;
    for (;;) {
        while (pos < line.size() && line[pos] == ' ') ++pos;
        const std::size_t end = std::min(line.find(' ', pos), line.size());
        if (pos >= line.size()) return {};
        if (n-- == 0) return line.substr(pos, end - pos);
        pos = end;
    }
}

LIBBPFCPP_INLINE MountDelegation mount_delegation(const std::string& path);

/// Whether the delegation list `list` ("any", "a:b:c" or "0x..." as the kernel prints it)
/// holds `name`, the enumerator numbered `value`.
LIBBPFCPP_INLINE bool delegates(std::string_view list, std::string_view name, unsigned value);

/// Why BPF_TOKEN_CREATE refused the bpffs at `path` with `err`, and what to do.
LIBBPFCPP_INLINE std::string token_create_cause(const std::string& path, int err);

/// Why a bpf() call that a token did not cover was refused inside a user namespace.
[[gnu::cold]] LIBBPFCPP_INLINE std::string userns_refusal_cause();

/// What `obj` needs that the bpffs at `where` does not delegate, with the options that
/// would; the kernel only says EPERM.
LIBBPFCPP_INLINE std::string undelegated(bpf_object* obj, const std::string& where);

/// The bpffs path of the token a load of `obj` must use (OpenOptions::bpf_token_path,
/// else LIBBPF_BPF_TOKEN_PATH), or nullopt where libbpf only tries /sys/fs/bpf and goes on
/// without a token if it cannot make one.
LIBBPFCPP_INLINE std::optional<std::string> required_token_path(const std::optional<std::string>& token_path);

/// Why loading `obj` failed with `err` for want of a BPF token, or "" when that is not the
/// cause: a token the load had to use (see required_token_path) cannot be made from its
/// path, which a BPF_TOKEN_CREATE of our own shows, or the process is in a user namespace
/// and the kernel refused what no token (or a token lacking it) granted.
[[gnu::cold]] LIBBPFCPP_INLINE std::string token_load_cause(bpf_object* obj, const std::optional<std::string>& token_path,
                                                           int err);

}  // namespace bpf::detail

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE bool detail::in_user_namespace() {
    std::FILE* f = std::fopen("/proc/self/uid_map", "re");
    if (f == nullptr) return false;
    unsigned long long inside = 0, outside = 0, count = 0;
    const int got = std::fscanf(f, "%llu %llu %llu", &inside, &outside, &count);
    char more[2];
    const bool one_line = std::fscanf(f, "%1s", more) != 1;
    std::fclose(f);
    if (got != 3) return false;
    return !(inside == 0 && outside == 0 && count == 4294967295ULL && one_line);
}

LIBBPFCPP_INLINE std::string detail::kernel_release_text() {
    utsname u{};
    if (uname(&u) != 0) return "unknown";
    return u.release;
}

LIBBPFCPP_INLINE bool detail::is_mount_point(const std::string& path) {
    struct stat self {}, parent {};
    if (stat(path.c_str(), &self) != 0 || stat((path + "/..").c_str(), &parent) != 0) return false;
    return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

LIBBPFCPP_INLINE std::string detail::mountinfo_unescape(std::string_view s) {
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

LIBBPFCPP_INLINE detail::MountDelegation detail::mount_delegation(const std::string& path) {
    MountDelegation d;
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) == nullptr) return d;
    std::FILE* f = std::fopen("/proc/self/mountinfo", "re");
    if (f == nullptr) return d;
    char* buf = nullptr;
    std::size_t cap = 0;
    for (ssize_t len; (len = getline(&buf, &cap, f)) > 0;) {
        std::string_view line(buf, static_cast<std::size_t>(len));
        if (line.back() == '\n') line.remove_suffix(1);
        // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
        if (mountinfo_unescape(field(line, 4)) != resolved) continue;
        const auto sep = line.find(" - ");
        if (sep == std::string_view::npos) continue;
        const std::string_view tail = line.substr(sep + 3);
        MountDelegation now;  // the last mount on a mount point is the visible one
        now.found = field(tail, 0) == "bpf";
        std::string_view opts = field(tail, 2);
        while (!opts.empty()) {
            const std::size_t comma = std::min(opts.find(','), opts.size());
            const std::string_view opt = opts.substr(0, comma);
            opts.remove_prefix(std::min(comma + 1, opts.size()));
            const auto eq = opt.find('=');
            if (eq == std::string_view::npos) continue;
            const std::string_view key = opt.substr(0, eq), value = opt.substr(eq + 1);
            if (key == "delegate_cmds") now.cmds = value;
            else if (key == "delegate_maps") now.maps = value;
            else if (key == "delegate_progs") now.progs = value;
            else if (key == "delegate_attachs") now.attachs = value;
        }
        d = now;
    }
    std::free(buf);
    std::fclose(f);
    return d;
}

LIBBPFCPP_INLINE bool detail::delegates(std::string_view list, std::string_view name, unsigned value) {
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

LIBBPFCPP_INLINE std::string detail::token_create_cause(const std::string& path, int err) {
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

LIBBPFCPP_INLINE std::string detail::userns_refusal_cause() {
    return cat({"this process is in a user namespace, where the kernel grants BPF only through a BPF token "
                "(Linux >= 6.9, libbpf >= 1.4): give the path of a bpffs that delegates the commands, map, "
                "program and attach types needed (OpenOptions::bpf_token_path, MapCreateOptions::token_fd); ",
                delegation_hint});
}

LIBBPFCPP_INLINE std::string detail::undelegated(bpf_object* obj, const std::string& where) {
    const MountDelegation d = mount_delegation(where);
    std::vector<std::string> missing;
    std::string cmds = d.cmds, maps = d.maps, progs = d.progs, attachs = d.attachs;
    auto need = [&](const std::string& list, std::string& option, const char* kind, const char* name,
                    unsigned value) {
        if (name == nullptr || delegates(list, name, value)) return;
        const std::string item = std::string(kind) + " '" + name + "'";
        if (std::find(missing.begin(), missing.end(), item) != missing.end()) return;
        missing.push_back(item);
        option += (option.empty() || option == "any" ? "" : ":") + std::string(name);
    };
    bool any_map = false;
    for (bpf_map* m = nullptr; (m = bpf_object__next_map(obj, m)) != nullptr;) {
        if (!bpf_map__autocreate(m)) continue;
        any_map = true;
        const bpf_map_type t = bpf_map__type(m);
        need(d.maps, maps, "map type", libbpf_bpf_map_type_str(t), static_cast<unsigned>(t));
    }
    for (bpf_program* p = nullptr; (p = bpf_object__next_program(obj, p)) != nullptr;) {
        if (!bpf_program__autoload(p)) continue;
        const bpf_prog_type t = bpf_program__type(p);
        const bpf_attach_type a = bpf_program__expected_attach_type(p);
        need(d.progs, progs, "program type", libbpf_bpf_prog_type_str(t), static_cast<unsigned>(t));
        need(d.attachs, attachs, "attach type", libbpf_bpf_attach_type_str(a), static_cast<unsigned>(a));
    }
    // libbpf's first check of the kernel loads a socket filter with the token.
    need(d.progs, progs, "program type", "socket_filter", BPF_PROG_TYPE_SOCKET_FILTER);
    need(d.attachs, attachs, "attach type", "cgroup_inet_ingress", BPF_CGROUP_INET_INGRESS);
    if (any_map) need(d.cmds, cmds, "command", "map_create", BPF_MAP_CREATE);
    need(d.cmds, cmds, "command", "prog_load", BPF_PROG_LOAD);
    if (bpf_object__btf(obj) != nullptr) need(d.cmds, cmds, "command", "btf_load", BPF_BTF_LOAD);
    auto shown = [](const std::string& v) { return v.empty() ? std::string("(none)") : v; };
    const std::string now = "it delegates cmds " + shown(d.cmds) + ", maps " + shown(d.maps) + ", progs " +
                            shown(d.progs) + ", attachs " + shown(d.attachs);
    if (missing.empty())
        return now + ", which looks like enough; the kernel refused a check beyond the token "
                     "(e.g. a helper or a program flag that needs privileges in the initial namespace)";
    std::string out = "it does not delegate ";
    for (std::size_t i = 0; i < missing.size(); ++i) out += (i == 0 ? "" : ", ") + missing[i];
    out += " (" + now + "); " + std::string(delegation_hint) + ", e.g. delegate_cmds=" + cmds +
           ",delegate_maps=" + maps + ",delegate_progs=" + progs + ",delegate_attachs=" + attachs;
    return out;
}

LIBBPFCPP_INLINE std::optional<std::string> detail::required_token_path(const std::optional<std::string>& token_path) {
    if (token_path) return token_path->empty() ? std::nullopt : token_path;
    if (const char* env = std::getenv("LIBBPF_BPF_TOKEN_PATH"); env != nullptr && *env != '\0') return std::string(env);
    return std::nullopt;
}

LIBBPFCPP_INLINE std::string detail::token_load_cause(bpf_object* obj,
                                                      const std::optional<std::string>& token_path, int err) {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
    // A token the load had to use and did not get fails the load before any program or
    // map: the same BPF_TOKEN_CREATE, tried here, says why.
    if (const auto required = required_token_path(token_path); required && bpf_object__token_fd(obj) < 0) {
        const int dir = open(required->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int token_err = errno;
        int token = -1;
        if (dir >= 0) {
            token = bpf_token_create(dir, nullptr);
            token_err = errno;
            ::close(dir);
        }
        if (token >= 0) ::close(token);
        else return cat({"creating a BPF token from '", *required, "': ", token_create_cause(*required, token_err)});
    }
#endif
    if ((err != EPERM && err != EACCES) || !in_user_namespace()) return {};
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
    std::optional<std::string> path = token_path;
    if (!path) {
        if (const char* env = std::getenv("LIBBPF_BPF_TOKEN_PATH")) path = env;
    }
    if (path && path->empty())
        return cat({"no BPF token was used (OpenOptions::bpf_token_path or LIBBPF_BPF_TOKEN_PATH is empty); ",
                    userns_refusal_cause()});
    const std::string where = path ? *path : "/sys/fs/bpf";
    if (const int dir = open(where.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir < 0) {
        return cat({"no BPF token was used ('", where, "': ", std::strerror(errno), "); ", userns_refusal_cause()});
    } else {
        const int token = bpf_token_create(dir, nullptr);
        const int token_err = errno;
        ::close(dir);
        if (token < 0)
            return cat({"no BPF token was used (creating one from '", where, "': ", token_create_cause(where, token_err),
                        "); ", userns_refusal_cause()});
        ::close(token);
    }
    return cat({"the BPF token from '", where, "' does not cover it: ", undelegated(obj, where)});
#else
    (void)obj;
    (void)token_path;
    return cat({userns_refusal_cause(), "; this program was built with libbpf ", bpf::libbpf_compiled_version(),
                ", which cannot use BPF tokens"});
#endif
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
