// The kernel's BPF links, programs and maps, walked by id (what `bpftool link/prog/map
// show` lists), each with an owned fd and its info.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/fd.hpp"
#include "error.hpp"
#include "link_info.hpp"
#include "object_info.hpp"

namespace bpf {

/// A kernel object opened by id: an fd this value owns, and the object's info.
///
/// ```cpp
/// for (const bpf::KernelLink& l : bpf::kernel_links())
///     std::printf("link %u: %s, prog %u\n", l.info.id, l.info.type_name().c_str(), l.info.prog_id);
/// ```
template <class Info>
struct KernelObject {
    OwnedFd fd;  ///< closed with this value; the object lives on while others hold it
    Info info;   ///< read when it was opened
};
using KernelLink = KernelObject<LinkInfo>;  ///< a link of the kernel's
using KernelProg = KernelObject<ProgInfo>;  ///< a program of the kernel's
using KernelMap = KernelObject<MapInfo>;    ///< a map of the kernel's

namespace detail {

struct IdKind {
    const char* what;                                  // "link", "program", "map"
    int (*next)(std::uint32_t, std::uint32_t*);        // bpf_*_get_next_id
    int (*open)(std::uint32_t);                        // bpf_*_get_fd_by_id
};
inline constexpr IdKind link_ids{"link", bpf_link_get_next_id, bpf_link_get_fd_by_id};
inline constexpr IdKind prog_ids{"program", bpf_prog_get_next_id, bpf_prog_get_fd_by_id};
inline constexpr IdKind map_ids{"map", bpf_map_get_next_id, bpf_map_get_fd_by_id};

inline std::optional<std::uint32_t> next_id(const IdKind& k, std::uint32_t start) {
    std::uint32_t next = 0;
    if (k.next(start, &next) == 0) return next;
    if (errno == ENOENT) return std::nullopt;
    throw_errno(errno, std::string("listing the kernel's ") + k.what + "s after id", std::to_string(start));
}

/// Opens id `id`; nullopt when it is gone (ENOENT), throws otherwise.
template <class Info, class Read>
std::optional<KernelObject<Info>> open_id(const IdKind& k, std::uint32_t id, Read read) {
    int fd = k.open(id);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno(errno, std::string("opening ") + k.what + " id", std::to_string(id));
    }
    KernelObject<Info> o{OwnedFd(fd), {}};
    o.info = read(fd);
    return o;
}

template <class Info, class Read>
std::vector<KernelObject<Info>> all_ids(const IdKind& k, Read read) {
    std::vector<KernelObject<Info>> out;
    for (auto id = next_id(k, 0); id; id = next_id(k, *id))
        if (auto o = open_id<Info>(k, *id, read)) out.push_back(std::move(*o));  // a gone one is passed over
    return out;
}

}  // namespace detail

/// The id of the next link in the kernel after `start_id` (0: the first), or nullopt.
inline std::optional<std::uint32_t> next_link_id(std::uint32_t start_id) {
    return detail::next_id(detail::link_ids, start_id);
}
/// The id of the next program in the kernel after `start_id` (0: the first), or nullopt.
inline std::optional<std::uint32_t> next_prog_id(std::uint32_t start_id) {
    return detail::next_id(detail::prog_ids, start_id);
}

/// The link with kernel id `id`, or nullopt when there is none.
inline std::optional<KernelLink> link_by_id(std::uint32_t id) {
    return detail::open_id<LinkInfo>(detail::link_ids, id, link_info_by_fd);
}
/// The program with kernel id `id`, or nullopt when there is none.
inline std::optional<KernelProg> prog_by_id(std::uint32_t id) {
    return detail::open_id<ProgInfo>(detail::prog_ids, id, prog_info_by_fd);
}
/// The map with kernel id `id`, or nullopt when there is none.
inline std::optional<KernelMap> map_by_id(std::uint32_t id) {
    return detail::open_id<MapInfo>(detail::map_ids, id, map_info_by_fd);
}

/// Every link in the kernel (needs CAP_SYS_ADMIN), in id order; ones that go away
/// during the walk are left out.
inline std::vector<KernelLink> kernel_links() { return detail::all_ids<LinkInfo>(detail::link_ids, link_info_by_fd); }
/// Every program in the kernel (needs CAP_SYS_ADMIN), in id order.
inline std::vector<KernelProg> kernel_programs() {
    return detail::all_ids<ProgInfo>(detail::prog_ids, prog_info_by_fd);
}
/// Every map in the kernel (needs CAP_SYS_ADMIN), in id order.
inline std::vector<KernelMap> kernel_maps() { return detail::all_ids<MapInfo>(detail::map_ids, map_info_by_fd); }

}  // namespace bpf
