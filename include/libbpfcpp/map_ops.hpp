// Map operations shared by bpf::Map and bpf::StandaloneMap: batch lookup/update/delete,
// whole-map reads that use batches when the kernel can, queue/stack push/pop/peek,
// freeze, map info (object_info.hpp), and mmap'ed arrays exposed as std::span.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.hpp"
#include "object_info.hpp"

namespace bpf {

/// How MapOps::read_all() walks a map.
///
/// ```cpp
/// std::vector<Key> keys; std::vector<Value> values;
/// bool batched = map.read_all(keys, values, bpf::ReadMethod::PerKey);   // force the per-key walk
/// ```
enum class ReadMethod {
    Auto,    ///< batches when the kernel has them for this map type, else per key
    Batch,   ///< batch lookups only (throws where unsupported)
    PerKey,  ///< bpf_map_get_next_key + lookup for every key (two syscalls per entry)
};

/// Position of a batch walk over a map (Map::lookup_batch and friends). Start with a
/// default-constructed cursor; done() turns true once the walk reached the end. A walk
/// can also resume from a position, as libbpfgo's GetValueBatch(key, startKey, ...) does:
/// BatchCursor::after(token) starts right after `token`. For arrays (and the other maps
/// the kernel walks by key) the token is a key; for hash maps it is the kernel's u32
/// bucket position, which only token() of an earlier cursor gives.
///
/// ```cpp
/// bpf::BatchCursor c;
/// std::vector<Key> k(512); std::vector<Value> v(512);
/// while (!c.done()) use(k, v, map.lookup_batch<Key, Value>(k, v, c));
/// auto from10 = bpf::BatchCursor::after(std::uint32_t{9});   // array: keys 10, 11, ...
/// ```
class BatchCursor {
public:
    BatchCursor() = default;

    /// A cursor whose next batch starts after the entry at `token` (see the class comment).
    template <class T>
        requires std::is_trivially_copyable_v<T>
    [[nodiscard]] static BatchCursor after(const T& token) noexcept {
        static_assert(sizeof(T) <= sizeof(token_), "a batch token is at most 64 bytes (a map key)");
        BatchCursor c;
        std::memcpy(c.token_, &token, sizeof(T));
        c.started_ = true;
        return c;
    }

    /// Where the last batch ended, as a `T` (a key for arrays, std::uint32_t for hash
    /// maps); BatchCursor::after() of it resumes the walk there. Throws before the first batch.
    template <class T>
        requires std::is_trivially_copyable_v<T>
    [[nodiscard]] T token() const {
        static_assert(sizeof(T) <= sizeof(token_), "a batch token is at most 64 bytes (a map key)");
        if (!started_)
            throw Error(EINVAL, "BatchCursor::token(): no batch has been read with this cursor yet");
        T out;
        std::memcpy(&out, token_, sizeof(T));
        return out;
    }

    /// True once the walk has read the last batch.
    [[nodiscard]] bool done() const noexcept { return done_; }
    /// Starts the walk over from the beginning.
    void reset() noexcept {
        started_ = false;
        done_ = false;
    }

private:
    template <class D>
    friend class MapOps;
    // The kernel's batch token: a u32 bucket for hash maps, a key for the others.
    alignas(8) std::byte token_[64]{};
    bool started_ = false;
    bool done_ = false;
};

/// A BPF_F_MMAPABLE array map mapped into this process: element i is span()[i], read
/// and written with no system call. Move-only; unmaps on destruction. Valid beyond the
/// life of the map's fd (the mapping holds the map).
///
/// ```cpp
/// auto arr = mod.map("counters").mmap<std::uint64_t>();
/// arr.span()[3] += 1;           // seen by the BPF program at once
/// ```
template <class T>
class MappedArray {
public:
    MappedArray() = default;
    /// Takes ownership of a mapping of `bytes` bytes holding `count` elements.
    MappedArray(void* addr, std::size_t bytes, std::size_t count) noexcept
        : addr_(addr), bytes_(bytes), count_(count) {}
    /// Moves the mapping; `o` becomes empty.
    MappedArray(MappedArray&& o) noexcept
        : addr_(std::exchange(o.addr_, nullptr)), bytes_(o.bytes_), count_(std::exchange(o.count_, 0)) {}
    /// Unmaps the mapping held, then takes over `o`'s.
    MappedArray& operator=(MappedArray&& o) noexcept {
        if (this != &o) {
            unmap();
            addr_ = std::exchange(o.addr_, nullptr);
            bytes_ = o.bytes_;
            count_ = std::exchange(o.count_, 0);
        }
        return *this;
    }
    MappedArray(const MappedArray&) = delete;
    MappedArray& operator=(const MappedArray&) = delete;
    ~MappedArray() { unmap(); }

