// bpf::TypedMap<K, V> and bpf::TypedPerCpuMap<K, V>: a map whose key and value types
// are checked once, with STL-like lookup/insert/erase and batch-backed iteration.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <bpf/bpf.h>

#include "error.hpp"
#include "map.hpp"
#include "map_ops.hpp"

namespace bpf {

namespace detail {

[[gnu::cold]] LIBBPFCPP_INLINE std::string type_mismatch(std::string_view what, std::size_t have, std::size_t want);

/// The checks of the TypedMap and TypedPerCpuMap constructors, out of the templates: throws
/// the first that fails for map `name` (`typed_per_cpu`: the wrapper is TypedPerCpuMap).
[[noreturn, gnu::cold]] LIBBPFCPP_INLINE void throw_untypable(const std::string& name, int fd, bool map_per_cpu,
                                                   bool typed_per_cpu, std::size_t key, std::size_t map_key,
                                                   std::size_t value, std::size_t map_value);

/// Walks a map in chunks: batch lookups when the kernel has them, else get_next_key.
/// Shared by the iterators of TypedMap and TypedPerCpuMap.
template <class K, class Ops>
class ChunkReader {
public:
    /// `stride`: the bytes of one key's value(s). Chunks of up to 4096 entries (fewer for
    /// a smaller map).
    ChunkReader(const Ops& ops, std::size_t stride)
        : ops_(&ops),
          stride_(stride),
          chunk_(std::min<std::size_t>(std::max<std::uint32_t>(ops.max_entries(), 1), 4096)),
          batch_(ops.batch_supported()) {}

    /// Fills the next chunk; false at the end of the map.
    bool next() {
        keys_.resize(chunk_);
        values_.resize(chunk_ * stride_);
        n_ = 0;
        if (batch_) {
            while (n_ == 0 && !cursor_.done())
                n_ = ops_->lookup_batch_bytes(std::as_writable_bytes(std::span(keys_)), values_, cursor_);
        } else {
            while (n_ < chunk_ && !end_) {
                K k;
                if (bpf_map_get_next_key(ops_->fd(), have_last_ ? &last_ : nullptr, &k) != 0) {
                    if (errno != ENOENT) detail::throw_errno(errno, "iterating map", ops_->qualified_name());
                    end_ = true;
                    break;
                }
                last_ = k;
                have_last_ = true;
                if (bpf_map_lookup_elem(ops_->fd(), &k, values_.data() + n_ * stride_) == 0) keys_[n_++] = k;
            }
        }
        return n_ != 0;
    }
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] const K& key(std::size_t i) const noexcept { return keys_[i]; }
    [[nodiscard]] const std::byte* value(std::size_t i) const noexcept { return values_.data() + i * stride_; }

private:
    const Ops* ops_;
    std::size_t stride_;
    std::size_t chunk_;
    bool batch_;
    BatchCursor cursor_;
    std::vector<K> keys_;
    std::vector<std::byte> values_;
    std::size_t n_ = 0;
    K last_{};
    bool have_last_ = false;
    bool end_ = false;
};

/// The value of an entry read in a chunk, copied out (TypedMap's decoder).
template <class V>
struct CopyValue {
    V operator()(const std::byte* bytes) const noexcept {
        V v;
        std::memcpy(&v, bytes, sizeof(V));
        return v;
    }
};

/// The input iterator of TypedMap and TypedPerCpuMap: walks the map in chunks of a
/// ChunkReader, `Decode` turning an entry's value bytes into `V`.
template <class K, class M, class V, class Decode>
class ChunkIterator {
public:
    using value_type = std::pair<K, V>;
    using difference_type = std::ptrdiff_t;
    using reference = const value_type&;
    using pointer = const value_type*;
    using iterator_category = std::input_iterator_tag;

