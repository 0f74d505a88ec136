// bpf::Map: a handle to a map of a Module (wraps bpf_map).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"
#include "detail/load_checks.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.hpp"
#include "link.hpp"
#include "map_ops.hpp"

namespace bpf {

/// Flags of Map::update (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
///
/// ```cpp
/// mod.map("counts").update(key, value, bpf::UpdateFlag::NoExist);   // throws if key exists
/// ```
enum class UpdateFlag : std::uint64_t {
    Any = BPF_ANY,          ///< create or replace
    NoExist = BPF_NOEXIST,  ///< create only; fails when the key exists
    Exist = BPF_EXIST,      ///< replace only; fails when the key is missing
    Lock = BPF_F_LOCK,      ///< update under the value's bpf_spin_lock
};

/// Keys and values cross the syscall boundary as raw bytes.
template <class T>
concept MapData = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>;

/// The number of possible CPUs (the length of a per-CPU value vector).
inline int num_possible_cpus() {
    int n = libbpf_num_possible_cpus();
    if (n <= 0) detail::throw_errno(-n, "reading", "/sys/devices/system/cpu/possible");
    return n;
}

namespace detail {
inline bool is_per_cpu_type(bpf_map_type t) noexcept {
    return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
           t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}
inline std::size_t round_up8(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }
}  // namespace detail

template <MapData K>
class KeyRange;

/// A map of a Module: configure it before Module::load(), read and write it after.
/// Cheap to copy; valid while its Module lives.
///
/// ```cpp
/// auto counts = mod.map("counts");
/// counts.update(pid, std::uint64_t{0});
/// if (auto v = counts.lookup<std::uint32_t, std::uint64_t>(pid)) use(*v);
/// for (std::uint32_t k : counts.keys<std::uint32_t>()) counts.erase(k);
/// ```
class Map : public MapOps<Map> {
public:
    /// A handle to `map` of object `object_name`; Module::map() makes these.
    Map(bpf_map* map, std::string_view object_name) noexcept
        : map_(map), object_name_(object_name) {}

    // ---- properties -------------------------------------------------------------------
    /// The map's name as libbpf reports it (the name in the BPF source for declared maps).
    [[nodiscard]] std::string_view name() const noexcept { return bpf_map__name(map_); }
    /// The map type, e.g. BPF_MAP_TYPE_HASH; BPF_MAP_TYPE_UNSPEC for a type number that
    /// bpf_map_type cannot hold (see raw_type()).
    [[nodiscard]] bpf_map_type type() const noexcept {
        const std::uint32_t raw = detail::raw_map_type(map_);
        return raw <= detail::max_map_type_value ? static_cast<bpf_map_type>(raw) : BPF_MAP_TYPE_UNSPEC;
    }
    /// The map type as the object gives it, also one no kernel or header knows
    /// (`__uint(type, ~0U)`): such a map opens, and load() refuses it unless
    /// set_autocreate(false) leaves it out.
    [[nodiscard]] std::uint32_t raw_type() const noexcept { return detail::raw_map_type(map_); }
    /// The map's fd, or -1 before load and for a map load() did not create.
    [[nodiscard]] int fd() const noexcept {
        const int f = bpf_map__fd(map_);
        // libbpf >= 1.4 opens a placeholder (a memfd) for every map at open time and, after
        // load(), returns it for a map left out by set_autocreate(false). A map's own fd is
        // an anonymous inode, whose mode has no file type.
        struct stat st{};
        if (f >= 0 && !bpf_map__autocreate(map_) && fstat(f, &st) == 0 && (st.st_mode & S_IFMT) != 0) return -1;
        return f;
    }
    /// Key size in bytes.
    [[nodiscard]] std::uint32_t key_size() const noexcept { return bpf_map__key_size(map_); }
    /// Value size in bytes (of one CPU's value for per-CPU maps).
    [[nodiscard]] std::uint32_t value_size() const noexcept { return bpf_map__value_size(map_); }
    /// Capacity (for a ring buffer: its size in bytes).
    [[nodiscard]] std::uint32_t max_entries() const noexcept { return bpf_map__max_entries(map_); }
    /// The map's BPF_F_* creation flags.
    [[nodiscard]] std::uint32_t flags() const noexcept { return bpf_map__map_flags(map_); }
    /// True for per-CPU maps: use lookup_percpu()/update_percpu().
    [[nodiscard]] bool per_cpu() const noexcept { return detail::is_per_cpu_type(type()); }
    /// Whether load() creates this map.
    [[nodiscard]] bool autocreate() const noexcept { return bpf_map__autocreate(map_); }
    /// True for the maps libbpf makes of .data/.rodata/.bss/.kconfig.
    [[nodiscard]] bool internal() const noexcept { return bpf_map__is_internal(map_); }
    /// Where the map is (or will be) pinned; empty when it is not.
    [[nodiscard]] std::string_view pin_path() const noexcept {
        const char* p = bpf_map__pin_path(map_);
        return p != nullptr ? std::string_view(p) : std::string_view();
    }
    /// True when the map is pinned on a BPF filesystem.
    [[nodiscard]] bool pinned() const noexcept { return bpf_map__is_pinned(map_); }
    /// The interface the map is offloaded to (0: none; libbpfgo's IfIndex).
    [[nodiscard]] std::uint32_t ifindex() const noexcept { return bpf_map__ifindex(map_); }
    /// The map's extra creation parameter (libbpfgo's MapExtra), e.g. a bloom filter's
    /// number of hash functions, or an arena's start address.
    [[nodiscard]] std::uint64_t map_extra() const noexcept { return bpf_map__map_extra(map_); }
    /// The raw libbpf map, for what is not wrapped.
    [[nodiscard]] bpf_map* get() const noexcept { return map_; }

