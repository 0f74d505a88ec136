// plan_attach with the attach kinds of newer kernels: tcx else a clsact filter,
// kprobe_multi else one kprobe per function, and groups of programs chosen and attached
// together. The choice must agree with the harness's own probes, and the chosen
// programs must see real packets / calls.
#include <catch2/catch.hpp>

#include <libbpfcpp/fallback.hpp>
#include <libbpfcpp/libbpfcpp.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

#include "features.hpp"
#include "harness.hpp"
#include "links.h"
#include "net_util.hpp"
#include "parity_kmulti.bpf.hpp"
#include "parity_links.bpf.hpp"

using bpf::AttachCandidate;
using Catch::Matchers::Contains;

namespace {

std::vector<std::uint32_t> ran(const bpf::Module& mod) {
    const auto n = std::min<std::uint32_t>(mod.global<std::uint32_t>("order_len"), LINKS_ORDER_MAX);
    const auto o = mod.global<std::array<std::uint32_t, LINKS_ORDER_MAX>>("order");
    std::vector<std::uint32_t> v(o.begin(), o.begin() + n);
    return v;
}

bool tcx_usable() { return bpf::libbpf_at_least(1, 3) && testing::feature(testing::Feature::Tcx).available; }

}  // namespace

TEST_CASE("plan_attach: a group of two tc programs through tcx, else through clsact, sees real frames") {
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    auto mod = bpf::Module::open_memory(bpf_objects::parity_links());
    auto plan = bpf::plan_attach(
        mod, {AttachCandidate::group({AttachCandidate::tcx("tcx_a", "pv1"), AttachCandidate::tcx("tcx_b", "pv1")}),
              AttachCandidate::group({AttachCandidate::clsact("tcx_a", "pv1"), AttachCandidate::clsact("tcx_b", "pv1")})});
    const bool tcx = tcx_usable();
    REQUIRE(plan.chosen_index() == (tcx ? 0u : 1u));
    if (!tcx) {
        REQUIRE(plan.rejected().size() == 1);
        CHECK_THAT(plan.rejected()[0], Contains("tcx ingress of pv1 (prog 'tcx_a')"));
        if (!bpf::libbpf_at_least(1, 3)) CHECK_THAT(plan.report(), Contains("tcx needs libbpf >= 1.3"));
    } else {
        CHECK(mod.program("tcx_a").expected_attach_type() == bpf::tcx_attach_type(bpf::TcxDirection::Ingress));
    }
    mod.load();
    const bpf::AttachResult r = plan.attach(mod);
    CHECK(r.size() == 2);
    CHECK(r.links.size() == (tcx ? 2u : 0u));
    CHECK(r.legacy.size() == (tcx ? 0u : 2u));

    testing::ArrivingFrames arrived("pv1");
    testing::send_frame("pv0", testing::udp_frame(LINKS_UDP_PORT, "P"));
    REQUIRE(arrived.wait_udp(LINKS_UDP_PORT, 1) == 1);
    auto order = ran(mod);
    if (tcx) {
        CHECK(order == std::vector<std::uint32_t>{LINKS_TAG_A, LINKS_TAG_B});  // tcx keeps attach order
    } else {
        std::sort(order.begin(), order.end());  // clsact runs the later filter first
        CHECK(order == std::vector<std::uint32_t>{LINKS_TAG_A, LINKS_TAG_B});
    }
}

TEST_CASE("plan_attach: kprobe_multi, else one kprobe per function, else nothing with every reason") {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_kmulti());
    mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
    mod.program("km_exit").set_autoload(false);  // not a candidate; a kernel without kprobe_multi refuses it
    const std::vector<std::string> fns = {"__x64_sys_getpid", "__x64_sys_getppid"};
    const std::vector<AttachCandidate> candidates = {AttachCandidate::kprobe_multi("km_entry", fns),
                                                     AttachCandidate::kprobes("kp_each", fns)};
    if (!testing::feature(testing::Feature::Kprobes).available) {
        CHECK_THROWS_WITH(bpf::plan_attach(mod, candidates),
                          Contains("no candidate works") && Contains("kprobe_multi __x64_sys_getpid,__x64_sys_getppid") &&
                              Contains("kprobes __x64_sys_getpid") && Contains("CONFIG_KPROBES"));
        return;
    }
#if !defined(__x86_64__)
    SKIP_TEST("the syscall entry names of this test are x86-64's");
#endif
    auto plan = bpf::plan_attach(mod, candidates);
    const bool multi = testing::feature(testing::Feature::KprobeMulti).available;
    REQUIRE(plan.chosen_index() == (multi ? 0u : 1u));
    mod.load();
    const auto r = plan.attach(mod);
    CHECK(r.links.size() == (multi ? 1u : 2u));
    for (int i = 0; i < 3; ++i) syscall(SYS_getpid);
    testing::trigger_getppid(2);
    CHECK(mod.map("entry_runs").lookup<std::uint64_t, std::uint64_t>(0).value_or(0) == 5);
}
