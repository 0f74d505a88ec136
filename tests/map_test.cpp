// Kernel integration: map CRUD with every flag and its error cases, per-CPU values,
// struct keys and values, key iteration, pinning.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "basic.bpf.hpp"
#include "basic.h"
#include "harness.hpp"

using Catch::Matchers::Contains;

namespace {
bpf::Module loaded() {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.load();
    return mod;
}
}  // namespace

TEST_CASE("hash map: update flags, lookup, erase") {
    auto mod = loaded();
    auto m = mod.map("counts");
    CHECK_FALSE(m.lookup<std::uint32_t, std::uint64_t>(1).has_value());

    m.update(std::uint32_t{1}, std::uint64_t{10});
    CHECK(m.lookup<std::uint32_t, std::uint64_t>(1) == 10);
    m.update(std::uint32_t{1}, std::uint64_t{11}, bpf::UpdateFlag::Any);
    CHECK(m.lookup<std::uint32_t, std::uint64_t>(1) == 11);
    m.update(std::uint32_t{1}, std::uint64_t{12}, bpf::UpdateFlag::Exist);
    CHECK(m.lookup<std::uint32_t, std::uint64_t>(1) == 12);
    m.update(std::uint32_t{2}, std::uint64_t{20}, bpf::UpdateFlag::NoExist);
    CHECK(m.lookup<std::uint32_t, std::uint64_t>(2) == 20);

    try {
        m.update(std::uint32_t{2}, std::uint64_t{21}, bpf::UpdateFlag::NoExist);
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EEXIST);
        CHECK_THAT(e.what(), Contains("updating map 'counts' of object 'basic'"));
        CHECK_THAT(e.what(), Contains("the key exists and UpdateFlag::NoExist was given"));
    }
    CHECK(m.lookup<std::uint32_t, std::uint64_t>(2) == 20);  // unchanged
    try {
        m.update(std::uint32_t{3}, std::uint64_t{30}, bpf::UpdateFlag::Exist);
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == ENOENT);
        CHECK_THAT(e.what(), Contains("the key is missing and UpdateFlag::Exist was given"));
    }
    CHECK_FALSE(m.lookup<std::uint32_t, std::uint64_t>(3).has_value());

    CHECK(m.erase(std::uint32_t{1}));
    CHECK_FALSE(m.erase(std::uint32_t{1}));
    CHECK_FALSE(m.lookup<std::uint32_t, std::uint64_t>(1).has_value());
}

TEST_CASE("hash map: lookup_and_erase") {
    REQUIRE_FEATURE(HashLookupAndDelete);
    auto mod = loaded();
    auto m = mod.map("counts");
    m.update(std::uint32_t{2}, std::uint64_t{20});
    CHECK(m.lookup_and_erase<std::uint32_t, std::uint64_t>(2) == 20);
    CHECK_FALSE(m.lookup<std::uint32_t, std::uint64_t>(2).has_value());
    CHECK_FALSE(m.lookup_and_erase<std::uint32_t, std::uint64_t>(2).has_value());
}

TEST_CASE("a full hash map says so") {
    auto mod = loaded();
    auto tiny = mod.map("tiny");
    tiny.update(std::uint32_t{1}, std::uint64_t{1});
    tiny.update(std::uint32_t{2}, std::uint64_t{2});
    try {
        tiny.update(std::uint32_t{3}, std::uint64_t{3});
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == E2BIG);
        CHECK_THAT(e.what(), Contains("the map is full (max_entries 2)"));
    }
    tiny.update(std::uint32_t{2}, std::uint64_t{22});  // replacing still works
    CHECK(tiny.lookup<std::uint32_t, std::uint64_t>(2) == 22);
}

TEST_CASE("array map: every index exists, out of range is an error, erase is refused") {
    auto mod = loaded();
    auto arr = mod.map("arr");
    for (std::uint32_t i = 0; i < 16; ++i) CHECK(arr.lookup<std::uint32_t, std::uint64_t>(i) == 0);
    CHECK_FALSE(arr.lookup<std::uint32_t, std::uint64_t>(16).has_value());
    arr.update(std::uint32_t{15}, std::uint64_t{99});
    CHECK(arr.lookup<std::uint32_t, std::uint64_t>(15) == 99);
    CHECK_THROWS_WITH(arr.update(std::uint32_t{16}, std::uint64_t{1}), Contains("index out of range"));
    CHECK_THROWS_WITH(arr.update(std::uint32_t{0}, std::uint64_t{1}, bpf::UpdateFlag::NoExist),
                      Contains("array entries always exist"));
    CHECK_THROWS_AS(arr.erase(std::uint32_t{0}), bpf::Error);  // arrays cannot delete
}

