// Typed maps: types checked once against the map, STL-like access, batch-backed
// iteration over object maps and standalone maps, per-CPU values.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/standalone_map.hpp>
#include <libbpfcpp/typed_map.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <thread>
#include <type_traits>
#include <vector>

#include "harness.hpp"
#include "parity_maps.bpf.hpp"

using Catch::Matchers::Contains;

namespace {

struct Stats {
    std::uint32_t count;
    std::uint32_t flags;
};

}  // namespace

TEST_CASE("TypedMap: checks types once, lookup/insert/assign/erase") {
    auto tpl = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "inner_tpl", 4, 8, 4);
    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps());
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    CHECK_THROWS_WITH((bpf::TypedMap<std::uint32_t, std::uint64_t>(mod.map("h"))), Contains("not created yet"));
    mod.load();

    CHECK_THROWS_WITH((bpf::TypedMap<std::uint64_t, std::uint64_t>(mod.map("h"))),
                      Contains("the key type is 8 bytes, the map's are 4"));
    CHECK_THROWS_WITH((bpf::TypedMap<std::uint32_t, std::uint32_t>(mod.map("h"))),
                      Contains("the value type is 4 bytes, the map's are 8"));
    CHECK_THROWS_WITH((bpf::TypedMap<std::uint32_t, std::uint64_t>(mod.map("ph"))), Contains("TypedPerCpuMap"));

    bpf::TypedMap<std::uint32_t, Stats> h(mod.map("h"));
    CHECK(h.insert(1, Stats{10, 1}));
    CHECK_FALSE(h.insert(1, Stats{11, 1}));  // exists: not replaced
    CHECK(h.lookup(1)->count == 10);
    CHECK(h.assign(1, Stats{12, 2}));
    CHECK_FALSE(h.assign(2, Stats{1, 1}));  // missing: not added
    CHECK_FALSE(h.contains(2));
    h.insert_or_assign(2, Stats{20, 0});
    CHECK(h.contains(2));
    CHECK(h.size() == 2);
    CHECK(h.erase(1));
    CHECK(h.erase(2));
    CHECK_FALSE(h.erase(2));
    CHECK(h.size() == 0);
}

TEST_CASE("TypedMap: take() removes an entry and returns its value") {
    REQUIRE_FEATURE(HashLookupAndDelete);
    bpf::TypedMap<std::uint32_t, Stats, bpf::StandaloneMap> h(
        bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "typed_take", 4, sizeof(Stats), 8));
    h.insert_or_assign(1, Stats{12, 2});
    auto taken = h.take(1);
    REQUIRE(taken);
    CHECK(taken->count == 12);
    CHECK(taken->flags == 2);
    CHECK_FALSE(h.lookup(1));
    CHECK_FALSE(h.take(1));
}

TEST_CASE("TypedMap: iteration in batches covers every entry once; keys(), items(), clear()") {
    auto m = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "parity_typed", 4, 8, 20000);
    bpf::TypedMap<std::uint32_t, std::uint64_t, bpf::StandaloneMap> t(std::move(m));
    for (std::uint32_t i = 0; i < 10000; ++i) t.insert_or_assign(i, std::uint64_t{i} * i);
    CHECK(t.map().batch_supported());

    std::map<std::uint32_t, std::uint64_t> seen;
    for (const auto& [k, v] : t) seen.emplace(k, v);
    REQUIRE(seen.size() == 10000);
    for (const auto& [k, v] : seen) REQUIRE(v == std::uint64_t{k} * k);

    CHECK(t.keys().size() == 10000);
    auto items = t.items();
    CHECK(items.size() == 10000);
    t.clear();
    CHECK(t.size() == 0);
    CHECK(t.begin() == t.end());
}

TEST_CASE("TypedMap: iteration without batch support walks key by key") {
    auto dev = bpf::StandaloneMap::create(BPF_MAP_TYPE_DEVMAP, "parity_tdev", 4, 4, 64);
    bpf::TypedMap<std::uint32_t, std::uint32_t, bpf::StandaloneMap> t(std::move(dev));
    CHECK_FALSE(t.map().batch_supported());
    t.insert_or_assign(3, 1);
    t.insert_or_assign(40, 1);
    std::uint32_t sum = 0, n = 0;
    for (const auto& [k, v] : t) {
        sum += k;
        n += v;
    }
    CHECK(sum == 43);
    CHECK(n == 2);
}