    // ---- before load ------------------------------------------------------------------
    /// libbpfgo's Resize.
    void set_max_entries(std::uint32_t n) { check_config(bpf_map__set_max_entries(map_, n), "resizing"); }
    /// Changes the map type before load (e.g. ring buffer to perf event array).
    void set_type(bpf_map_type t) { check_config(bpf_map__set_type(map_, t), "setting the type of"); }
    /// Changes the key size before load.
    void set_key_size(std::uint32_t n) { check_config(bpf_map__set_key_size(map_, n), "setting the key size of"); }
    /// Changes the value size before load.
    void set_value_size(std::uint32_t n);
    /// Sets the BPF_F_* creation flags before load.
    void set_flags(std::uint32_t f) { check_config(bpf_map__set_map_flags(map_, f), "setting the flags of"); }
    /// Offloads the map to the device `ifindex` before load (libbpfgo's SetIfIndex); the
    /// programs using it must be offloaded to the same device. 0 undoes it.
    void set_ifindex(std::uint32_t ifindex);
    /// Sets map_extra before load (libbpfgo's SetMapExtra), e.g. a bloom filter's number
    /// of hash functions (1-15; 0 means the kernel's default of 5).
    void set_map_extra(std::uint64_t extra);
    /// Whether load() creates this map (false: skip it, e.g. a feature this kernel lacks).
    void set_autocreate(bool on) { check_config(bpf_map__set_autocreate(map_, on), "setting autocreate of"); }
    /// Where load() pins (or reuses) this map; the directory must be on a bpffs.
    void set_pin_path(const std::string& path);
    /// The contents of a global section (.data/.rodata/.bss) at load; size == value_size().
    void set_initial_value(std::span<const std::byte> data);
    /// The current initial value (the data of a .data/.rodata/.bss section).
    [[nodiscard]] std::span<const std::byte> initial_value() const noexcept {
        std::size_t size = 0;
        const void* p = bpf_map__initial_value(map_, &size);
        return {static_cast<const std::byte*>(p), p != nullptr ? size : 0};
    }
    /// Uses `inner`'s definition for the inner maps of this map-in-map; `inner` must
    /// already exist in the kernel (loaded, or a standalone map).
    void set_inner_map(const Map& inner) { set_inner_map_fd(inner.fd()); }
    /// Like set_inner_map(), with the fd of any existing map as the template.
    void set_inner_map_fd(int inner_fd) {
        check_config(bpf_map__set_inner_map_fd(map_, inner_fd), "setting the inner map of");
    }