    /// The elements, shared live with the BPF side.
    [[nodiscard]] std::span<T> span() const noexcept { return {static_cast<T*>(addr_), count_}; }
    /// The number of elements.
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    /// Element `i` (unchecked).
    T& operator[](std::size_t i) const noexcept { return static_cast<T*>(addr_)[i]; }

private:
    void unmap() noexcept {
        if (addr_ != nullptr) munmap(std::exchange(addr_, nullptr), bytes_);
    }
    void* addr_ = nullptr;
    std::size_t bytes_ = 0;
    std::size_t count_ = 0;
};

namespace detail {

inline bool is_per_cpu_map(bpf_map_type t) noexcept {
    return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
           t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

/// The kernel's ENOTSUPP (524): "this map type has no batch operations".
inline constexpr int kernel_enotsupp = 524;

inline bool is_batch_unsupported(int err) noexcept {
    return err == EINVAL || err == kernel_enotsupp || err == EOPNOTSUPP || err == ENOSYS;
}

}  // namespace detail

/// The operations of a map that need only its fd and sizes; inherited by bpf::Map and
/// bpf::StandaloneMap. `D` provides fd(), type(), key_size(), value_size(),
/// max_entries(), name() and qualified_name().
///
/// ```cpp
/// auto all = mod.map("counts").items<Key, Value>();                      // a map of a Module
/// auto same = bpf::StandaloneMap::from_pin("/sys/fs/bpf/counts").items<Key, Value>();   // or any map
/// ```
template <class D>
class MapOps {
public:
    // ---- batches ----------------------------------------------------------------------
    /// Reads up to `keys.size()` entries from `cursor` on, in one system call; returns how
    /// many were read. `cursor.done()` turns true at the end of the map. For per-CPU maps
    /// use lookup_batch_bytes(). (libbpfgo's GetValueBatch.)
    ///
    /// ```cpp
    /// bpf::BatchCursor c;
    /// std::vector<std::uint32_t> k(256); std::vector<std::uint64_t> v(256);
    /// while (!c.done()) { auto n = map.lookup_batch<std::uint32_t, std::uint64_t>(k, v, c); use(n); }
    /// ```
    template <class K, class V>
    std::size_t lookup_batch(std::span<K> keys, std::span<V> values, BatchCursor& cursor) const {
        check_kv(sizeof(K), sizeof(V), "lookup_batch");
        return batch_read(keys.data(), values.data(), std::min(keys.size(), values.size()), cursor, false);
    }
    /// Like lookup_batch(), and deletes what it read (libbpfgo's GetValueAndDeleteBatch).
    template <class K, class V>
    std::size_t lookup_and_erase_batch(std::span<K> keys, std::span<V> values, BatchCursor& cursor) {
        check_kv(sizeof(K), sizeof(V), "lookup_and_erase_batch");
        return batch_read(keys.data(), values.data(), std::min(keys.size(), values.size()), cursor, true);
    }
    /// Byte version for any map, per-CPU included: `values` holds value_stride() bytes per entry.
    std::size_t lookup_batch_bytes(std::span<std::byte> keys, std::span<std::byte> values, BatchCursor& cursor,
                                   bool and_erase = false) const;