    ChunkIterator() = default;
    /// Reads the first chunk of `map`, whose values take `value_size` bytes each.
    ChunkIterator(const M& map, std::size_t value_size, Decode decode)
        : reader_(std::make_shared<ChunkReader<K, M>>(map, value_size)), decode_(decode) {
        if (!reader_->next()) {
            reader_.reset();
            return;
        }
        load();
    }
    reference operator*() const noexcept { return current_; }
    pointer operator->() const noexcept { return &current_; }
    ChunkIterator& operator++() {
        ++i_;
        load();
        return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const ChunkIterator& it, std::default_sentinel_t) noexcept {
        return it.reader_ == nullptr;
    }

private:
    void load() {
        if (i_ >= reader_->size()) {
            if (!reader_->next()) {
                reader_.reset();
                return;
            }
            i_ = 0;
        }
        current_.first = reader_->key(i_);
        current_.second = decode_(reader_->value(i_));
    }
    std::shared_ptr<ChunkReader<K, M>> reader_;
    Decode decode_{};
    std::size_t i_ = 0;
    value_type current_{};
};

/// clear() of TypedMap and TypedPerCpuMap: the keys `ks` removed in one batch call where
/// the kernel has them, else one by one with `erase_one`.
template <class K, class Ops, class EraseOne>
void erase_keys(Ops& ops, const std::vector<K>& ks, EraseOne erase_one) {
    if (ks.empty()) return;
    if (ops.batch_supported()) {
        ops.template erase_batch<K>(ks);
        return;
    }
    for (const K& k : ks) erase_one(k);
}

}  // namespace detail

/// A map with its key and value types checked once, at construction. `M` is bpf::Map
/// (a handle into a Module) or bpf::StandaloneMap (owned here). Lookups go straight to
/// the kernel with no per-call checks; iteration reads the map in batches.
///
/// ```cpp
/// bpf::TypedMap<std::uint32_t, Stats> stats(mod.map("stats"));
/// stats.insert_or_assign(pid, Stats{});
/// if (auto s = stats.lookup(pid)) use(*s);
/// for (const auto& [pid, s] : stats) print(pid, s);   // batched under the hood
/// ```
template <MapData K, MapData V, class M = Map>
class TypedMap {
public:
    /// The key type.
    using key_type = K;
    /// The value type.
    using mapped_type = V;
    /// What iteration yields: a key and its value.
    using value_type = std::pair<K, V>;

    /// Wraps a loaded `map`; throws unless its key and value sizes are those of K and V.
    explicit TypedMap(M map) : map_(std::move(map)) {
        if (map_.fd() < 0 || detail::is_per_cpu_map(map_.type()) || sizeof(K) != map_.key_size() ||
            sizeof(V) != map_.value_size())
            detail::throw_untypable(map_.qualified_name(), map_.fd(), detail::is_per_cpu_map(map_.type()), false,
                                    sizeof(K), map_.key_size(), sizeof(V), map_.value_size());
        fd_ = map_.fd();
    }

    /// The value at `key`, or nullopt.
    [[nodiscard]] std::optional<V> lookup(const K& key) const {
        V v;
        if (bpf_map_lookup_elem(fd_, &key, &v) == 0) return v;
        if (errno == ENOENT) return std::nullopt;
        fail(errno, "looking up a key in");
    }
    /// True when `key` is in the map.
    [[nodiscard]] bool contains(const K& key) const { return lookup(key).has_value(); }

    /// Adds `key` -> `value` unless the key exists; returns whether it was added.
    bool insert(const K& key, const V& value) { return write(key, value, BPF_NOEXIST, EEXIST); }
    /// Adds or replaces.
    void insert_or_assign(const K& key, const V& value) { write(key, value, BPF_ANY, 0); }
    /// Replaces the value of an existing key; returns false when the key is missing.
    bool assign(const K& key, const V& value) { return write(key, value, BPF_EXIST, ENOENT); }

