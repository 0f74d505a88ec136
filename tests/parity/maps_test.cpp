// Parity, maps: standalone maps (create, by id, next id, ids by name, info, reuse_fd,
// pins), batch operations, whole-map reads with and without batch support, queue/stack,
// map-in-map from the object and standalone, freeze, mmap'ed arrays, autocreate,
// initial values.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/standalone_map.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "harness.hpp"
#include "parity_bloom.bpf.hpp"
#include "parity_maps.bpf.hpp"

using Catch::Matchers::Contains;

namespace {

bpf::Module open_maps() {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    return mod;
}

/// outer2 needs its inner template before load.
bpf::Module loaded_maps(const bpf::StandaloneMap& inner_template) {
    auto mod = open_maps();
    mod.map("outer2").set_inner_map_fd(inner_template.fd());
    mod.load();
    return mod;
}

bpf::StandaloneMap inner_array() { return bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "inner_tpl", 4, 8, 4); }

}  // namespace

TEST_CASE("standalone map: create, CRUD, info, by id, next id, ids by name, reuse_fd") {
    bpf::MapCreateOptions o;
    o.map_flags = BPF_F_NO_PREALLOC;
    auto m = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "parity_sa", 4, 8, 32, o);
    CHECK(m.fd() >= 0);
    CHECK(m.name() == "parity_sa");
    CHECK(m.type() == BPF_MAP_TYPE_HASH);
    CHECK(m.key_size() == 4);
    CHECK(m.value_size() == 8);
    CHECK(m.max_entries() == 32);
    CHECK(m.flags() == BPF_F_NO_PREALLOC);
    CHECK(m.id() != 0);

    m.update(std::uint32_t{7}, std::uint64_t{70});
    CHECK(m.lookup<std::uint32_t, std::uint64_t>(7) == 70u);
    CHECK_FALSE(m.lookup<std::uint32_t, std::uint64_t>(8));
    CHECK_THROWS_WITH((m.update(std::uint32_t{7}, std::uint32_t{1})), Contains("value is 4 bytes"));

    auto info = bpf::map_info_by_fd(m.fd());
    CHECK(info.id == m.id());
    CHECK(info.name == "parity_sa");
    CHECK(info.max_entries == 32);

    auto by_id = bpf::StandaloneMap::from_id(m.id());
    CHECK(by_id.lookup<std::uint32_t, std::uint64_t>(7) == 70u);  // the same map

    auto ids = bpf::map_ids_by_name("parity_sa");
    CHECK(std::find(ids.begin(), ids.end(), m.id()) != ids.end());
    bool seen = false;
    for (auto id = bpf::next_map_id(0); id; id = bpf::next_map_id(*id)) seen |= *id == m.id();
    CHECK(seen);

    auto other = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "parity_other", 4, 4, 2);
    by_id.reuse_fd(other.fd());
    CHECK(by_id.id() == other.id());
    CHECK(by_id.type() == BPF_MAP_TYPE_ARRAY);
    CHECK(by_id.value_size() == 4);

    CHECK(m.erase(std::uint32_t{7}));
    CHECK_FALSE(m.erase(std::uint32_t{7}));

    CHECK_THROWS_WITH(bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "bad", 8, 8, 4), Contains("creating map 'bad'"));
    CHECK_THROWS_WITH(bpf::StandaloneMap::from_id(0xfffffff0u), Contains("no map with this id"));
}

