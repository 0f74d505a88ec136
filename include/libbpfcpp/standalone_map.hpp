// bpf::StandaloneMap: a map that belongs to no object: created from user space, opened
// by id or pin path, or adopted from an fd (libbpfgo's CreateMap/GetMapByID/BPFMapLow).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/fd.hpp"
#include "detail/needs_libbpf.hpp"
#include "version.hpp"
#include "detail/token_checks.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"
#include "map.hpp"
#include "map_ops.hpp"

namespace bpf {

/// Options of StandaloneMap::create (bpf_map_create_opts; libbpfgo's BPFMapCreateOpts).
///
/// ```cpp
/// bpf::MapCreateOptions o;
/// o.map_flags = BPF_F_NO_PREALLOC;
/// auto m = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "sessions", 8, 16, 4096, o);
/// ```
struct MapCreateOptions {
    std::uint32_t map_flags = 0;      ///< BPF_F_NO_PREALLOC, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, ...
    int inner_map_fd = -1;            ///< template of the inner maps of an array/hash of maps
    /// BTF object describing keys and values (fd), or 0.
    std::uint32_t btf_fd = 0;
    /// The key's type id in that BTF.
    std::uint32_t btf_key_type_id = 0;
    /// The value's type id in that BTF.
    std::uint32_t btf_value_type_id = 0;
    /// The kernel BTF type of a struct_ops map's value.
    std::uint32_t btf_vmlinux_value_type_id = 0;
    std::uint64_t map_extra = 0;      ///< e.g. the number of hash functions of a bloom filter
    std::uint32_t numa_node = 0;      ///< with BPF_F_NUMA_NODE
    std::uint32_t map_ifindex = 0;    ///< offload to this device
    /// A BPF token's fd (bpf::Token::fd(), <libbpfcpp/token.hpp>) for a process in a user
    /// namespace; -1: none. Needs libbpf >= 1.4; its bpffs must delegate map_create and
    /// the map's type.
    int token_fd = -1;
};

/// A map owned by its fd, not by a Module. Move-only; closing the fd (destruction)
/// frees the map unless something else holds it (a pin, a program, an outer map).
/// Offers the operations of bpf::Map's data side.
///
/// ```cpp
/// auto inner = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "inner", 4, 8, 16);
/// inner.update(std::uint32_t{0}, std::uint64_t{42});
/// mod.map("outer").update(std::uint32_t{0}, inner.fd());   // map-in-map
/// auto again = bpf::StandaloneMap::from_id(inner.id());
/// ```
class StandaloneMap : public MapOps<StandaloneMap> {
public:
    /// Creates a map in the kernel (libbpfgo's CreateMap).
    static StandaloneMap create(bpf_map_type type, const std::string& name, std::uint32_t key_size,
                                std::uint32_t value_size, std::uint32_t max_entries,
                                const MapCreateOptions& o = {}) {
        LIBBPF_OPTS(bpf_map_create_opts, opts);
        opts.btf_fd = o.btf_fd;
        opts.btf_key_type_id = o.btf_key_type_id;
        opts.btf_value_type_id = o.btf_value_type_id;
        opts.btf_vmlinux_value_type_id = o.btf_vmlinux_value_type_id;
        opts.inner_map_fd = o.inner_map_fd >= 0 ? static_cast<std::uint32_t>(o.inner_map_fd) : 0;
        opts.map_flags = o.map_flags;
        opts.map_extra = o.map_extra;
        opts.numa_node = o.numa_node;
        opts.map_ifindex = o.map_ifindex;
        if (o.token_fd >= 0) {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
            opts.token_fd = static_cast<std::uint32_t>(o.token_fd);
            opts.map_flags |= detail::uapi::f_token_fd;
#else
            detail::libbpf_too_old("creating map", name, "MapCreateOptions::token_fd (BPF tokens)", "BPF tokens", 1, 4,
                                   "run the loader with the capabilities BPF needs instead");
#endif
        }
        int fd = bpf_map_create(type, name.empty() ? nullptr : name.c_str(), key_size, value_size, max_entries, &opts);
        if (fd < 0) {
            int err = detail::positive_errno(fd);
            std::string why = detail::explain_errno(err);
            if (err == EINVAL)
                why = "the kernel rejected the definition (type, sizes, max_entries or flags; a map-in-map "
                      "needs inner_map_fd)";
            if (err == EINVAL && o.token_fd >= 0)
                why += "; with token_fd: a kernel before 6.9 knows no BPF tokens (BPF_F_TOKEN_FD)";
            if ((err == EPERM || err == EACCES) && detail::in_user_namespace()) {
                const char* type_name = libbpf_bpf_map_type_str(type);
                why = o.token_fd < 0 ? detail::userns_refusal_cause()
                                     : "the token does not delegate this: its bpffs needs delegate_cmds with map_create "
                                       "and delegate_maps with " +
                                           std::string(type_name != nullptr ? type_name : std::to_string(type).c_str()) +
                                           "; " + std::string(detail::delegation_hint);
            }
            detail::throw_errno(err, "creating map", name, why);
        }
        return StandaloneMap(detail::Fd(fd));
    }