TEST_CASE("TypedPerCpuMap: per-CPU values written by BPF and by user space") {
    auto tpl = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "inner_tpl", 4, 8, 4);
    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps());
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    mod.load();
    CHECK_THROWS_WITH((bpf::TypedPerCpuMap<std::uint32_t, std::uint64_t>(mod.map("h"))), Contains("not per-CPU"));
    bpf::TypedPerCpuMap<std::uint32_t, std::uint64_t> pc(mod.map("ph"));
    std::vector<std::uint64_t> vals(pc.cpus());
    for (std::size_t i = 0; i < vals.size(); ++i) vals[i] = i + 1;
    pc.insert_or_assign(9, vals);
    CHECK(pc.lookup(9) == vals);
    CHECK(pc.sum(9) == pc.cpus() * (pc.cpus() + 1) / 2);
    CHECK(pc.sum(10) == 0);
    pc.insert_or_assign(10, vals);
    auto items = pc.items();
    CHECK(items.size() == 2);
    for (auto& [k, v] : items) CHECK(v == vals);
    CHECK(pc.erase(9));
    CHECK_FALSE(pc.lookup(9));
}

TEST_CASE("TypedPerCpuMap: range-for, keys(), size(), contains() and clear(), like TypedMap") {
    using PerCpu = bpf::TypedPerCpuMap<std::uint32_t, std::uint64_t, bpf::StandaloneMap>;
    PerCpu pc(bpf::StandaloneMap::create(BPF_MAP_TYPE_PERCPU_HASH, "pc_walk", 4, 8, 128));
    static_assert(std::is_same_v<PerCpu::value_type, std::pair<std::uint32_t, std::vector<std::uint64_t>>>);
    std::vector<std::uint64_t> vals(pc.cpus());
    for (std::uint32_t k = 0; k < 50; ++k) {
        for (std::size_t c = 0; c < vals.size(); ++c) vals[c] = k * 100 + c;
        pc.insert_or_assign(k, vals);
    }
    std::map<std::uint32_t, std::vector<std::uint64_t>> seen;
    for (const auto& [k, per_cpu] : pc) CHECK(seen.emplace(k, per_cpu).second);  // each key once
    REQUIRE(seen.size() == 50);
    for (const auto& [k, per_cpu] : seen) {
        REQUIRE(per_cpu.size() == pc.cpus());
        for (std::size_t c = 0; c < per_cpu.size(); ++c) CHECK(per_cpu[c] == k * 100 + c);
    }
    CHECK(pc.keys().size() == 50);
    CHECK(pc.size() == 50);
    CHECK(pc.contains(7));

    pc.clear();
    CHECK(pc.size() == 0);
    CHECK(pc.begin() == pc.end());
}

TEST_CASE("TypedPerCpuMap: take() removes an entry and returns its per-CPU values") {
    REQUIRE_FEATURE(HashLookupAndDelete);
    bpf::TypedPerCpuMap<std::uint32_t, std::uint64_t, bpf::StandaloneMap> pc(
        bpf::StandaloneMap::create(BPF_MAP_TYPE_PERCPU_HASH, "pc_take", 4, 8, 8));
    std::vector<std::uint64_t> vals(pc.cpus());
    for (std::size_t c = 0; c < vals.size(); ++c) vals[c] = 700 + c;
    pc.insert_or_assign(7, vals);
    pc.insert_or_assign(8, vals);
    auto taken = pc.take(7);
    REQUIRE(taken);
    CHECK(*taken == vals);
    CHECK_FALSE(pc.contains(7));
    CHECK_FALSE(pc.take(7));
    CHECK(pc.size() == 1);
}

TEST_CASE("TypedPerCpuMap: lookups of different keys from two threads get their own values") {
    auto tpl = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "inner_tpl", 4, 8, 4);
    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps());
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    mod.load();
    bpf::TypedPerCpuMap<std::uint32_t, std::uint64_t> pc(mod.map("ph"));
    for (std::uint32_t key : {1u, 2u}) pc.insert_or_assign(key, std::vector<std::uint64_t>(pc.cpus(), key * 1000));
    const auto& reader = pc;  // lookup() is const: callable from threads at once
    std::atomic<std::uint64_t> wrong{0};
    auto read_key = [&](std::uint32_t key) {
        for (int i = 0; i < 20000; ++i) {
            auto v = reader.lookup(key);
            if (!v || (*v)[0] != key * 1000 || v->back() != key * 1000) wrong.fetch_add(1);
        }
    };
    std::thread a(read_key, 1u), b(read_key, 2u);
    a.join();
    b.join();
    CHECK(wrong.load() == 0);
}