    /// Writes `keys[i]` -> `values[i]` in one system call; returns how many were written
    /// (libbpfgo's UpdateBatch). The kernel writes in order; a map that fills up on the
    /// way (E2BIG) is not an error here: the count says how far it got (`n < keys.size()`).
    /// Anything else throws, e.g. a map type without batches, or `elem_flags` other than
    /// BPF_ANY / BPF_F_LOCK (the kernel takes no BPF_NOEXIST or BPF_EXIST in batches).
    ///
    /// ```cpp
    /// std::size_t n = map.update_batch<std::uint32_t, std::uint64_t>(keys, values);
    /// if (n < keys.size()) warn("map full after", n);
    /// ```
    template <class K, class V>
    std::size_t update_batch(std::span<const K> keys, std::span<const V> values, std::uint64_t elem_flags = BPF_ANY) {
        check_kv(sizeof(K), sizeof(V), "update_batch");
        if (keys.size() != values.size())
            throw Error(EINVAL, detail::describe("update_batch on map", self().qualified_name(),
                                                 std::to_string(keys.size()) + " keys but " +
                                                     std::to_string(values.size()) + " values"));
        auto count = static_cast<std::uint32_t>(keys.size());
        LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags);
        if (bpf_map_update_batch(self().fd(), keys.data(), values.data(), &count, &opts) != 0) {
            const int err = errno;
            if (err == E2BIG && count < keys.size()) return count;  // the map is full
            std::string why = detail::explain_errno(err);
            if (detail::is_batch_unsupported(err)) why = "this map type or kernel has no batch operations, or the "
                                                         "flags are invalid; use update() per key";
            throw Error(err, detail::describe("update_batch on map", self().qualified_name(),
                                              "stopped after " + std::to_string(count) + " of " +
                                                  std::to_string(keys.size()) + " entries: " + why));
        }
        return count;
    }

    /// Deletes `keys` in one system call; returns how many were deleted. A missing key
    /// ends the batch early (the kernel's rule), which is not an error here
    /// (libbpfgo's DeleteKeyBatch).
    template <class K>
    std::size_t erase_batch(std::span<const K> keys) {
        check_key_size(sizeof(K), "erase_batch");
        auto count = static_cast<std::uint32_t>(keys.size());
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        if (bpf_map_delete_batch(self().fd(), keys.data(), &count, &opts) != 0 && errno != ENOENT)
            detail::throw_errno(errno, "erase_batch on map", self().qualified_name());
        return count;
    }

    // ---- whole map --------------------------------------------------------------------
    /// Every key and value, read with batch lookups (a few system calls for the whole
    /// map) when the kernel supports them for this map type, else with get_next_key and
    /// lookup per key.
    template <class K, class V>
    [[nodiscard]] std::vector<std::pair<K, V>> items() const {
        check_kv(sizeof(K), sizeof(V), "items");
        std::vector<K> keys;
        std::vector<V> values;
        read_all(keys, values);
        std::vector<std::pair<K, V>> out;
        out.reserve(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i) out.emplace_back(keys[i], values[i]);
        return out;
    }
    /// Every key, read like items().
    template <class K>
    [[nodiscard]] std::vector<K> all_keys() const {
        check_key_size(sizeof(K), "all_keys");
        std::vector<K> keys;
        std::vector<std::byte> values;
        read_all_raw(keys, values);
        return keys;
    }
    /// Reads the whole map into `keys` and `values` (resized), reusing their capacity.
    /// Returns true when batch operations were used.
    template <class K, class V>
    bool read_all(std::vector<K>& keys, std::vector<V>& values, ReadMethod how = ReadMethod::Auto) const {
        check_kv(sizeof(K), sizeof(V), "read_all");
        return read_all_raw(keys, values, how);
    }
    /// Whether whole-map reads of this map use batch operations on this kernel.
    [[nodiscard]] bool batch_supported() const;

    /// The key after `key` (the first key when nullopt), or nullopt at the end
    /// (libbpfgo's GetNextKey).
    template <class K>
    [[nodiscard]] std::optional<K> next_key(const std::optional<K>& key) const {
        check_key_size(sizeof(K), "next_key");
        K next;
        if (bpf_map_get_next_key(self().fd(), key ? &*key : nullptr, &next) == 0) return next;
        if (errno == ENOENT) return std::nullopt;
        detail::throw_errno(errno, "next_key on map", self().qualified_name());
    }