    /// Removes `key`; returns whether it was there.
    bool erase(const K& key) {
        if (bpf_map_delete_elem(fd_, &key) == 0) return true;
        if (errno == ENOENT) return false;
        fail(errno, "deleting a key of");
    }
    /// Removes `key` and returns its value.
    std::optional<V> take(const K& key) {
        V v;
        if (bpf_map_lookup_and_delete_elem(fd_, &key, &v) == 0) return v;
        if (errno == ENOENT) return std::nullopt;
        fail(errno, "looking up and deleting a key of");
    }

    /// The next entries from where `cursor` stands, at most min(keys.size(),
    /// values.size()), in one system call; returns how many were read, and
    /// `cursor.done()` once the map is walked. Throws where the map type or kernel has no
    /// batch operations (the range-for and items() fall back by themselves).
    ///
    /// ```cpp
    /// std::array<Key, 256> k; std::array<Value, 256> v; bpf::BatchCursor c;
    /// while (!c.done()) { std::size_t n = counts.lookup_batch(k, v, c); use(k, v, n); }
    /// ```
    std::size_t lookup_batch(std::span<K> keys, std::span<V> values, BatchCursor& cursor) const {
        return map_.template lookup_batch<K, V>(keys, values, cursor);
    }
    /// lookup_batch(), and the entries read are deleted in the same call: what a tool
    /// that prints and resets its counts each interval wants.
    std::size_t lookup_and_erase_batch(std::span<K> keys, std::span<V> values, BatchCursor& cursor) {
        return map_.template lookup_and_erase_batch<K, V>(keys, values, cursor);
    }
    /// Writes `keys[i]` -> `values[i]` in one system call; returns how many were written
    /// (fewer when the map fills up). `elem_flags`: BPF_ANY or BPF_F_LOCK.
    std::size_t update_batch(std::span<const K> keys, std::span<const V> values, std::uint64_t elem_flags = BPF_ANY) {
        return map_.template update_batch<K, V>(keys, values, elem_flags);
    }
    /// Deletes `keys` in one system call; returns how many were deleted (a missing key
    /// ends the batch early).
    std::size_t erase_batch(std::span<const K> keys) { return map_.template erase_batch<K>(keys); }

    /// Every key (batch lookups when possible).
    [[nodiscard]] std::vector<K> keys() const { return map_.template all_keys<K>(); }
    /// Every entry (batch lookups when possible).
    [[nodiscard]] std::vector<value_type> items() const { return map_.template items<K, V>(); }
    /// The number of entries (a walk of the map).
    [[nodiscard]] std::size_t size() const { return keys().size(); }
    /// Removes every entry.
    void clear() {
        detail::erase_keys(map_, keys(), [this](const K& k) { erase(k); });
    }

    /// Input iterator over the entries, reading the map in chunks.
    using iterator = detail::ChunkIterator<K, M, V, detail::CopyValue<V>>;

    /// Reads the first chunk of entries.
    [[nodiscard]] iterator begin() const { return iterator(map_, sizeof(V), {}); }
    /// Reached after the last entry.
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

    /// The underlying map, for what TypedMap does not offer (batches, pinning, ...).
    [[nodiscard]] M& map() noexcept { return map_; }
    /// The underlying map (const).
    [[nodiscard]] const M& map() const noexcept { return map_; }

private:
    bool write(const K& key, const V& value, std::uint64_t flags, int soft_errno) {
        if (bpf_map_update_elem(fd_, &key, &value, flags) == 0) return true;
        if (soft_errno != 0 && errno == soft_errno) return false;
        const int err = errno;
        fail(err, err == E2BIG ? "the map is full; writing" : "writing");
    }
    [[noreturn]] void fail(int err, std::string_view what) const {
        detail::throw_errno(err, std::string(what) + " map", map_.qualified_name());
    }

    M map_;
    int fd_ = -1;
};