TEST_CASE("pinned maps: pin info of an object map, pin and reopen a standalone map") {
    testing::TempBpffs fs;
    auto tpl = inner_array();
    bpf::OpenOptions oo;
    oo.pin_root_path = fs.path();
    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps(), oo);
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    CHECK(mod.map("pinned_h").pin_path() == fs.path() + "/pinned_h");
    mod.load();
    CHECK(mod.map("pinned_h").pinned());
    mod.map("pinned_h").update(std::uint32_t{1}, std::uint64_t{11});

    auto reopened = bpf::StandaloneMap::from_pin(fs.path() + "/pinned_h");
    CHECK(reopened.lookup<std::uint32_t, std::uint64_t>(1) == 11u);
    CHECK(reopened.name() == "pinned_h");

    auto sa = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "parity_pin", 4, 8, 2);
    sa.update(std::uint32_t{1}, std::uint64_t{99});
    sa.pin(fs.path() + "/sa");
    const auto id = sa.id();
    { auto gone = std::move(sa); }  // closes our fd: the pin keeps the map
    auto back = bpf::StandaloneMap::from_pin(fs.path() + "/sa");
    CHECK(back.id() == id);
    CHECK(back.lookup<std::uint32_t, std::uint64_t>(1) == 99u);
    CHECK_THROWS_WITH(bpf::StandaloneMap::from_pin(fs.path() + "/nothing"), Contains("nothing is pinned there"));
}

TEST_CASE("batch update, lookup in chunks, lookup-and-delete, delete; items() agrees") {
    auto tpl = inner_array();
    auto mod = loaded_maps(tpl);
    auto h = mod.map("h");
    std::vector<std::uint32_t> keys(100);
    std::vector<std::uint64_t> values(100);
    for (std::uint32_t i = 0; i < 100; ++i) {
        keys[i] = i;
        values[i] = i * 3;
    }
    CHECK(h.update_batch<std::uint32_t, std::uint64_t>(keys, values) == 100);
    CHECK(h.batch_supported());

    std::map<std::uint32_t, std::uint64_t> seen;
    bpf::BatchCursor c;
    std::vector<std::uint32_t> k(16);
    std::vector<std::uint64_t> v(16);
    int calls = 0;
    while (!c.done()) {
        std::size_t n = h.lookup_batch<std::uint32_t, std::uint64_t>(k, v, c);
        for (std::size_t i = 0; i < n; ++i) seen[k[i]] = v[i];
        ++calls;
    }
    CHECK(seen.size() == 100);
    CHECK(calls > 1);
    for (auto& [key, value] : seen) CHECK(value == key * 3);

    auto items = h.items<std::uint32_t, std::uint64_t>();
    CHECK(items.size() == 100);
    CHECK(h.all_keys<std::uint32_t>().size() == 100);

    const std::vector<std::uint32_t> del = {0, 1, 2, 3, 4};
    CHECK(h.erase_batch<std::uint32_t>(del) == 5);
    CHECK_FALSE(h.lookup<std::uint32_t, std::uint64_t>(0));

    bpf::BatchCursor c2;
    std::size_t removed = 0;
    while (!c2.done()) removed += h.lookup_and_erase_batch<std::uint32_t, std::uint64_t>(k, v, c2);
    CHECK(removed == 95);
    CHECK(h.items<std::uint32_t, std::uint64_t>().empty());

    CHECK_THROWS_WITH((h.update_batch<std::uint32_t, std::uint64_t>(std::span(keys).first(2), std::span(values).first(1))),
                      Contains("2 keys but 1 values"));
}