    // ---- data (after load) ------------------------------------------------------------
    /// The value at `key`, or nullopt when there is none.
    template <MapData K, MapData V>
    [[nodiscard]] std::optional<V> lookup(const K& key, std::uint64_t flags = 0) const {
        check_sizes(sizeof(K), sizeof(V), "lookup");
        V value;
        if (bpf_map_lookup_elem_flags(fd(), &key, &value, flags) == 0) return value;
        if (errno == ENOENT) return std::nullopt;
        fail(errno, "looking up a key in");
    }

    /// Byte version of lookup(): fills `value` and returns true, or false when missing.
    /// For a per-CPU map `value` holds num_possible_cpus() values of round_up(value_size, 8).
    bool lookup_bytes(std::span<const std::byte> key, std::span<std::byte> value,
                      std::uint64_t flags = 0) const;

    /// Writes `value` at `key`; throws when `flag` forbids it or the map is full.
    template <MapData K, MapData V>
    void update(const K& key, const V& value, UpdateFlag flag = UpdateFlag::Any) {
        check_sizes(sizeof(K), sizeof(V), "update");
        if (bpf_map_update_elem(fd(), &key, &value, static_cast<std::uint64_t>(flag)) != 0)
            fail_update(errno, flag);
    }

    /// update() with raw bytes, for layouts known only at run time; sizes are checked.
    void update_bytes(std::span<const std::byte> key, std::span<const std::byte> value,
                      UpdateFlag flag = UpdateFlag::Any);

    /// Removes `key`; false when it was not there.
    template <MapData K>
    bool erase(const K& key) {
        check_key(sizeof(K), "erase");
        return erase_raw(&key);
    }

    /// erase() with a raw key; false when it was not there.
    bool erase_bytes(std::span<const std::byte> key);

    /// Removes `key` and returns the value it had (nullopt when missing); `flags` such as
    /// BPF_F_LOCK (libbpfgo's GetValueAndDeleteKeyFlags).
    template <MapData K, MapData V>
    std::optional<V> lookup_and_erase(const K& key, std::uint64_t flags = 0) {
        check_sizes(sizeof(K), sizeof(V), "lookup_and_erase");
        V value;
        if (bpf_map_lookup_and_delete_elem_flags(fd(), &key, &value, flags) == 0) return value;
        if (errno == ENOENT) return std::nullopt;
        fail(errno, "looking up and deleting a key of");
    }

    /// One value per possible CPU, or nullopt when the key is missing.
    template <MapData K, MapData V>
    [[nodiscard]] std::optional<std::vector<V>> lookup_percpu(const K& key) const {
        check_percpu(sizeof(K), sizeof(V), "lookup_percpu");
        const std::size_t stride = detail::round_up8(sizeof(V));
        const auto ncpu = static_cast<std::size_t>(num_possible_cpus());
        std::vector<std::byte> raw(stride * ncpu);
        if (bpf_map_lookup_elem(fd(), &key, raw.data()) != 0) {
            if (errno == ENOENT) return std::nullopt;
            fail(errno, "looking up a key in");
        }
        std::vector<V> out(ncpu);
        for (std::size_t i = 0; i < ncpu; ++i) std::memcpy(&out[i], raw.data() + i * stride, sizeof(V));
        return out;
    }