/// A per-CPU map typed once: every value is one V per possible CPU. Offers what
/// TypedMap does (lookup, contains, insert_or_assign, erase, take, keys, items, size,
/// clear, range-for), with std::vector<V> as the value.
///
/// ```cpp
/// bpf::TypedPerCpuMap<std::uint32_t, std::uint64_t> hits(mod.map("pcpu_hits"));
/// std::uint64_t total = hits.sum(key);
/// for (const auto& [key, per_cpu] : hits) print(key, per_cpu[0]);   // batched under the hood
/// ```
template <MapData K, MapData V, class M = Map>
class TypedPerCpuMap {
public:
    /// The key type.
    using key_type = K;
    /// The value type: one V per possible CPU.
    using mapped_type = std::vector<V>;
    /// What iteration yields: a key and its per-CPU values.
    using value_type = std::pair<K, std::vector<V>>;

    /// Wraps a loaded per-CPU `map`; throws unless K and V fit it.
    explicit TypedPerCpuMap(M map) : map_(std::move(map)) {
        if (map_.fd() < 0 || !detail::is_per_cpu_map(map_.type()) || sizeof(K) != map_.key_size() ||
            sizeof(V) != map_.value_size())
            detail::throw_untypable(map_.qualified_name(), map_.fd(), detail::is_per_cpu_map(map_.type()), true,
                                    sizeof(K), map_.key_size(), sizeof(V), map_.value_size());
        fd_ = map_.fd();
        ncpu_ = static_cast<std::size_t>(num_possible_cpus());
        slot_ = (sizeof(V) + 7) & ~std::size_t{7};
        buf_.resize(slot_ * ncpu_);
    }

    /// The number of possible CPUs: the length of every value vector.
    [[nodiscard]] std::size_t cpus() const noexcept { return ncpu_; }

    /// One value per possible CPU, or nullopt.
    /// Safe to call from several threads at once (const: nothing shared is written).
    [[nodiscard]] std::optional<std::vector<V>> lookup(const K& key) const {
        if constexpr (sizeof(V) % 8 == 0) {
            // The kernel's slots are exactly V: read straight into the result.
            std::vector<V> out(ncpu_);
            if (!read(key, out.data())) return std::nullopt;
            return out;
        } else {
            std::vector<std::byte> buf(slot_ * ncpu_);
            if (!read(key, buf.data())) return std::nullopt;
            return unpack(buf.data());
        }
    }
    /// True when `key` is in the map.
    [[nodiscard]] bool contains(const K& key) const { return lookup(key).has_value(); }
    /// The sum over CPUs (0 when the key is missing); V must support +.
    [[nodiscard]] V sum(const K& key) const {
        V total{};
        if (auto vs = lookup(key))
            for (const V& v : *vs) total = total + v;
        return total;
    }
    /// Writes one value per possible CPU.
    void insert_or_assign(const K& key, std::span<const V> values) {
        if (values.size() != ncpu_)
            throw Error(EINVAL, detail::describe("updating per-CPU map", map_.qualified_name(),
                                                 "got " + std::to_string(values.size()) + " values, need " +
                                                     std::to_string(ncpu_)));
        for (std::size_t i = 0; i < ncpu_; ++i) std::memcpy(buf_.data() + i * slot_, &values[i], sizeof(V));
        if (bpf_map_update_elem(fd_, &key, buf_.data(), BPF_ANY) != 0)
            detail::throw_errno(errno, "updating map", map_.qualified_name());
    }
    /// Removes `key` (all CPUs' values); false when it was not there.
    bool erase(const K& key) {
        if (bpf_map_delete_elem(fd_, &key) == 0) return true;
        if (errno == ENOENT) return false;
        detail::throw_errno(errno, "deleting a key of map", map_.qualified_name());
    }

