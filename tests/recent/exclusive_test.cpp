// Exclusive maps (libbpf 1.7, Linux 6.18): only the chosen program may use the map.
#include <catch2/catch.hpp>

#include <libbpfcpp/exclusive.hpp>
#include <libbpfcpp/libbpfcpp.hpp>


#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "features.hpp"
#include "harness.hpp"
#include "recent_exclusive.bpf.hpp"

namespace {

using Catch::Matchers::Contains;

}  // namespace

TEST_CASE("exclusive maps: the owner runs, another program using the map is refused") {
    auto mod = bpf::Module::open_memory(bpf_objects::recent_exclusive());
    if (!bpf::libbpf_at_least(1, 7)) {
        CHECK_THROWS_WITH(bpf::set_exclusive_program(mod.map("excl_counts"), mod.program("excl_owner")),
                          Contains("needs libbpf >= 1.7"));
        return;
    }
    bpf::set_exclusive_program(mod.map("excl_counts"), mod.program("excl_owner"));
    mod.program("excl_other").set_autoload(false);
    try {
        mod.load();
    } catch (const bpf::Error& e) {
        // A guest's kernel of 6.18 or later must take it.
        if (testing::kernel_known() && testing::kernel_at_least(6, 18)) throw;
        SKIP_TEST(std::string("this kernel refused an exclusive map (Linux >= 6.18): ") + e.what());
    }
    const std::vector<std::byte> data(64, std::byte{0});
    bpf::TestRunOptions o;
    o.data_in = data;
    o.repeat = 3;
    REQUIRE(mod.program("excl_owner").test_run(o).retval == XDP_PASS);
    CHECK(mod.global<std::uint64_t>("owner_saw") == 3);
    CHECK_THROWS_WITH(bpf::set_exclusive_program(mod.map("excl_counts"), mod.program("excl_owner")),
                      Contains("already loaded"));

    // The same object with the other program loading too: the kernel refuses it.
    auto both = bpf::Module::open_memory(bpf_objects::recent_exclusive());
    bpf::set_exclusive_program(both.map("excl_counts"), both.program("excl_owner"));
    CHECK_THROWS_WITH(both.load(), Contains("excl_other"));
}