TEST_CASE("key and value sizes are checked against the map") {
    auto mod = loaded();
    auto m = mod.map("counts");
    try {
        (void)m.lookup<std::uint64_t, std::uint64_t>(1);
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EINVAL);
        CHECK_THAT(e.what(), Contains("key is 8 bytes, the map's keys are 4"));
    }
    try {
        m.update(std::uint32_t{1}, std::uint32_t{1});
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("value is 4 bytes, the map needs 8"));
    }
    CHECK_THROWS_WITH(m.erase(std::uint16_t{1}), Contains("key is 2 bytes"));
    CHECK_THROWS_WITH(m.keys<std::uint64_t>(), Contains("key is 8 bytes"));
    CHECK_THROWS_WITH((m.lookup_percpu<std::uint32_t, std::uint64_t>(1)), Contains("not per-CPU"));
    CHECK_THROWS_WITH((mod.map("pcpu").lookup<std::uint32_t, std::uint64_t>(0)),
                      Contains("per-CPU; use lookup_percpu"));
}

TEST_CASE("byte-span access matches typed access") {
    auto mod = loaded();
    auto m = mod.map("counts");
    std::uint32_t k = 7;
    std::uint64_t v = 0x1122334455667788ULL;
    m.update_bytes(std::as_bytes(std::span(&k, 1)), std::as_bytes(std::span(&v, 1)));
    CHECK(m.lookup<std::uint32_t, std::uint64_t>(7) == v);
    std::uint64_t out = 0;
    CHECK(m.lookup_bytes(std::as_bytes(std::span(&k, 1)), std::as_writable_bytes(std::span(&out, 1))));
    CHECK(out == v);
    std::uint32_t missing = 8;
    CHECK_FALSE(m.lookup_bytes(std::as_bytes(std::span(&missing, 1)), std::as_writable_bytes(std::span(&out, 1))));
    CHECK(m.erase_bytes(std::as_bytes(std::span(&k, 1))));
    std::byte short_key[3]{};
    CHECK_THROWS_WITH(m.erase_bytes(short_key), Contains("key is 3 bytes"));
}

TEST_CASE("struct keys and values round-trip") {
    auto mod = loaded();
    auto m = mod.map("records");
    pair_key k{1, 2, 3};
    record r{};
    r.sum = 1ULL << 40;
    r.count = 9;
    std::memcpy(r.tag, "hello", 6);
    m.update(k, r);
    auto got = m.lookup<pair_key, record>(k);
    REQUIRE(got);
    CHECK(got->sum == 1ULL << 40);
    CHECK(got->count == 9);
    CHECK(std::string(got->tag) == "hello");
    pair_key other{1, 2, 4};
    CHECK_FALSE(m.lookup<pair_key, record>(other).has_value());
}

TEST_CASE("keys() visits every key exactly once") {
    auto mod = loaded();
    auto m = mod.map("counts");
    std::set<std::uint32_t> want;
    for (std::uint32_t i = 100; i < 150; ++i) {
        m.update(i, std::uint64_t{i} * 2);
        want.insert(i);
    }
    std::multiset<std::uint32_t> seen;
    for (std::uint32_t k : m.keys<std::uint32_t>()) seen.insert(k);
    CHECK(seen.size() == 50);
    CHECK(std::set<std::uint32_t>(seen.begin(), seen.end()) == want);

    std::size_t empty_count = 0;
    for ([[maybe_unused]] std::uint32_t k : mod.map("tiny").keys<std::uint32_t>()) ++empty_count;
    CHECK(empty_count == 0);
    // Ranges compose with the standard library.
    CHECK(std::ranges::distance(m.keys<std::uint32_t>()) == 50);

    // An iterator taken from a temporary range stays usable.
    auto it = m.keys<std::uint32_t>().begin();
    std::size_t n = 0;
    for (; it != std::default_sentinel; ++it) n += want.count(*it);
    CHECK(n == 50);
}

TEST_CASE("per-CPU maps take and return one value per possible CPU") {
    auto mod = loaded();
    const auto ncpu = static_cast<std::size_t>(bpf::num_possible_cpus());
    CHECK(ncpu >= 1);
    auto h = mod.map("pcpu_hash");  // 4-byte values: stride rounds up to 8 in the kernel
    std::vector<std::uint32_t> vals(ncpu);
    for (std::size_t i = 0; i < ncpu; ++i) vals[i] = static_cast<std::uint32_t>(1000 + i);
    h.update_percpu(std::uint32_t{5}, std::span<const std::uint32_t>(vals));
    auto got = h.lookup_percpu<std::uint32_t, std::uint32_t>(5);
    REQUIRE(got);
    CHECK(*got == vals);
    CHECK_FALSE((h.lookup_percpu<std::uint32_t, std::uint32_t>(6)).has_value());
    std::vector<std::uint32_t> wrong(ncpu + 1);
    CHECK_THROWS_WITH(h.update_percpu(std::uint32_t{5}, std::span<const std::uint32_t>(wrong)),
                      Contains("need one per possible CPU"));

    // Byte-level access uses the kernel's layout: round_up(value_size, 8) per CPU.
    std::vector<std::byte> raw(8 * ncpu);
    std::uint32_t key = 5;
    REQUIRE(h.lookup_bytes(std::as_bytes(std::span(&key, 1)), raw));
    std::uint32_t cpu0 = 0;
    std::memcpy(&cpu0, raw.data(), 4);
    CHECK(cpu0 == 1000);
    std::vector<std::byte> too_small(4 * ncpu);
    CHECK_THROWS_WITH(h.lookup_bytes(std::as_bytes(std::span(&key, 1)), too_small), Contains("the map needs"));
}

