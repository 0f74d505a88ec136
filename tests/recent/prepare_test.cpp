// Module::prepare() (libbpf 1.6): maps exist between prepare() and load(), programs not yet.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <cstdint>
#include <vector>

#include "harness.hpp"
#include "recent_prepare.bpf.hpp"

namespace {

using Catch::Matchers::Contains;

std::vector<std::byte> frame() { return std::vector<std::byte>(64, std::byte{0}); }

}  // namespace

TEST_CASE("prepare(): maps are created and can be filled before the programs load") {
    auto mod = bpf::Module::open_memory(bpf_objects::recent_prepare());
    if (!bpf::libbpf_at_least(1, 6)) {
        // The older cells: the error names the release and what to do instead.
        CHECK_THROWS_WITH(mod.prepare(), Contains("needs libbpf >= 1.6") && Contains("call load()"));
        CHECK_FALSE(mod.prepared());
        mod.load();  // the object is still usable the old way
        CHECK(mod.map("prep_config").fd() >= 0);
        return;
    }
    CHECK(mod.map("prep_config").fd() < 0);
    mod.prepare();
    CHECK(mod.prepared());
    CHECK_FALSE(mod.loaded());
    REQUIRE(mod.map("prep_config").fd() >= 0);
    CHECK(mod.program("double_config").fd() < 0);  // not loaded yet
    mod.map("prep_config").update(std::uint32_t{0}, std::uint64_t{21});
    CHECK_THROWS_WITH(mod.prepare(), Contains("already prepared"));

    mod.load();
    REQUIRE(mod.program("double_config").fd() >= 0);
    const auto data = frame();
    bpf::TestRunOptions o;
    o.data_in = data;
    CHECK(mod.program("double_config").test_run(o).retval == XDP_PASS);
    CHECK(mod.map("prep_result").lookup<std::uint32_t, std::uint64_t>(0) == std::uint64_t{42});
    CHECK_THROWS_WITH(mod.prepare(), Contains("already loaded"));
}

TEST_CASE("prepare(): a map the kernel refuses fails in prepare(), with the load's message") {
    if (!bpf::libbpf_at_least(1, 6)) SKIP_TEST("built with libbpf < 1.6: no prepare()");
    auto mod = bpf::Module::open_memory(bpf_objects::recent_prepare());
    mod.map("prep_config").set_max_entries(0);  // an array of no entries: EINVAL from the kernel
    CHECK_THROWS_WITH(mod.prepare(), Contains("loading object 'recent_prepare'"));
    CHECK(mod.loaded());  // libbpf will not try again
    CHECK_THROWS_WITH(mod.load(), Contains("already loaded"));
}