    // ---- queue and stack --------------------------------------------------------------
    /// Adds `value` to a queue or stack map; with UpdateFlag-like `flags` BPF_EXIST a full
    /// map drops its oldest entry instead of failing.
    template <class V>
    void push(const V& value, std::uint64_t flags = BPF_ANY) {
        check_queue(sizeof(V), "push");
        if (bpf_map_update_elem(self().fd(), nullptr, &value, flags) != 0) {
            const int err = errno;
            detail::throw_errno(err, "pushing to map", self().qualified_name(),
                                err == E2BIG ? "the map is full (max_entries " + std::to_string(self().max_entries()) +
                                                   "); push with BPF_EXIST to drop the oldest entry"
                                             : detail::explain_errno(err));
        }
    }
    /// Removes and returns the next value (oldest for a queue, newest for a stack), or
    /// nullopt when empty.
    template <class V>
    std::optional<V> pop() {
        check_queue(sizeof(V), "pop");
        V v;
        if (bpf_map_lookup_and_delete_elem(self().fd(), nullptr, &v) == 0) return v;
        if (errno == ENOENT) return std::nullopt;
        detail::throw_errno(errno, "popping from map", self().qualified_name());
    }
    /// The value pop() would return, without removing it.
    template <class V>
    [[nodiscard]] std::optional<V> peek() const {
        check_queue(sizeof(V), "peek");
        V v;
        if (bpf_map_lookup_elem(self().fd(), nullptr, &v) == 0) return v;
        if (errno == ENOENT) return std::nullopt;
        detail::throw_errno(errno, "peeking at map", self().qualified_name());
    }

    // ---- state --------------------------------------------------------------------------
    /// Makes the map read-only for user space from now on (BPF programs still write it).
    void freeze();

    /// The kernel's view of the map (id, flags, BTF ids, ...).
    [[nodiscard]] MapInfo info() const;

    /// Maps a BPF_F_MMAPABLE array into memory: element access with no system call.
    /// sizeof(T) must equal the value size rounded up to 8 (the kernel's element stride).
    template <class T>
    [[nodiscard]] MappedArray<T> mmap() const {
        static_assert(std::is_trivially_copyable_v<T>, "mapped elements must be trivially copyable");
        const auto& d = self();
        require_fd("mmap of");
        if (d.type() != BPF_MAP_TYPE_ARRAY)
            throw Error(EINVAL, detail::describe("mmap of map", d.qualified_name(), "only array maps can be mmap'ed"));
        if ((map_flags() & BPF_F_MMAPABLE) == 0)
            throw Error(EINVAL, detail::describe("mmap of map", d.qualified_name(),
                                                 "the map lacks BPF_F_MMAPABLE; declare it with "
                                                 "__uint(map_flags, BPF_F_MMAPABLE)"));
        const std::size_t stride = (static_cast<std::size_t>(d.value_size()) + 7) & ~std::size_t{7};
        if (sizeof(T) != stride)
            throw Error(EINVAL, detail::describe("mmap of map", d.qualified_name(),
                                                 "element type is " + std::to_string(sizeof(T)) +
                                                     " bytes, the map's element stride is " + std::to_string(stride)));
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t bytes = (stride * d.max_entries() + page - 1) / page * page;
        const int prot = (map_flags() & BPF_F_RDONLY_PROG) != 0 ? PROT_READ : PROT_READ | PROT_WRITE;
        void* addr = ::mmap(nullptr, bytes, prot, MAP_SHARED, d.fd(), 0);
        if (addr == MAP_FAILED) detail::throw_errno(errno, "mmap of map", d.qualified_name());
        return MappedArray<T>(addr, bytes, d.max_entries());
    }

    /// Bytes of one value as the kernel exchanges it: the value size, or for per-CPU maps
    /// round_up(value size, 8) times the number of possible CPUs.
    [[nodiscard]] std::size_t value_stride() const;

protected:
    /// The derived map (CRTP).
    [[nodiscard]] const D& self() const noexcept { return static_cast<const D&>(*this); }

    /// The creation flags as the kernel reports them.
    std::uint32_t map_flags() const { return info().map_flags; }