    /// Writes one value per possible CPU (`values.size()` must be num_possible_cpus()).
    template <MapData K, MapData V>
    void update_percpu(const K& key, std::span<const V> values, UpdateFlag flag = UpdateFlag::Any) {
        check_percpu(sizeof(K), sizeof(V), "update_percpu");
        const std::size_t stride = detail::round_up8(sizeof(V));
        const auto ncpu = static_cast<std::size_t>(num_possible_cpus());
        if (values.size() != ncpu)
            throw Error(EINVAL, detail::describe("updating per-CPU map", name(),
                                                 "got " + std::to_string(values.size()) +
                                                     " values, need one per possible CPU (" +
                                                     std::to_string(ncpu) + ")"));
        std::vector<std::byte> raw(stride * ncpu);
        for (std::size_t i = 0; i < ncpu; ++i) std::memcpy(raw.data() + i * stride, &values[i], sizeof(V));
        if (bpf_map_update_elem(fd(), &key, raw.data(), static_cast<std::uint64_t>(flag)) != 0)
            fail_update(errno, flag);
    }

    /// All keys, in the kernel's order (bpf_map_get_next_key). A key erased while
    /// iterating restarts a hash map's walk, as the kernel defines it.
    template <MapData K>
    [[nodiscard]] KeyRange<K> keys() const;

    // ---- pinning ----------------------------------------------------------------------
    /// Pins the loaded map at `path` (on a bpffs).
    void pin(const std::string& path);
    /// Removes the pin (at `path`, or the map's pin path when empty).
    void unpin(const std::string& path = {});

    // ---- parity: map-in-map, fd reuse, struct_ops (batches, queues, items(), freeze,
    // info() and mmap() come from MapOps) ------------------------------------------------
    /// The inner-map prototype of a map-in-map, before load (libbpfgo's InnerMapInfo);
    /// nullopt for other maps. libbpf frees the prototype once the outer map is created.
    [[nodiscard]] std::optional<Map> inner_map() const;

    /// Makes this map use the existing map `fd` (dup'ed) instead of creating one at load,
    /// e.g. a map pinned or shared by another process (libbpfgo's ReuseFD). libbpf takes
    /// the reused map's name too, so give both the same name to keep finding it by name.
    void reuse_fd(int fd) { check_config(bpf_map__reuse_fd(map_, fd), "reusing an fd for"); }

    /// Registers a struct_ops map (e.g. a tcp_congestion_ops) with the kernel; the
    /// registration lasts as long as the returned Link (libbpfgo's AttachStructOps).
    [[nodiscard]] Link attach_struct_ops();

    // ---- used by the rest of the library ----------------------------------------------
    /// Throws unless the map exists in the kernel.
    void require_loaded(std::string_view op) const;

    /// Throws an Error for `what` on this map with errno `err`.
    [[noreturn]] void fail(int err, std::string_view what) const;

    /// "NAME' of object 'OBJ", to be quoted by detail::describe().
    [[nodiscard]] std::string qualified_name() const;

private:
    void check_config(int ret, std::string_view what);

    void check_key(std::size_t key, std::string_view op) const;

    void check_sizes(std::size_t key, std::size_t value, std::string_view op, bool bytes = false) const;

    void check_percpu(std::size_t key, std::size_t value, std::string_view op) const;

    bool erase_raw(const void* key);

    [[noreturn]] void fail_update(int err, UpdateFlag flag) const;

    bpf_map* map_;
    std::string_view object_name_;  // owned by the Module's state
};

/// Input range over the keys of a map; see Map::keys().
///
/// ```cpp
/// for (std::uint32_t pid : mod.map("execs").keys<std::uint32_t>()) print(pid);
/// ```
template <MapData K>
class KeyRange {
public:
    class iterator {
    public:
        using value_type = K;
        using difference_type = std::ptrdiff_t;
        using reference = const K&;
        using pointer = const K*;
        using iterator_category = std::input_iterator_tag;

        iterator() = default;
        const K& operator*() const noexcept { return key_; }
        const K* operator->() const noexcept { return &key_; }
        iterator& operator++() {
            advance(&key_);
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.done_; }

    private:
        friend class KeyRange;
        explicit iterator(const Map& map) : map_(map) { advance(nullptr); }
        void advance(const K* prev) {
            K next;
            if (bpf_map_get_next_key(map_.fd(), prev, &next) == 0) {
                key_ = next;
                return;
            }
            if (errno == ENOENT) {
                done_ = true;
                return;
            }
            map_.fail(errno, "iterating the keys of");
        }