TEST_CASE("per-CPU batch reads, and items() falls back to get_next_key without batch support") {
    auto tpl = inner_array();
    auto mod = loaded_maps(tpl);
    auto ph = mod.map("ph");
    const auto ncpu = static_cast<std::size_t>(bpf::num_possible_cpus());
    for (std::uint32_t key = 0; key < 5; ++key) {
        std::vector<std::uint64_t> per(ncpu, key + 1);
        ph.update_percpu<std::uint32_t, std::uint64_t>(key, per);
    }
    CHECK(ph.value_stride() == 8 * ncpu);
    std::vector<std::byte> kb(4 * 8), vb(ph.value_stride() * 8);
    bpf::BatchCursor c;
    std::size_t total = 0;
    std::uint64_t sum = 0;
    while (!c.done()) {
        std::size_t n = ph.lookup_batch_bytes(kb, vb, c);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t cpu = 0; cpu < ncpu; ++cpu) {
                std::uint64_t x;
                std::memcpy(&x, vb.data() + i * ph.value_stride() + cpu * 8, 8);
                sum += x;
            }
        total += n;
    }
    CHECK(total == 5);
    CHECK(sum == (1 + 2 + 3 + 4 + 5) * ncpu);

    // A devmap has get_next_key but no batch operations: items() walks it key by key.
    auto dev = bpf::StandaloneMap::create(BPF_MAP_TYPE_DEVMAP, "parity_dev", 4, 4, 8);
    const std::uint32_t lo = 1;  // loopback's ifindex in every namespace
    dev.update(std::uint32_t{2}, lo);
    dev.update(std::uint32_t{5}, lo);
    CHECK_FALSE(dev.batch_supported());
    auto items = dev.items<std::uint32_t, std::uint32_t>();
    REQUIRE(items.size() == 2);
    CHECK(items[0].first + items[1].first == 7);
    CHECK(items[0].second == lo);
    std::vector<std::uint32_t> k2, v2;
    CHECK_THROWS_WITH(dev.read_all(k2, v2, bpf::ReadMethod::Batch), Contains("no batch operations"));
    // A devmap is array-like: every index is a key, empty slots fail the lookup.
    CHECK(dev.next_key<std::uint32_t>(std::nullopt) == 0u);
    CHECK(dev.next_key<std::uint32_t>(2u) == 3u);
    CHECK_FALSE(dev.next_key<std::uint32_t>(7u));

    // Forcing the per-key walk on a map that has batches gives the same entries.
    auto h = mod.map("h");
    for (std::uint32_t i = 0; i < 50; ++i) h.update(i, std::uint64_t{i} * 7);
    std::vector<std::uint32_t> kb1, kb2;
    std::vector<std::uint64_t> vb1, vb2;
    CHECK(h.read_all(kb1, vb1, bpf::ReadMethod::Batch));
    CHECK_FALSE(h.read_all(kb2, vb2, bpf::ReadMethod::PerKey));
    CHECK(kb1.size() == 50);
    CHECK(kb1 == kb2);
    CHECK(vb1 == vb2);
}

TEST_CASE("queue and stack: push/pop/peek from user space and from BPF") {
    auto tpl = inner_array();
    auto mod = loaded_maps(tpl);
    mod.program("on_getppid").attach();
    auto q = mod.map("q");
    auto st = mod.map("st");
    CHECK_FALSE(q.peek<std::uint32_t>());
    q.push(std::uint32_t{1});
    q.push(std::uint32_t{2});
    q.push(std::uint32_t{3});
    CHECK(q.peek<std::uint32_t>() == 1u);  // FIFO
    testing::trigger_getppid(2);           // BPF pops 1 and 2, pushes 1001 and 1002 on the stack
    CHECK(q.pop<std::uint32_t>() == 3u);
    CHECK_FALSE(q.pop<std::uint32_t>());
    CHECK(st.peek<std::uint32_t>() == 1002u);  // LIFO
    CHECK(st.pop<std::uint32_t>() == 1002u);
    CHECK(st.pop<std::uint32_t>() == 1001u);
    CHECK_FALSE(st.pop<std::uint32_t>());

    for (std::uint32_t i = 0; i < 8; ++i) q.push(i);
    CHECK_THROWS_WITH(q.push(std::uint32_t{8}), Contains("the map is full"));
    q.push(std::uint32_t{8}, BPF_EXIST);  // drops the oldest
    CHECK(q.pop<std::uint32_t>() == 1u);
    CHECK_THROWS_WITH(mod.map("h").push(std::uint32_t{1}), Contains("only queue, stack"));

    // A queue has no keys (key size 0): a batch read is refused, not a division by zero.
    std::vector<std::byte> kb(64), vb(64);
    bpf::BatchCursor c;
    CHECK(q.key_size() == 0);
    CHECK_THROWS_WITH(q.lookup_batch_bytes(kb, vb, c), Contains("the map has no keys (a queue, stack"));
    CHECK_THROWS_WITH(st.lookup_batch_bytes(kb, vb, c, true), Contains("read it with pop()/peek()"));
}