    /// Throws unless the map exists in the kernel (after Module::load()).
    void require_fd(std::string_view op) const;

    /// Throws unless the map exists and its keys are `k` bytes.
    void check_key_size(std::size_t k, std::string_view op) const;

    /// Throws unless keys are `k` bytes and values (all CPUs' for per-CPU maps) `v` bytes.
    void check_kv(std::size_t k, std::size_t v, std::string_view op) const;

    /// Throws unless this is a queue, stack or bloom filter with `v`-byte values.
    void check_queue(std::size_t v, std::string_view op) const;

    /// Reads (and with `and_delete` removes) up to `n` entries from cursor `c`; returns how many.
    std::size_t batch_read(void* keys, void* values, std::size_t n, BatchCursor& c, bool and_delete) const;

    template <class K, class VBuf>
    /// Reads every entry into `keys` and `values`; true when batches were used.
    bool read_all_raw(std::vector<K>& keys, std::vector<VBuf>& values, ReadMethod how = ReadMethod::Auto) const {
        const auto& d = self();
        const std::size_t stride = value_stride();
        const std::size_t per = stride / sizeof(VBuf);  // VBuf elements per entry
        keys.clear();
        values.clear();
        if (how == ReadMethod::Batch || (how == ReadMethod::Auto && batch_supported())) {
            // A chunk large enough for any hash bucket, small enough to stay in cache-sized memory.
            const std::size_t chunk = std::clamp<std::size_t>(d.max_entries(), 1, 16384);
            BatchCursor c;
            std::size_t have = 0;
            while (!c.done()) {
                keys.resize(have + chunk);
                values.resize((have + chunk) * per);
                std::size_t got = batch_read(keys.data() + have, values.data() + have * per, chunk, c, false);
                have += got;
            }
            keys.resize(have);
            values.resize(have * per);
            return true;
        }
        K key;
        K last;
        bool have_last = false;
        std::vector<std::byte> v(stride);
        while (bpf_map_get_next_key(d.fd(), have_last ? &last : nullptr, &key) == 0) {
            // A key deleted between the two calls is skipped, not an error.
            if (bpf_map_lookup_elem(d.fd(), &key, v.data()) == 0) {
                keys.push_back(key);
                values.resize(values.size() + per);
                std::memcpy(values.data() + values.size() - per, v.data(), stride);
            }
            last = key;
            have_last = true;
        }
        if (errno != ENOENT) detail::throw_errno(errno, "reading every entry of map", d.qualified_name());
        return false;
    }

private:
    mutable bool batch_known_ = false;
    mutable bool batch_ok_ = false;
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

template <class D>
LIBBPFCPP_INLINE std::size_t MapOps<D>::lookup_batch_bytes(std::span<std::byte> keys,
                                                           std::span<std::byte> values, BatchCursor& cursor,
                                                           bool and_erase) const {
    if (self().key_size() == 0)
        throw Error(EINVAL, detail::describe("lookup_batch_bytes on map", self().qualified_name(),
                                             "the map has no keys (a queue, stack or ring buffer); read it "
                                             "with pop()/peek() or its buffer type instead"));
    const std::size_t n = std::min(keys.size() / self().key_size(), values.size() / value_stride());
    return batch_read(keys.data(), values.data(), n, cursor, and_erase);
}

template <class D>
LIBBPFCPP_INLINE bool MapOps<D>::batch_supported() const {
    if (!batch_known_) {
        std::vector<std::byte> k(self().key_size()), v(value_stride());
        BatchCursor c;
        std::uint32_t count = 1;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int ret = bpf_map_lookup_batch(self().fd(), nullptr, c.token_, k.data(), v.data(), &count, &opts);
        batch_ok_ = ret == 0 || !detail::is_batch_unsupported(errno);
        batch_known_ = true;
    }
    return batch_ok_;
}

template <class D>
LIBBPFCPP_INLINE void MapOps<D>::freeze() {
    require_fd("freezing");
    if (bpf_map_freeze(self().fd()) != 0)
        detail::throw_errno(errno, "freezing map", self().qualified_name(),
                            errno == EBUSY ? "the map is mmap'ed writable or already frozen"
                                           : detail::explain_errno(errno));
}

template <class D>
LIBBPFCPP_INLINE MapInfo MapOps<D>::info() const {
    require_fd("reading the info of");
    return map_info_by_fd(self().fd());
}

template <class D>
LIBBPFCPP_INLINE std::size_t MapOps<D>::value_stride() const {
    const auto& d = self();
    if (!detail::is_per_cpu_map(d.type())) return d.value_size();
    int n = libbpf_num_possible_cpus();
    if (n <= 0) detail::throw_errno(-n, "reading", "/sys/devices/system/cpu/possible");
    return ((static_cast<std::size_t>(d.value_size()) + 7) & ~std::size_t{7}) * static_cast<std::size_t>(n);
}

template <class D>
LIBBPFCPP_INLINE void MapOps<D>::require_fd(std::string_view op) const {
    if (self().fd() < 0)
        throw Error(EBADF, detail::describe(std::string(op) + " map", self().qualified_name(),
                                            "the map is not created yet; call Module::load() first"));
}

template <class D>
LIBBPFCPP_INLINE void MapOps<D>::check_key_size(std::size_t k, std::string_view op) const {
    const auto& d = self();
    if (d.fd() < 0)
        detail::throw_error(EBADF, detail::cat({op, " on map"}), d.qualified_name(),
                            {"the map is not created yet; call Module::load() first"});
    if (k != d.key_size())
        detail::throw_error(EINVAL, detail::cat({op, " on map"}), d.qualified_name(),
                            {"key is ", detail::Decimal(k), " bytes, the map's keys are ", detail::Decimal(d.key_size())});
}

template <class D>
LIBBPFCPP_INLINE void MapOps<D>::check_kv(std::size_t k, std::size_t v, std::string_view op) const {
    check_key_size(k, op);
    const std::size_t want = value_stride();
    if (v != want)
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", self().qualified_name(),
                                             "value is " + std::to_string(v) + " bytes, the map needs " +
                                                 std::to_string(want) +
                                                 (detail::is_per_cpu_map(self().type())
                                                      ? " (per-CPU: use the byte version or TypedPerCpuMap)"
                                                      : "")));
}

