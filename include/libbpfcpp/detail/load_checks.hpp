// Checks Module::open_*() and Module::load() make before handing an object to libbpf:
// what a damaged object, a hostile pin directory or a low descriptor limit would
// otherwise turn into a crash, a borrowed map or a misleading error.
#pragma once

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <dirent.h>
#include <linux/bpf.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <bpf/libbpf.h>

#include "../error.hpp"
#include "compiled.hpp"

namespace bpf::detail {

/// The largest enumerator of bpf_map_type in this build's <linux/bpf.h>: its
/// __MAX_BPF_MAP_TYPE where the headers have one (Linux 6.2 and later, and the UAPI
/// headers every libbpf release ships), else Debian 12's last type, USER_RINGBUF.
template <class E = bpf_map_type>
constexpr std::uint32_t largest_map_type() noexcept {
    if constexpr (requires { E::__MAX_BPF_MAP_TYPE; })
        return static_cast<std::uint32_t>(E::__MAX_BPF_MAP_TYPE);
    else
        return static_cast<std::uint32_t>(E::BPF_MAP_TYPE_USER_RINGBUF);
}

/// The largest value bpf_map_type can hold as this build's <linux/bpf.h> declares it
/// (the range of an enum without a fixed type ends at the all-ones value above its
/// largest enumerator); a map type beyond it cannot be passed around as the enum.
inline constexpr std::uint32_t max_map_type_value = std::bit_ceil(largest_map_type() + 1) - 1;

/// The type number of map `m` as the object gives it, which may be beyond what
/// bpf_map_type can hold: libbpf opens such an object (it may leave the map out with
/// autocreate off), so the number is read as bytes, never as the enum.
inline std::uint32_t raw_map_type(const bpf_map* m) noexcept {
    const auto type = bpf_map__type(m);
    std::uint32_t raw = 0;
    static_assert(sizeof type == sizeof raw);
    std::memcpy(&raw, &type, sizeof raw);
    return raw;
}

/// Refuses to load an object with a map to be created whose type the enum cannot
/// represent (a damaged file, or a type newer than these headers): no kernel this
/// program knows of creates it, and anything past here may read it as bpf_map_type.
LIBBPFCPP_INLINE void check_map_types(bpf_object* obj, std::string_view object_name);

/// libbpf 1.1 probes kernel features with short-lived descriptors during a first load
/// and remembers a probe that failed for lack of descriptors as "feature missing" for
/// the rest of the process; every later load then fails with a misleading verifier
/// error. A load is refused before libbpf runs unless this many descriptors are free
/// on top of one per map and program.
inline constexpr std::size_t load_fd_reserve = 16;

/// Set once a load ran out of descriptors inside libbpf: from then on its feature cache
/// may be wrong, and every load failure says the process must restart.
LIBBPFCPP_INLINE std::atomic<bool>& fd_exhaustion_seen();

inline constexpr std::string_view fd_restart_note =
    " (an earlier load in this process ran out of file descriptors, and libbpf "
    "remembers the kernel features it could not probe then as missing: restart the process)";

/// Throws EMFILE, saying what to raise, unless `obj` can be loaded within RLIMIT_NOFILE.
LIBBPFCPP_INLINE void check_fd_headroom(bpf_object* obj, std::string_view object_name);

/// Refuses a map pin path that is a symbolic link. libbpf reuses whatever map is pinned
/// at a map's pin path (LIBBPF_PIN_BY_NAME, set_pin_path()) and follows links to find
/// it; in a directory others can write to (/sys/fs/bpf is world-writable on many
/// systems) a planted link would hand this program another user's map.
LIBBPFCPP_INLINE void check_pin_paths(bpf_object* obj, std::string_view object_name);

/// True when `name` can be a libbpf name: the C API stops at a NUL byte, so a name with
/// one would match the object named by its first part.
/// (A loop, not find(): g++ 12 inlines find()'s memchr into callers where it then
/// warns, falsely, of an out-of-bounds size.)
inline bool is_c_name(std::string_view name) noexcept {
    for (char c : name)
        if (c == '\0') return false;
    return true;
}

/// The map (`map`) or else program called `name` in `obj`, or nullptr (also for a name
/// libbpf cannot hold). One function for both, out of line in compiled mode: the
/// NUL-terminated copy libbpf needs is compiled once, not in each look-up a generated
/// skeleton makes.
LIBBPFCPP_INLINE void* find_by_name(const bpf_object* obj, std::string_view name, bool map);

/// `name` for a message: a NUL byte would end what() there, so it is shown as \0.
LIBBPFCPP_INLINE std::string printable_name(std::string_view name);

}  // namespace bpf::detail

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void detail::check_map_types(bpf_object* obj, std::string_view object_name) {
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(obj, m)) != nullptr) {
        const std::uint32_t raw = raw_map_type(m);
        if (raw <= max_map_type_value || !bpf_map__autocreate(m)) continue;
        throw_error(EINVAL, "loading object", object_name,
                    {"map '", bpf_map__name(m), "' has type ", Decimal(raw),
                     ", which the <linux/bpf.h> this program was built with does not know (it knows types up to ",
                     Decimal(max_map_type_value),
                     "); leave the map out with set_autocreate(false), or the object file is damaged, or build "
                     "with newer kernel headers"});
    }
}