TEST_CASE("pin and unpin a map in a bpffs the test mounts") {
    testing::TempBpffs fs;
    auto mod = loaded();
    auto m = mod.map("arr");
    m.update(std::uint32_t{3}, std::uint64_t{333});
    const std::string path = fs.path() + "/arr";
    m.pin(path);
    CHECK(m.pinned());
    CHECK(m.pin_path() == path);

    int fd = bpf_obj_get(path.c_str());
    REQUIRE(fd >= 0);
    std::uint32_t k = 3;
    std::uint64_t v = 0;
    CHECK(bpf_map_lookup_elem(fd, &k, &v) == 0);
    CHECK(v == 333);
    close(fd);

    m.unpin();
    CHECK_FALSE(m.pinned());
    CHECK(access(path.c_str(), F_OK) != 0);
}

TEST_CASE("maps pinned by name go to pin_root_path and are reused by the next load") {
    testing::TempBpffs fs;
    bpf::OpenOptions o;
    o.pin_root_path = fs.path();
    {
        auto mod = bpf::Module::open_memory(bpf_objects::basic(), o);
        mod.load();
        auto m = mod.map("pinned_by_name");
        CHECK(m.pin_path() == fs.path() + "/pinned_by_name");
        m.update(std::uint32_t{0}, std::uint64_t{4711});
    }
    CHECK(access((fs.path() + "/pinned_by_name").c_str(), F_OK) == 0);  // outlives the module
    auto again = bpf::Module::open_memory(bpf_objects::basic(), o);
    again.load();
    CHECK(again.map("pinned_by_name").lookup<std::uint32_t, std::uint64_t>(0) == 4711);
    again.map("pinned_by_name").unpin();
}

TEST_CASE("a pin path that is a symbolic link is refused at load") {
    testing::TempBpffs fs;
    // Someone else's map, made to look like ours through a link at our pin path.
    {
        auto decoy = bpf::Module::open_memory(bpf_objects::basic());
        decoy.map("pinned_by_name").set_pin_path(fs.path() + "/decoy");
        decoy.load();
        decoy.map("pinned_by_name").update(std::uint32_t{0}, std::uint64_t{666});
    }
    REQUIRE(symlink((fs.path() + "/decoy").c_str(), (fs.path() + "/pinned_by_name").c_str()) == 0);
    bpf::OpenOptions o;
    o.pin_root_path = fs.path();
    auto mod = bpf::Module::open_memory(bpf_objects::basic(), o);
    CHECK_THROWS_WITH(mod.load(), Contains("map 'pinned_by_name' would reuse the map pinned at '" + fs.path() +
                                           "/pinned_by_name', which is a symbolic link"));
    unlink((fs.path() + "/pinned_by_name").c_str());
    unlink((fs.path() + "/decoy").c_str());
}

TEST_CASE("set_pin_path before load pins at that path") {
    testing::TempBpffs fs;
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.map("tiny").set_pin_path(fs.path() + "/tiny_here");
    mod.load();
    CHECK(mod.map("tiny").pinned());
    CHECK(access((fs.path() + "/tiny_here").c_str(), F_OK) == 0);
    mod.map("tiny").unpin();
}

TEST_CASE("pinning outside a bpffs says how to mount one") {
    auto mod = loaded();
    try {
        mod.map("arr").pin("/tmp/not-bpffs-arr");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("'/tmp' is not on a BPF filesystem"));
        CHECK_THAT(e.what(), Contains("mount -t bpf bpf /sys/fs/bpf"));
    }
}

TEST_CASE("pin and unpin a link") {
    testing::TempBpffs fs;
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.load();
    // A raw tracepoint's link is a kernel object from 5.7 on; a tracepoint's is only from
    // 5.15 on (before, libbpf attaches it with a perf event ioctl: nothing to pin).
    bpf::Link& l = mod.program("on_sys_enter").attach_raw_tracepoint("sys_enter");
    const std::string path = fs.path() + "/link";
    l.pin(path);
    CHECK(l.pin_path() == path);
    CHECK(access(path.c_str(), F_OK) == 0);
    l.unpin();
    CHECK(l.pin_path().empty());
    CHECK(access(path.c_str(), F_OK) != 0);
    CHECK_THROWS_WITH(l.pin("/tmp/link"), Contains("is not on a BPF filesystem"));
}

TEST_CASE("set_inner_map and autocreate") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.map("tiny").set_autocreate(false);
    mod.load();
    CHECK(mod.map("tiny").fd() < 0);
    CHECK_THROWS_WITH((mod.map("tiny").lookup<std::uint32_t, std::uint64_t>(1)), Contains("not created yet"));
    CHECK(mod.map("counts").fd() >= 0);
}