TEST_CASE("map-in-map: outer from the object with standalone inner maps; set_inner_map; all standalone") {
    auto tpl = inner_array();
    auto mod = open_maps();
    auto proto = mod.map("outer").inner_map();  // prototype, before load
    REQUIRE(proto);
    CHECK(proto->type() == BPF_MAP_TYPE_ARRAY);
    CHECK(proto->max_entries() == 4);
    CHECK(proto->value_size() == 8);
    CHECK_FALSE(mod.map("h").inner_map());
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    mod.load();
    mod.program("on_getppid").attach();

    auto inner = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "parity_inner", 4, 8, 4);
    inner.update(std::uint32_t{0}, std::uint64_t{4242});
    mod.map("outer").update(std::uint32_t{0}, static_cast<std::uint32_t>(inner.fd()));
    auto inner2 = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "parity_inner2", 4, 8, 4);
    inner2.update(std::uint32_t{1}, std::uint64_t{77});
    mod.map("outer2").update(std::uint32_t{1}, static_cast<std::uint32_t>(inner2.fd()));
    testing::trigger_getppid(1);
    CHECK(mod.global<std::uint64_t>("inner_seen") == 4242);
    CHECK(mod.global<std::uint64_t>("outer2_seen") == 77);

    // Reading an outer map gives the inner map's id.
    auto id = mod.map("outer").lookup<std::uint32_t, std::uint32_t>(0);
    REQUIRE(id);
    CHECK(*id == inner.id());
    CHECK(bpf::StandaloneMap::from_id(*id).lookup<std::uint32_t, std::uint64_t>(0) == 4242u);

    // Outer and inner both from the object.
    mod.map("inner_obj").update(std::uint32_t{0}, std::uint64_t{515});
    mod.map("outer").update(std::uint32_t{0}, static_cast<std::uint32_t>(mod.map("inner_obj").fd()));
    testing::trigger_getppid(1);
    CHECK(mod.global<std::uint64_t>("inner_seen") == 515);

    // Outer and inner both standalone.
    bpf::MapCreateOptions o;
    o.inner_map_fd = inner.fd();
    auto outer = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH_OF_MAPS, "parity_outer", 4, 4, 4, o);
    outer.update(std::uint32_t{5}, static_cast<std::uint32_t>(inner2.fd()));
    CHECK(outer.lookup<std::uint32_t, std::uint32_t>(5) == inner2.id());
}

TEST_CASE("freeze: user space can no longer write, BPF still can") {
    auto tpl = inner_array();
    auto mod = loaded_maps(tpl);
    mod.program("on_getppid").attach();
    auto f = mod.map("frozen");
    f.update(std::uint32_t{0}, std::uint64_t{10});
    f.freeze();
    CHECK_THROWS_AS(f.update(std::uint32_t{0}, std::uint64_t{11}), bpf::Error);
    testing::trigger_getppid(3);
    CHECK(f.lookup<std::uint32_t, std::uint64_t>(0) == 13u);

    auto sa = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "parity_frz", 4, 8, 1);
    sa.freeze();
    CHECK_THROWS_AS(sa.update(std::uint32_t{0}, std::uint64_t{1}), bpf::Error);
}