    /// Removes `key` and returns its per-CPU values (per-CPU hash maps, kernel >= 5.14).
    std::optional<std::vector<V>> take(const K& key) {
        if (bpf_map_lookup_and_delete_elem(fd_, &key, buf_.data()) == 0) return unpack(buf_.data());
        if (errno == ENOENT) return std::nullopt;
        const int err = errno;
        detail::throw_errno(err, "looking up and deleting a key of map", map_.qualified_name(),
                            err == EINVAL || err == detail::kernel_enotsupp || err == EOPNOTSUPP
                                ? "this kernel or map type has no lookup-and-delete for per-CPU values "
                                  "(per-CPU hash maps need kernel >= 5.14); use lookup() then erase()"
                                : detail::explain_errno(err));
    }

    /// Every key (batch lookups when possible).
    [[nodiscard]] std::vector<K> keys() const { return map_.template all_keys<K>(); }
    /// Every entry with its per-CPU values (batch lookups when possible).
    [[nodiscard]] std::vector<value_type> items() const {
        std::vector<value_type> out;
        detail::ChunkReader<K, M> r(map_, slot_ * ncpu_);
        while (r.next())
            for (std::size_t i = 0; i < r.size(); ++i) out.emplace_back(r.key(i), unpack(r.value(i)));
        return out;
    }
    /// The number of entries (a walk of the map).
    [[nodiscard]] std::size_t size() const { return keys().size(); }
    /// Removes every entry.
    void clear() {
        detail::erase_keys(map_, keys(), [this](const K& k) { erase(k); });
    }

    /// The iterator's decoder: one entry's per-CPU values, copied out of a chunk.
    struct Unpack {
        const TypedPerCpuMap* map = nullptr;  ///< the map whose CPU count and value slot apply
        /// The values of every possible CPU of the entry at `values`.
        std::vector<V> operator()(const std::byte* values) const { return map->unpack(values); }
    };

    /// Input iterator over the entries, reading the map in chunks.
    using iterator = detail::ChunkIterator<K, M, std::vector<V>, Unpack>;

    /// Reads the first chunk of entries.
    [[nodiscard]] iterator begin() const { return iterator(map_, slot_ * ncpu_, Unpack{this}); }
    /// Reached after the last entry.
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

    /// The underlying map.
    [[nodiscard]] M& map() noexcept { return map_; }
    /// The underlying map (const).
    [[nodiscard]] const M& map() const noexcept { return map_; }

private:

    bool read(const K& key, void* values) const {
        if (bpf_map_lookup_elem(fd_, &key, values) == 0) return true;
        if (errno == ENOENT) return false;
        detail::throw_errno(errno, "looking up a key in map", map_.qualified_name());
    }

    std::vector<V> unpack(const std::byte* p) const {
        std::vector<V> out(ncpu_);
        for (std::size_t i = 0; i < ncpu_; ++i) std::memcpy(&out[i], p + i * slot_, sizeof(V));
        return out;
    }

    M map_;
    int fd_ = -1;
    std::size_t ncpu_ = 0;
    std::size_t slot_ = 0;
    std::vector<std::byte> buf_;  // insert_or_assign()'s (non-const, so not shared by readers)
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void detail::throw_untypable(const std::string& name, int fd, bool map_per_cpu, bool typed_per_cpu,
                                              std::size_t key, std::size_t map_key, std::size_t value,
                                              std::size_t map_value) {
    const int err = fd < 0 ? EBADF : EINVAL;
    throw_error(err, "typing map", name,
                {fd < 0                          ? "the map is not created yet; call Module::load() first"
                 : map_per_cpu && !typed_per_cpu ? "the map is per-CPU; use bpf::TypedPerCpuMap"
                 : !map_per_cpu && typed_per_cpu ? "the map is not per-CPU; use bpf::TypedMap"
                 : key != map_key                ? type_mismatch("the key type", key, map_key)
                                                 : type_mismatch("the value type", value, map_value)});
}

LIBBPFCPP_INLINE std::string detail::type_mismatch(std::string_view what, std::size_t have, std::size_t want) {
    return cat({what, " is ", Decimal(have), " bytes, the map's are ", Decimal(want)});
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