        Map map_{nullptr, {}};  // a copy: the iterator may outlive the range object
        K key_{};
        bool done_ = false;
    };

    /// The keys of `map`, walked with get_next_key as the loop advances.
    explicit KeyRange(Map map) : map_(map) {}
    /// Reads the first key.
    iterator begin() const { return iterator(map_); }
    /// Reached after the last key.
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    Map map_;
};

template <MapData K>
KeyRange<K> Map::keys() const {
    require_loaded("iterating keys of");
    if (sizeof(K) != key_size())
        throw Error(EINVAL, detail::describe("iterating keys of map", qualified_name(),
                                             "key is " + std::to_string(sizeof(K)) + " bytes, the map's keys are " +
                                                 std::to_string(key_size())));
    return KeyRange<K>(*this);
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void Map::set_value_size(std::uint32_t n) {
    check_config(bpf_map__set_value_size(map_, n), "setting the value size of");
}

LIBBPFCPP_INLINE void Map::set_ifindex(std::uint32_t ifindex) {
    check_config(bpf_map__set_ifindex(map_, ifindex), "setting the ifindex of");
}

LIBBPFCPP_INLINE void Map::set_map_extra(std::uint64_t extra) {
    check_config(bpf_map__set_map_extra(map_, extra), "setting map_extra of");
}

LIBBPFCPP_INLINE void Map::set_pin_path(const std::string& path) {
    check_config(bpf_map__set_pin_path(map_, path.c_str()), "setting the pin path of");
}

LIBBPFCPP_INLINE void Map::set_initial_value(std::span<const std::byte> data) {
    if (!internal())
        throw Error(EINVAL, detail::describe("setting the initial value of map", qualified_name(),
                                             "only global-variable sections (.data, .rodata, .bss) "
                                             "take an initial value; fill other maps after load()"));
    if (data.size() != value_size())
        throw Error(EINVAL, detail::describe("setting the initial value of map", qualified_name(),
                                             "got " + std::to_string(data.size()) + " bytes, the section has " +
                                                 std::to_string(value_size())));
    check_config(bpf_map__set_initial_value(map_, data.data(), data.size()),
                 "setting the initial value of");
}

LIBBPFCPP_INLINE bool Map::lookup_bytes(std::span<const std::byte> key, std::span<std::byte> value,
                                        std::uint64_t flags) const {
    check_sizes(key.size(), value.size(), "lookup_bytes", true);
    if (bpf_map_lookup_elem_flags(fd(), key.data(), value.data(), flags) == 0) return true;
    if (errno == ENOENT) return false;
    fail(errno, "looking up a key in");
}

LIBBPFCPP_INLINE void Map::update_bytes(std::span<const std::byte> key, std::span<const std::byte> value,
                                        UpdateFlag flag) {
    check_sizes(key.size(), value.size(), "update_bytes", true);
    if (bpf_map_update_elem(fd(), key.data(), value.data(), static_cast<std::uint64_t>(flag)) != 0)
        fail_update(errno, flag);
}

LIBBPFCPP_INLINE bool Map::erase_bytes(std::span<const std::byte> key) {
    check_key(key.size(), "erase_bytes");
    return erase_raw(key.data());
}

LIBBPFCPP_INLINE void Map::pin(const std::string& path) {
    detail::require_bpffs(path, "pinning map", name());
    if (int err = bpf_map__pin(map_, path.c_str()); err != 0)
        fail(detail::positive_errno(err), "pinning at '" + path + "'");
}

LIBBPFCPP_INLINE void Map::unpin(const std::string& path) {
    if (int err = bpf_map__unpin(map_, path.empty() ? nullptr : path.c_str()); err != 0)
        fail(detail::positive_errno(err), "unpinning");
}

LIBBPFCPP_INLINE std::optional<Map> Map::inner_map() const {
    bpf_map* inner = bpf_map__inner_map(map_);
    if (inner == nullptr) return std::nullopt;
    return Map(inner, object_name_);
}

LIBBPFCPP_INLINE Link Map::attach_struct_ops() {
    require_loaded("attaching struct_ops map");
    bpf_link* l = bpf_map__attach_struct_ops(map_);
    if (l == nullptr) fail(errno, "attaching struct_ops");
    return Link(l, "struct_ops " + std::string(name()));
}

LIBBPFCPP_INLINE void Map::require_loaded(std::string_view op) const {
    if (fd() < 0)
        throw Error(EBADF, detail::describe(op, name(),
                                            "the map is not created yet; call Module::load() first"));
}

LIBBPFCPP_INLINE void Map::fail(int err, std::string_view what) const {
    detail::throw_errno(err, std::string(what) + " map", qualified_name());
}

LIBBPFCPP_INLINE std::string Map::qualified_name() const {
    std::string s(name());
    if (!object_name_.empty()) s.append("' of object '").append(object_name_);
    return s;
}

LIBBPFCPP_INLINE void Map::check_config(int ret, std::string_view what) {
    if (ret == 0) return;
    int err = detail::positive_errno(ret);
    if (err == EBUSY)
        throw Error(err, detail::describe(std::string(what) + " map", qualified_name(),
                                          "the object is already loaded; configure maps before Module::load()"));
    fail(err, what);
}

LIBBPFCPP_INLINE void Map::check_key(std::size_t key, std::string_view op) const {
    require_loaded(op);
    if (key != key_size())
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", qualified_name(),
                                             "key is " + std::to_string(key) + " bytes, the map's keys are " +
                                                 std::to_string(key_size())));
}