LIBBPFCPP_INLINE std::atomic<bool>& detail::fd_exhaustion_seen() {
    static std::atomic<bool> seen{false};
    return seen;
}

LIBBPFCPP_INLINE void detail::check_fd_headroom(bpf_object* obj, std::string_view object_name) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    std::size_t need = load_fd_reserve;
    for (bpf_map* m = nullptr; (m = bpf_object__next_map(obj, m)) != nullptr;) ++need;
    for (bpf_program* p = nullptr; (p = bpf_object__next_program(obj, p)) != nullptr;) ++need;
    std::size_t open_fds = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d) != nullptr) ++open_fds;
        closedir(d);
        open_fds = open_fds > 3 ? open_fds - 3 : 0;  // ".", ".." and the directory's own fd
    } else if (errno == EMFILE || errno == ENFILE) {
        open_fds = static_cast<std::size_t>(rl.rlim_cur);
    } else {
        return;  // no /proc: let libbpf try
    }
    if (open_fds + need <= rl.rlim_cur) return;
    throw_error(EMFILE, "loading object", object_name,
                {"too many open files: ", Decimal(open_fds), " of the ", Decimal(rl.rlim_cur),
                 " allowed are open and loading needs about ", Decimal(need),
                 " more; raise RLIMIT_NOFILE (ulimit -n, or setrlimit()) or close descriptors, then load again"});
}

LIBBPFCPP_INLINE void detail::check_pin_paths(bpf_object* obj, std::string_view object_name) {
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(obj, m)) != nullptr) {
        const char* path = bpf_map__pin_path(m);
        struct stat st {};
        if (path == nullptr || lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) continue;
        throw_error(ELOOP, "loading object", object_name,
                    {"map '", bpf_map__name(m), "' would reuse the map pinned at '", path,
                     "', which is a symbolic link; remove it, and keep pins in a directory only root can write "
                     "to (OpenOptions::pin_root_path, see docs/core.md)"});
    }
}

LIBBPFCPP_INLINE void* detail::find_by_name(const bpf_object* obj, std::string_view name, bool map) {
    if (!is_c_name(name)) return nullptr;
    const std::string c_name(name);
    if (map) return bpf_object__find_map_by_name(obj, c_name.c_str());
    return bpf_object__find_program_by_name(obj, c_name.c_str());
}

LIBBPFCPP_INLINE std::string detail::printable_name(std::string_view name) {
    std::string out;
    for (char c : name) out += c == '\0' ? std::string_view("\\0") : std::string_view(&c, 1);
    return out;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
