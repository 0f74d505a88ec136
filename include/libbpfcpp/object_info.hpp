// What the kernel says about a map or a program behind an fd (bpf_map_info,
// bpf_prog_info), translated to plain structs, and the kernel's map ids by name: the one
// place that calls bpf_obj_get_info_by_fd for them. Map::info(), StandaloneMap::info()
// and the listings of kernel_objects.hpp read from here.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.hpp"

namespace bpf {

/// What the kernel says about a map (bpf_map_info; libbpfgo's BPFMapInfo).
///
/// ```cpp
/// bpf::MapInfo info = mod.map("counts").info();
/// std::printf("map %u: %s, %u entries max\n", info.id, info.name.c_str(), info.max_entries);
/// ```
struct MapInfo {
    /// The map type.
    bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
    /// The kernel's id of the map (bpftool map show id N).
    std::uint32_t id = 0;
    /// Key size in bytes.
    std::uint32_t key_size = 0;
    /// Value size in bytes.
    std::uint32_t value_size = 0;
    /// Capacity.
    std::uint32_t max_entries = 0;
    /// BPF_F_* creation flags.
    std::uint32_t map_flags = 0;
    /// The name given at creation (at most 15 characters).
    std::string name;
    /// The device of an offloaded map, else 0.
    std::uint32_t ifindex = 0;
    /// The kernel BTF type of a struct_ops map's value.
    std::uint32_t btf_vmlinux_value_type_id = 0;
    /// Network namespace device of an offloaded map.
    std::uint64_t netns_dev = 0;
    /// Network namespace inode of an offloaded map.
    std::uint64_t netns_ino = 0;
    /// The id of the BTF describing keys and values, or 0.
    std::uint32_t btf_id = 0;
    /// The key's type in that BTF.
    std::uint32_t btf_key_type_id = 0;
    /// The value's type in that BTF.
    std::uint32_t btf_value_type_id = 0;
    /// Type-specific extra (e.g. a bloom filter's number of hashes).
    std::uint64_t map_extra = 0;
};

namespace detail {
/// The kernel's raw description (bpf_map_info, bpf_prog_info, ...) of the `kind` object
/// behind `fd`; map_info_by_fd() and prog_info_by_fd() translate it.
template <class Raw>
Raw info_by_fd(int fd, std::string_view kind) {
    Raw raw{};
    std::uint32_t len = sizeof raw;
    if (bpf_obj_get_info_by_fd(fd, &raw, &len) != 0)
        throw_errno(errno, "reading the info of " + std::string(kind) + " fd", std::to_string(fd));
    return raw;
}
}  // namespace detail

/// The kernel's description of the map behind `fd` (libbpfgo's GetMapInfoByFD).
inline MapInfo map_info_by_fd(int fd) {
    const auto raw = detail::info_by_fd<bpf_map_info>(fd, "map");
    MapInfo i;
    i.type = static_cast<bpf_map_type>(raw.type);
    i.id = raw.id;
    i.key_size = raw.key_size;
    i.value_size = raw.value_size;
    i.max_entries = raw.max_entries;
    i.map_flags = raw.map_flags;
    i.name = raw.name;
    i.ifindex = raw.ifindex;
    i.btf_vmlinux_value_type_id = raw.btf_vmlinux_value_type_id;
    i.netns_dev = raw.netns_dev;
    i.netns_ino = raw.netns_ino;
    i.btf_id = raw.btf_id;
    i.btf_key_type_id = raw.btf_key_type_id;
    i.btf_value_type_id = raw.btf_value_type_id;
    i.map_extra = raw.map_extra;
    return i;
}

/// The id of the next map in the kernel after `start_id` (0: the first), or nullopt at
/// the end (libbpfgo's GetMapNextID).
inline std::optional<std::uint32_t> next_map_id(std::uint32_t start_id) {
    std::uint32_t next = 0;
    if (bpf_map_get_next_id(start_id, &next) == 0) return next;
    if (errno == ENOENT) return std::nullopt;
    detail::throw_errno(errno, "listing maps after id", std::to_string(start_id));
}

/// The ids of every map in the kernel called `name` (libbpfgo's GetMapsIDsByName). The
/// kernel keeps the first 15 characters of a map name; longer names match on those.
inline std::vector<std::uint32_t> map_ids_by_name(std::string_view name) {
    std::vector<std::uint32_t> out;
    const std::string_view want = name.substr(0, BPF_OBJ_NAME_LEN - 1);
    for (auto id = next_map_id(0); id; id = next_map_id(*id)) {
        int fd = bpf_map_get_fd_by_id(*id);
        if (fd < 0) continue;  // gone meanwhile
        bpf_map_info raw{};
        std::uint32_t len = sizeof raw;
        const bool ok = bpf_obj_get_info_by_fd(fd, &raw, &len) == 0;
        ::close(fd);
        if (ok && want == raw.name) out.push_back(*id);
    }
    return out;
}

/// What the kernel says about a program (bpf_prog_info).
struct ProgInfo {
    bpf_prog_type type = BPF_PROG_TYPE_UNSPEC;  ///< the program type
    std::uint32_t id = 0;                       ///< kernel id (bpftool prog show id N)
    std::string name;                           ///< at most 15 characters
    std::string tag;                            ///< 16 hex digits, as bpftool prints it
    std::uint32_t btf_id = 0;                   ///< its BTF, or 0
    std::uint32_t nr_map_ids = 0;               ///< how many maps it uses
    std::uint64_t load_time = 0;                ///< ns since boot
    std::uint64_t run_cnt = 0;                  ///< runs counted (with kernel.bpf_stats_enabled)
    std::uint64_t run_time_ns = 0;              ///< time spent (with kernel.bpf_stats_enabled)
};

/// The kernel's description of the program behind `fd`.
inline ProgInfo prog_info_by_fd(int fd) {
    const auto raw = detail::info_by_fd<bpf_prog_info>(fd, "program");
    ProgInfo i;
    i.type = static_cast<bpf_prog_type>(raw.type);
    i.id = raw.id;
    i.name = raw.name;
    for (unsigned char b : raw.tag) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", b);
        i.tag += hex;
    }
    i.btf_id = raw.btf_id;
    i.nr_map_ids = raw.nr_map_ids;
    i.load_time = raw.load_time;
    i.run_cnt = raw.run_cnt;
    i.run_time_ns = raw.run_time_ns;
    return i;
}

}  // namespace bpf