template <class D>
LIBBPFCPP_INLINE void MapOps<D>::check_queue(std::size_t v, std::string_view op) const {
    const auto& d = self();
    if (d.type() != BPF_MAP_TYPE_QUEUE && d.type() != BPF_MAP_TYPE_STACK && d.type() != BPF_MAP_TYPE_BLOOM_FILTER)
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", d.qualified_name(),
                                             "only queue, stack and bloom-filter maps have push/pop/peek"));
    check_key_size(0, op);
    if (v != d.value_size())
        throw Error(EINVAL, detail::describe(std::string(op) + " on map", d.qualified_name(),
                                             "value is " + std::to_string(v) + " bytes, the map's values are " +
                                                 std::to_string(d.value_size())));
}

template <class D>
LIBBPFCPP_INLINE std::size_t MapOps<D>::batch_read(void* keys, void* values, std::size_t n, BatchCursor& c,
                                                   bool and_delete) const {
    if (c.done_ || n == 0) return 0;
    auto count = static_cast<std::uint32_t>(n);
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    // The kernel reads in_batch before it writes out_batch, so one buffer serves both.
    void* in = c.started_ ? c.token_ : nullptr;
    int ret = and_delete ? bpf_map_lookup_and_delete_batch(self().fd(), in, c.token_, keys, values, &count, &opts)
                         : bpf_map_lookup_batch(self().fd(), in, c.token_, keys, values, &count, &opts);
    if (ret != 0) {
        const int err = errno;
        if (err != ENOENT) {
            std::string why = detail::explain_errno(err);
            if (err == ENOSPC) why = "a hash bucket holds more entries than the batch has room for; use a larger batch";
            if (detail::is_batch_unsupported(err)) why = "this map type or kernel has no batch operations";
            detail::throw_errno(err, and_delete ? "lookup_and_erase_batch on map" : "lookup_batch on map",
                                self().qualified_name(), why);
        }
        c.done_ = true;
    }
    c.started_ = true;
    return count;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
