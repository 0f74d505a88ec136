// netkit (kernel >= 6.7, libbpf >= 1.3): a netkit pair made over rtnetlink in a private
// network namespace (iproute2 before 6.7 cannot), programs attached on the primary
// device for either side, frames passed and dropped. Same programs as the tcx tests:
// the tc return codes are netkit's (NEXT -1, PASS 0, DROP 2).
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <net/if.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "features.hpp"
#include "harness.hpp"
#include "lacks.hpp"
#include "links.h"
#include "net_util.hpp"
#include "parity_links.bpf.hpp"

namespace {

bpf::Module netkit_module(bpf::NetkitSide side) {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_links());
    for (const char* p : {"tcx_a", "tcx_b", "tcx_drop"})
        mod.program(p).set_expected_attach_type(bpf::netkit_attach_type(side));
    mod.load();
    return mod;
}

std::vector<std::uint32_t> ran(const bpf::Module& mod) {
    const auto n = std::min<std::uint32_t>(mod.global<std::uint32_t>("order_len"), LINKS_ORDER_MAX);
    const auto o = mod.global<std::array<std::uint32_t, LINKS_ORDER_MAX>>("order");
    return {o.begin(), o.begin() + n};
}

/// With libbpf < 1.3: true after checking that the attach and the query fail naming the
/// release they need; false with libbpf >= 1.3.
bool netkit_needs_newer_libbpf() {
    if (bpf::libbpf_at_least(1, 3)) return false;
    auto mod = netkit_module(bpf::NetkitSide::Primary);
    CHECK_THROWS_MATCHES(mod.program("tcx_a").attach_netkit("lo"), bpf::Error, testing::lacks_libbpf("netkit", "1.3"));
    CHECK_THROWS_MATCHES(bpf::netkit_query("lo", bpf::NetkitSide::Primary), bpf::Error,
                         testing::lacks_libbpf("multi-program hook queries", "1.3"));
    return true;
}

}  // namespace

// A netkit program runs when its device transmits, so a frame it drops may be refused to the
// sender (ENOBUFS from the packet socket on 6.12) rather than lost on the way, as on a veth.
TEST_CASE("netkit: primary programs see what the primary sends, in order, and can drop it; peer programs the peer's") {
    if (netkit_needs_newer_libbpf()) return;
    REQUIRE_FEATURE(Netkit);
    testing::NetnsScope ns;
    REQUIRE(testing::create_netkit("nk0", "nk1") == 0);
    testing::OneCpuScope one_cpu;
    {
        auto mod = netkit_module(bpf::NetkitSide::Primary);
        bpf::Link& la = mod.program("tcx_a").attach_netkit("nk0");
        bpf::NetkitOptions o;
        o.order = bpf::AttachOrder::before_link(la.fd());
        bpf::Link& lb = mod.program("tcx_b").attach_netkit("nk0", o);
        mod.program("tcx_drop").attach_netkit("nk0");

        const bpf::LinkInfo i = lb.info();
        CHECK(i.type == bpf::LinkInfo::netkit);
        CHECK(i.ifindex == if_nametoindex("nk0"));
        CHECK(i.attach_type == static_cast<std::uint32_t>(bpf::netkit_attach_type(bpf::NetkitSide::Primary)));
        const auto q = bpf::netkit_query("nk0", bpf::NetkitSide::Primary);
        REQUIRE(q.link_ids.size() == 3);
        CHECK(q.link_ids[0] == i.id);
        CHECK(q.link_ids[1] == la.info().id);
        CHECK(bpf::netkit_query("nk0", bpf::NetkitSide::Peer).prog_ids.empty());

        testing::ArrivingFrames arrived("nk1");
        testing::send_dropped_frame("nk0", testing::udp_frame(LINKS_UDP_PORT, "Drop"), 2);
        testing::send_frame("nk0", testing::udp_frame(LINKS_UDP_PORT, "Pass"), 1);
        REQUIRE(arrived.wait_udp(LINKS_UDP_PORT, 1) == 1);
        const std::vector<std::uint32_t> each = {LINKS_TAG_B, LINKS_TAG_A, LINKS_TAG_DROP};
        std::vector<std::uint32_t> want;
        for (int f = 0; f < 3; ++f) want.insert(want.end(), each.begin(), each.end());
        want.resize(LINKS_ORDER_MAX);
        CHECK(mod.global<std::uint32_t>("order_len") == 9);
        CHECK(ran(mod) == want);
        CHECK(arrived.wait_udp(LINKS_UDP_PORT, 2, std::chrono::milliseconds(200)) == 1);  // the dropped stay dropped
    }
    {
        auto mod = netkit_module(bpf::NetkitSide::Peer);
        mod.program("tcx_drop").attach_netkit("nk0");  // the peer's programs attach on the primary too
        CHECK(bpf::netkit_query("nk0", bpf::NetkitSide::Peer).prog_ids.size() == 1);
        testing::ArrivingFrames arrived("nk0");
        testing::send_dropped_frame("nk1", testing::udp_frame(LINKS_UDP_PORT, "Drop"), 1);
        testing::send_frame("nk1", testing::udp_frame(LINKS_UDP_PORT, "Pass"), 1);
        REQUIRE(arrived.wait_udp(LINKS_UDP_PORT, 1) == 1);
        CHECK(mod.global<std::uint32_t>("order_len") == 2);
        CHECK(arrived.wait_udp(LINKS_UDP_PORT, 2, std::chrono::milliseconds(200)) == 1);
    }
}

TEST_CASE("netkit: attaching to a device that is not netkit says so") {
    if (netkit_needs_newer_libbpf()) return;
    REQUIRE_FEATURE(Netkit);
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    auto mod = netkit_module(bpf::NetkitSide::Primary);
    CHECK_THROWS_WITH(mod.program("tcx_a").attach_netkit("pv0"), Catch::Contains("netkit primary of pv0"));
}