    /// Opens the map with kernel id `id` (libbpfgo's GetMapByID).
    static StandaloneMap from_id(std::uint32_t id) {
        int fd = bpf_map_get_fd_by_id(id);
        if (fd < 0)
            detail::throw_errno(errno, "opening map id", std::to_string(id),
                                errno == ENOENT ? "no map with this id (it may have been freed)"
                                                : detail::explain_errno(errno));
        return StandaloneMap(detail::Fd(fd));
    }

    /// Opens the map pinned at `path` on a bpffs.
    static StandaloneMap from_pin(const std::string& path) {
        int fd = bpf_obj_get(path.c_str());
        if (fd < 0)
            detail::throw_errno(errno, "opening pinned map", path,
                                errno == ENOENT ? "nothing is pinned there" : detail::explain_errno(errno));
        return StandaloneMap(detail::Fd(fd));
    }

    /// Adopts a duplicate of `fd` (the caller keeps its own).
    static StandaloneMap from_fd(int fd) {
        int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) detail::throw_errno(errno, "duplicating map fd", std::to_string(fd));
        return StandaloneMap(detail::Fd(dup));
    }

    /// A standalone handle on a loaded map of a Module (shares the map; keeps it alive
    /// after the Module is gone).
    static StandaloneMap from_map(const Map& m) {
        m.require_loaded("opening");
        return from_fd(m.fd());
    }

    /// The map's fd, owned by this handle.
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The map's name as the kernel knows it.
    [[nodiscard]] const std::string& name() const noexcept { return info_.name; }
    /// The name used in error messages.
    [[nodiscard]] std::string qualified_name() const { return info_.name; }
    /// The map type.
    [[nodiscard]] bpf_map_type type() const noexcept { return info_.type; }
    /// The kernel's id of the map.
    [[nodiscard]] std::uint32_t id() const noexcept { return info_.id; }
    /// Key size in bytes.
    [[nodiscard]] std::uint32_t key_size() const noexcept { return info_.key_size; }
    /// Value size in bytes.
    [[nodiscard]] std::uint32_t value_size() const noexcept { return info_.value_size; }
    /// Capacity.
    [[nodiscard]] std::uint32_t max_entries() const noexcept { return info_.max_entries; }
    /// BPF_F_* creation flags.
    [[nodiscard]] std::uint32_t flags() const noexcept { return info_.map_flags; }
    /// The info read when this handle was made (info() asks the kernel again).
    [[nodiscard]] const MapInfo& cached_info() const noexcept { return info_; }

    /// Points this handle at the map behind `fd` (dup'ed), closing the current one
    /// (libbpfgo's BPFMapLow.ReuseFD).
    void reuse_fd(int fd) {
        StandaloneMap other = from_fd(fd);
        *this = std::move(other);
    }