TEST_CASE("mmap'ed array as a std::span: user and BPF see each other's writes, no syscalls") {
    auto tpl = inner_array();
    auto mod = loaded_maps(tpl);
    mod.program("on_getppid").attach();
    auto arr = mod.map("mm").mmap<std::uint64_t>();
    std::span<std::uint64_t> s = arr.span();
    REQUIRE(s.size() == 4);
    s[0] = 21;
    testing::trigger_getppid(1);
    CHECK(s[1] == 42);  // written by the program into the shared page
    CHECK(mod.map("mm").lookup<std::uint32_t, std::uint64_t>(0) == 21u);

    auto sa = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "parity_mm", 4, 8, 16, {.map_flags = BPF_F_MMAPABLE});
    auto m2 = sa.mmap<std::uint64_t>();
    m2[15] = 5;
    CHECK(sa.lookup<std::uint32_t, std::uint64_t>(15) == 5u);
    CHECK_THROWS_WITH(mod.map("frozen").mmap<std::uint64_t>(), Contains("BPF_F_MMAPABLE"));
    CHECK_THROWS_WITH(mod.map("mm").mmap<std::uint32_t>(), Contains("element stride is 8"));
}

TEST_CASE("autocreate off leaves a map out; initial value of a global section") {
    auto tpl = inner_array();
    auto mod = open_maps();
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    CHECK_THROWS_WITH(mod.map("mm").mmap<std::uint64_t>(), Contains("not created yet"));
    CHECK_THROWS_WITH(mod.map("h").info(), Contains("not created yet"));
    CHECK_THROWS_WITH(mod.map("frozen").freeze(), Contains("not created yet"));
    CHECK(mod.map("maybe").autocreate());
    mod.map("maybe").set_autocreate(false);
    CHECK_FALSE(mod.map("maybe").autocreate());

    auto data = *mod.find_map(".data");
    auto init = data.initial_value();
    REQUIRE(init.size() == data.value_size());
    std::vector<std::byte> copy(init.begin(), init.end());
    const std::uint64_t marker = 0xfeed;
    std::memcpy(copy.data(), &marker, sizeof marker);  // `marker` is the only .data variable
    data.set_initial_value(copy);
    mod.load();
    CHECK(mod.map("maybe").fd() < 0);
    CHECK(mod.global<std::uint64_t>("marker") == 0xfeed);
}

TEST_CASE("update_batch into a map that fills up returns how many entries it took") {
    auto m = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "full4", 4, 8, 4);
    std::vector<std::uint32_t> keys = {10, 11, 12, 13, 14, 15, 16, 17};
    std::vector<std::uint64_t> values = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(m.update_batch<std::uint32_t, std::uint64_t>(keys, values) == 4);
    auto items = m.items<std::uint32_t, std::uint64_t>();
    REQUIRE(items.size() == 4);
    for (auto& [k, v] : items) CHECK(v == k - 9);  // the first four, in order

    // What is not a full map is still an error, not a count: the kernel takes no
    // BPF_NOEXIST in batches.
    auto m2 = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "noexist", 4, 8, 16);
    CHECK_THROWS_WITH((m2.update_batch<std::uint32_t, std::uint64_t>(keys, values, BPF_NOEXIST)),
                      Contains("update_batch on map 'noexist'"));
    CHECK(m2.items<std::uint32_t, std::uint64_t>().empty());
}

TEST_CASE("batch lookup resumes after a key (libbpfgo's GetValueBatch with a start key)") {
    auto arr = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "resume", 4, 8, 32);
    for (std::uint32_t i = 0; i < 32; ++i) arr.update(i, std::uint64_t{i} * 7);
    auto c = bpf::BatchCursor::after(std::uint32_t{9});
    std::vector<std::uint32_t> k(5);
    std::vector<std::uint64_t> v(5);
    REQUIRE(arr.lookup_batch<std::uint32_t, std::uint64_t>(k, v, c) == 5);
    CHECK(k == std::vector<std::uint32_t>{10, 11, 12, 13, 14});
    CHECK(v[0] == 70);
    CHECK(c.token<std::uint32_t>() == 14);

    // A token saved from one cursor resumes a walk in a new one, on a hash map too.
    auto h = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "resumeh", 4, 8, 64);
    for (std::uint32_t i = 0; i < 40; ++i) h.update(i, std::uint64_t{i});
    bpf::BatchCursor first;
    std::vector<std::uint32_t> hk(64);
    std::vector<std::uint64_t> hv(64);
    std::size_t got = h.lookup_batch<std::uint32_t, std::uint64_t>(std::span(hk).first(8), std::span(hv).first(8), first);
    REQUIRE(got > 0);
    std::set<std::uint32_t> seen(hk.begin(), hk.begin() + static_cast<std::ptrdiff_t>(got));
    auto resumed = bpf::BatchCursor::after(first.token<std::uint32_t>());
    while (!resumed.done()) {
        std::size_t n = h.lookup_batch<std::uint32_t, std::uint64_t>(hk, hv, resumed);
        for (std::size_t i = 0; i < n; ++i) CHECK(seen.insert(hk[i]).second);  // nothing read twice
    }
    CHECK(seen.size() == 40);

    bpf::BatchCursor fresh;
    CHECK_THROWS_WITH(fresh.token<std::uint32_t>(), Contains("no batch has been read"));
}