LIBBPFCPP_INLINE void Map::check_sizes(std::size_t key, std::size_t value, std::string_view op, bool bytes) const {
    check_key(key, op);
    const bool pcpu = per_cpu();
    if (pcpu && !bytes)
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", qualified_name(),
                                             "the map is per-CPU; use lookup_percpu/update_percpu"));
    std::size_t want = value_size();
    if (pcpu) want = detail::round_up8(want) * static_cast<std::size_t>(num_possible_cpus());
    if (value != want)
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", qualified_name(),
                                             "value is " + std::to_string(value) + " bytes, the map needs " +
                                                 std::to_string(want)));
}

LIBBPFCPP_INLINE void Map::check_percpu(std::size_t key, std::size_t value, std::string_view op) const {
    check_key(key, op);
    if (!per_cpu())
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", qualified_name(),
                                             "the map is not per-CPU; use lookup/update"));
    if (value != value_size())
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", qualified_name(),
                                             "value is " + std::to_string(value) +
                                                 " bytes, the map's values are " + std::to_string(value_size())));
}

LIBBPFCPP_INLINE bool Map::erase_raw(const void* key) {
    if (bpf_map_delete_elem(fd(), key) == 0) return true;
    if (errno == ENOENT) return false;
    fail(errno, "deleting a key of");
}

LIBBPFCPP_INLINE void Map::fail_update(int err, UpdateFlag flag) const {
    const bool is_array = type() == BPF_MAP_TYPE_ARRAY || type() == BPF_MAP_TYPE_PERCPU_ARRAY;
    std::string why;
    if (err == EEXIST && is_array) why = "array entries always exist; UpdateFlag::NoExist cannot apply";
    else if (err == EEXIST && flag == UpdateFlag::NoExist) why = "the key exists and UpdateFlag::NoExist was given";
    else if (err == ENOENT && flag == UpdateFlag::Exist) why = "the key is missing and UpdateFlag::Exist was given";
    else if (err == E2BIG && is_array)
        why = "index out of range (max_entries " + std::to_string(max_entries()) + ")";
    else if (err == E2BIG) why = "the map is full (max_entries " + std::to_string(max_entries()) + ")";
    else why = detail::explain_errno(err);
    detail::throw_errno(err, "updating map", qualified_name(), why);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
