// bpf::Arena (Linux 6.9, libbpf 1.4): a list a BPF program built in an arena, followed
// from C++ through the __arena pointers it stored.
#include <catch2/catch.hpp>

#include <libbpfcpp/arena.hpp>
#include <libbpfcpp/libbpfcpp.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <string>

#include "arena.h"
#include "features.hpp"
#include "harness.hpp"
#include "recent_prepare.bpf.hpp"
#ifdef RECENT_HAVE_ARENA_OBJECT
#include "recent_arena.bpf.hpp"
#endif

namespace {

using Catch::Matchers::Contains;

#ifndef RECENT_HAVE_ARENA_OBJECT
constexpr const char* no_arena_object =
    "the arena program is not built: it needs clang >= 18 for __arena address-space casts "
    "(install clang-19, as scripts/setup-host.sh does, and configure the build again)";
#else

// Loads the arena object, or skips the case saying why the kernel refused. A guest's
// kernel (a known Debian configuration) of 6.9 or later must accept it.
bool load_arena(bpf::Module& mod) {
    try {
        mod.load();
        return true;
    } catch (const bpf::Error& e) {
        if (testing::kernel_known() && testing::kernel_at_least(6, 9)) throw;
        testing::skip(std::string("this kernel refused a BPF arena (Linux >= 6.9): ") + e.what());
        return false;
    }
}
#endif

}  // namespace

TEST_CASE("Arena: a list built by a BPF program, followed from C++") {
    if (!bpf::libbpf_at_least(1, 4)) {
        // (The arena object itself needs headers that know arenas to open.)
        auto other = bpf::Module::open_memory(bpf_objects::recent_prepare());
        CHECK_THROWS_WITH(bpf::Arena(other.map("prep_config")), Contains("needs libbpf >= 1.4"));
        return;
    }
#ifndef RECENT_HAVE_ARENA_OBJECT
    SKIP_TEST(no_arena_object);
#else
    auto mod = bpf::Module::open_memory(bpf_objects::recent_arena());
    CHECK_THROWS_WITH(bpf::Arena(mod.map("arena")), Contains("not loaded"));
    mod.set_global("first_value", std::uint64_t{7});
    if (!load_arena(mod)) return;

    bpf::Arena arena(mod.map("arena"));
    CHECK(arena.size() == 2 * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
    REQUIRE(mod.program("arena_build").test_run().retval == 0);
    REQUIRE(mod.global<int>("arena_status") == 1);

    const auto head = mod.global<std::uint64_t>("arena_head");
    // The BPF side stored user-space addresses of the mapping.
    CHECK(head >= arena.user_vm_start());
    CHECK(head < arena.user_vm_start() + arena.size());
    auto* a = arena.pointer<arena_node>(head);
    REQUIRE(a != nullptr);
    CHECK(a->value == 7);
    auto* b = arena.pointer<arena_node>(a->next);
    REQUIRE(b != nullptr);
    CHECK(b->value == 8);
    CHECK(arena.pointer<arena_node>(b->next) == nullptr);
    // The low 32 bits alone (what the kernel keeps) lead to the same node.
    CHECK(arena.pointer<arena_node>(head & 0xffffffffu) == a);
    CHECK(arena.arena_pointer(b) == a->next);

    // A write from C++ is what the arena holds.
    b->value = 100;
    CHECK(arena.at<arena_node>(static_cast<std::size_t>(a->next - arena.user_vm_start()))->value == 100);

    // Pointers outside the arena, misaligned, or too near its end.
    CHECK_THROWS_WITH(arena.pointer<arena_node>(arena.user_vm_start() + arena.size()), Contains("outside the arena"));
    CHECK_THROWS_WITH(arena.at<arena_node>(arena.size() - 8), Contains("outside the arena"));
    CHECK_THROWS_WITH(arena.at<arena_node>(4), Contains("not aligned"));
    int local = 0;
    CHECK_THROWS_WITH(arena.arena_pointer(&local), Contains("not in the arena"));
#endif
}

TEST_CASE("Arena: a map that is not an arena") {
    if (!bpf::libbpf_at_least(1, 4)) SKIP_TEST("built with libbpf < 1.4: no arena view");
    auto mod = bpf::Module::open_memory(bpf_objects::recent_prepare());
    mod.load();
    CHECK_THROWS_WITH(bpf::Arena(mod.map("prep_config")), Contains("not a BPF_MAP_TYPE_ARENA"));
}

TEST_CASE("Arena: a map type the headers know goes to the kernel") {
    // The arena is map type 33. The library once judged the types it can represent by
    // Debian 12's last one (31) even when built with headers that know 33 (the UAPI
    // headers of libbpf >= 1.4, as scripts/libbpf.sh installs them) and refused the
    // object before libbpf or the kernel saw it.
    if (bpf::detail::largest_map_type() < 33) SKIP_TEST("this build's <linux/bpf.h> knows no arena maps");
#ifndef RECENT_HAVE_ARENA_OBJECT
    SKIP_TEST(no_arena_object);
#else
    auto mod = bpf::Module::open_memory(bpf_objects::recent_arena());
    try {
        mod.load();
        SUCCEED("the kernel took the arena");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), !Contains("does not know") && Contains("arena"));
    }
#endif
}