TEST_CASE("ifindex before load: read from the object, set, and seen by the kernel") {
    auto tpl = inner_array();
    auto mod = open_maps();
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    auto h = mod.map("h");
    CHECK(h.ifindex() == 0);
    h.set_ifindex(1);
    CHECK(h.ifindex() == 1);
    h.set_ifindex(0);  // not offloaded after all
    mod.load();

    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(h.fd(), &info, &len) == 0);
    CHECK(info.ifindex == 0);
    CHECK_THROWS_WITH(h.set_ifindex(1), Contains("configure maps before Module::load()"));
}

TEST_CASE("map_extra before load: read from the object, set, and seen by the kernel") {
    REQUIRE_FEATURE(BloomFilter);
    auto mod = bpf::Module::open_memory(bpf_objects::parity_bloom());
    auto bloom = mod.map("bloom");
    CHECK(bloom.map_extra() == 3);  // __uint(map_extra, 3) in the BPF source
    bloom.set_map_extra(7);
    CHECK(bloom.map_extra() == 7);
    mod.load();

    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(bloom.fd(), &info, &len) == 0);
    CHECK(info.map_extra == 7);
    CHECK_THROWS_WITH(bloom.set_map_extra(2), Contains("configure maps before Module::load()"));
}

TEST_CASE("lookup_and_erase with flags (libbpfgo's GetValueAndDeleteKeyFlags) passes them to the kernel") {
    REQUIRE_FEATURE(HashLookupAndDelete);
    auto h = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "take_flags", 4, 8, 8);
    CHECK(h.lookup_and_erase<std::uint32_t, std::uint64_t>(std::uint32_t{7}) == std::nullopt);  // missing
    h.update(std::uint32_t{1}, std::uint64_t{11});
    h.update(std::uint32_t{2}, std::uint64_t{22});
    CHECK(h.lookup_and_erase<std::uint32_t, std::uint64_t>(1, 0) == 11);
    CHECK_FALSE(h.lookup<std::uint32_t, std::uint64_t>(1));
    // BPF_F_LOCK needs a bpf_spin_lock in the value: the kernel refuses it here, so the
    // flag did reach it, and the entry stays.
    try {
        (void)h.lookup_and_erase<std::uint32_t, std::uint64_t>(2, BPF_F_LOCK);
        FAIL("BPF_F_LOCK accepted on a map without a spin lock");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EINVAL);
    }
    CHECK(h.lookup<std::uint32_t, std::uint64_t>(2) == 22);

    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    auto tpl = inner_array();
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    mod.load();
    auto ph = mod.map("h");
    ph.update(std::uint32_t{5}, std::uint64_t{55});
    CHECK_THROWS_AS((ph.lookup_and_erase<std::uint32_t, std::uint64_t>(5, BPF_F_LOCK)), bpf::Error);
    CHECK(ph.lookup_and_erase<std::uint32_t, std::uint64_t>(5) == 55);
}
