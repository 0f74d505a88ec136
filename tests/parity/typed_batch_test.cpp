// A skeleton's typed map (bpf::TypedMap<syscall_key, syscall_count> of map_iter's
// `counts`) read, drained, written and erased in batches with its own key and value
// types, a cursor walking it in chunks smaller than the map.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "map_iter.skel.hpp"

using map_iter::syscall_count;
using map_iter::syscall_key;

namespace {

constexpr std::uint32_t entries = 50;

syscall_count count_of(std::uint64_t n) {
    syscall_count c{};
    c.count = n;
    std::memcpy(c.comm, "batch", 6);
    return c;
}

/// Fills `counts` with pid i -> count i * 10 (nr = i + 1000) through a typed batch write.
template <class Map>
void fill(Map& counts) {
    std::vector<syscall_key> keys;
    std::vector<syscall_count> values;
    for (std::uint32_t i = 0; i < entries; ++i) {
        keys.push_back(syscall_key{i, i + 1000});
        values.push_back(count_of(i * 10ull));
    }
    REQUIRE(counts.update_batch(keys, values) == entries);
}

}  // namespace

TEST_CASE("a skeleton's typed map: batch write, chunked batch read, batch drain, batch erase") {
    auto skel = map_iter::Skeleton::open().load();  // not attached: the test alone writes the map
    auto& counts = skel.maps.counts;
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(counts)>, bpf::TypedMap<syscall_key, syscall_count>>);
    fill(counts);

    std::map<std::uint32_t, std::pair<std::uint32_t, std::uint64_t>> seen;
    std::array<syscall_key, 7> k{};
    std::array<syscall_count, 7> v{};
    bpf::BatchCursor cursor;
    int calls = 0;
    while (!cursor.done()) {
        const std::size_t n = counts.lookup_batch(k, v, cursor);
        REQUIRE(n <= k.size());
        for (std::size_t i = 0; i < n; ++i) seen[k[i].pid] = {k[i].nr, v[i].count};
        REQUIRE(++calls < 100);
    }
    CHECK(calls >= 8);  // 50 entries, at most 7 a call
    REQUIRE(seen.size() == entries);
    for (const auto& [pid, nr_count] : seen) {
        CHECK(nr_count.first == pid + 1000);
        CHECK(nr_count.second == pid * 10ull);
    }
    CHECK(counts.size() == entries);  // lookups leave the entries

    std::array<syscall_key, 64> dk{};
    std::array<syscall_count, 64> dv{};
    bpf::BatchCursor drain;
    std::size_t drained = 0;
    std::uint64_t sum = 0;
    while (!drain.done()) {
        const std::size_t n = counts.lookup_and_erase_batch(dk, dv, drain);
        for (std::size_t i = 0; i < n; ++i) sum += dv[i].count;
        drained += n;
    }
    CHECK(drained == entries);
    CHECK(sum == 10ull * entries * (entries - 1) / 2);
    CHECK(counts.size() == 0);

    fill(counts);
    const std::vector<syscall_key> gone{syscall_key{3, 1003}, syscall_key{4, 1004}};
    CHECK(counts.erase_batch(gone) == 2);
    CHECK(counts.size() == entries - 2);
    CHECK_FALSE(counts.contains(syscall_key{3, 1003}));
    CHECK(counts.lookup(syscall_key{5, 1005})->count == 50);
}