    /// Pins the map at `path` (on a bpffs); the map outlives this process until unpinned.
    void pin(const std::string& path) {
        detail::require_bpffs(path, "pinning map", name());
        if (bpf_obj_pin(fd(), path.c_str()) != 0)
            detail::throw_errno(errno, "pinning map", name(), "at '" + path + "': " + detail::explain_errno(errno));
    }

    // ---- data -------------------------------------------------------------------------
    /// The value at `key`, or nullopt when there is none.
    template <MapData K, MapData V>
    [[nodiscard]] std::optional<V> lookup(const K& key, std::uint64_t flags = 0) const {
        this->check_kv(sizeof(K), sizeof(V), "lookup");
        V v;
        if (bpf_map_lookup_elem_flags(fd(), &key, &v, flags) == 0) return v;
        if (errno == ENOENT) return std::nullopt;
        detail::throw_errno(errno, "looking up a key in map", name());
    }

    /// Writes `value` at `key`.
    template <MapData K, MapData V>
    void update(const K& key, const V& value, UpdateFlag flag = UpdateFlag::Any) {
        this->check_kv(sizeof(K), sizeof(V), "update");
        if (bpf_map_update_elem(fd(), &key, &value, static_cast<std::uint64_t>(flag)) != 0)
            detail::throw_errno(errno, "updating map", name());
    }

    /// Removes `key`; false when it was not there.
    template <MapData K>
    bool erase(const K& key) {
        this->check_key_size(sizeof(K), "erase");
        if (bpf_map_delete_elem(fd(), &key) == 0) return true;
        if (errno == ENOENT) return false;
        detail::throw_errno(errno, "deleting a key of map", name());
    }

    /// Removes `key` and returns its value; `flags` such as BPF_F_LOCK (libbpfgo's
    /// BPFMapLow.GetValueAndDeleteKeyFlags / LookupAndDeleteElemFlags).
    template <MapData K, MapData V>
    std::optional<V> lookup_and_erase(const K& key, std::uint64_t flags = 0) {
        this->check_kv(sizeof(K), sizeof(V), "lookup_and_erase");
        V v;
        if (bpf_map_lookup_and_delete_elem_flags(fd(), &key, &v, flags) == 0) return v;
        if (errno == ENOENT) return std::nullopt;
        detail::throw_errno(errno, "looking up and deleting a key of map", name());
    }

    /// Byte versions; for per-CPU maps `value` holds value_stride() bytes.
    bool lookup_bytes(std::span<const std::byte> key, std::span<std::byte> value) const {
        check_bytes(key.size(), value.size(), "lookup_bytes");
        if (bpf_map_lookup_elem(fd(), key.data(), value.data()) == 0) return true;
        if (errno == ENOENT) return false;
        detail::throw_errno(errno, "looking up a key in map", name());
    }
    /// update() with raw bytes; sizes are checked.
    void update_bytes(std::span<const std::byte> key, std::span<const std::byte> value,
                      UpdateFlag flag = UpdateFlag::Any) {
        check_bytes(key.size(), value.size(), "update_bytes");
        if (bpf_map_update_elem(fd(), key.data(), value.data(), static_cast<std::uint64_t>(flag)) != 0)
            detail::throw_errno(errno, "updating map", name());
    }

private:
    explicit StandaloneMap(detail::Fd fd) : fd_(std::move(fd)), info_(map_info_by_fd(fd_.get())) {}

    void check_bytes(std::size_t k, std::size_t v, std::string_view op) const {
        this->check_key_size(k, op);
        if (v != this->value_stride())
            throw Error(EINVAL, detail::describe(std::string(op) + " on map", name(),
                                                 "value is " + std::to_string(v) + " bytes, the map needs " +
                                                     std::to_string(this->value_stride())));
    }

    detail::Fd fd_;
    MapInfo info_;
};

}  // namespace bpf
