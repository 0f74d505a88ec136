// tcx (kernel >= 6.6, libbpf >= 1.3): sched_cls programs on a veth interface's ingress
// and egress through links, in an order given by program, link, id and revision; query
// and detach. Frames are sent on pv0 of a veth pair in a private network namespace and
// seen arriving on pv1 (testing::ArrivingFrames: past tcx ingress). Built with libbpf
// < 1.3, each case checks instead that the calls fail naming the release they need.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <net/if.h>

#include <array>
#include <string>
#include <vector>

#include "features.hpp"
#include "harness.hpp"
#include "lacks.hpp"
#include "links.h"
#include "net_util.hpp"
#include "parity_links.bpf.hpp"

namespace {

using Order = std::array<std::uint32_t, LINKS_ORDER_MAX>;

/// The links object with every tc program given the tcx attach type of `dir`.
bpf::Module links_module(bpf::TcxDirection dir = bpf::TcxDirection::Ingress) {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_links());
    for (const char* p : {"tcx_a", "tcx_b", "tcx_c", "tcx_drop"})
        mod.program(p).set_expected_attach_type(bpf::tcx_attach_type(dir));
    mod.load();
    return mod;
}

/// The tags of the programs that ran on test frames, in order.
std::vector<std::uint32_t> ran(const bpf::Module& mod) {
    const auto n = std::min<std::uint32_t>(mod.global<std::uint32_t>("order_len"), LINKS_ORDER_MAX);
    const Order o = mod.global<Order>("order");
    return {o.begin(), o.begin() + n};
}

void reset(bpf::Module& mod) {
    mod.set_global("order_len", std::uint32_t{0});
    mod.set_global("order", Order{});
}

/// Sends one test frame pv0 -> pv1 and waits until it arrived past tcx ingress.
void one_frame(const std::string& payload = "P") {
    testing::ArrivingFrames arrived("pv1");
    testing::send_frame("pv0", testing::udp_frame(LINKS_UDP_PORT, payload));
    REQUIRE(arrived.wait_udp(LINKS_UDP_PORT, 1) == 1);
}

std::uint32_t prog_id(const bpf::Prog& p) { return bpf::prog_info_by_fd(p.fd()).id; }

constexpr auto A = LINKS_TAG_A, B = LINKS_TAG_B, C = LINKS_TAG_C;

/// With libbpf < 1.3 (no tcx): true after checking that the attach and the query fail
/// naming the release they need (the case ends there); false with libbpf >= 1.3.
bool tcx_needs_newer_libbpf() {
    if (bpf::libbpf_at_least(1, 3)) return false;
    auto mod = links_module();
    CHECK_THROWS_WITH(mod.program("tcx_a").attach_tcx("lo"), Catch::Contains("bpf::TcHook"));
    CHECK_THROWS_MATCHES(mod.program("tcx_a").attach_tcx("lo"), bpf::Error, testing::lacks_libbpf("tcx", "1.3"));
    CHECK_THROWS_MATCHES(bpf::tcx_query("lo", bpf::TcxDirection::Ingress), bpf::Error,
                         testing::lacks_libbpf("multi-program hook queries", "1.3"));
    return true;
}

}  // namespace

TEST_CASE("tcx: two programs on ingress run in attach order, and before/after reorder them") {
    if (tcx_needs_newer_libbpf()) return;
    REQUIRE_FEATURE(Tcx);
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    auto mod = links_module();

    bpf::Link& la = mod.program("tcx_a").attach_tcx("pv1");
    bpf::Link& lb = mod.program("tcx_b").attach_tcx("pv1");  // default: last
    one_frame();
    CHECK(ran(mod) == std::vector<std::uint32_t>{A, B});

    auto q = bpf::tcx_query("pv1", bpf::TcxDirection::Ingress);
    REQUIRE(q.prog_ids.size() == 2);
    CHECK(q.prog_ids[0] == prog_id(mod.program("tcx_a")));
    CHECK(q.prog_ids[1] == prog_id(mod.program("tcx_b")));
    CHECK(q.link_ids[0] == la.info().id);
    CHECK(q.link_ids[1] == lb.info().id);
    CHECK(bpf::tcx_query("pv1", bpf::TcxDirection::Egress).prog_ids.empty());

    // C before A's link: C, A, B.
    bpf::TcxOptions o;
    o.order = bpf::AttachOrder::before_link(la.fd());
    bpf::Link& lc = mod.program("tcx_c").attach_tcx("pv1", o);
    reset(mod);
    one_frame();
    CHECK(ran(mod) == std::vector<std::uint32_t>{C, A, B});

    // Detach A: C, B. Then drop in first place, relative to nothing.
    la.destroy();
    bpf::TcxOptions first;
    first.order = bpf::AttachOrder::first();
    bpf::Link& ld = mod.program("tcx_drop").attach_tcx("pv1", first);
    reset(mod);
    one_frame();
    CHECK(ran(mod) == std::vector<std::uint32_t>{LINKS_TAG_DROP, C, B});

    auto q2 = bpf::tcx_query("pv1", bpf::TcxDirection::Ingress);
    REQUIRE(q2.prog_ids.size() == 3);
    CHECK(q2.revision > q.revision);
    CHECK(q2.link_ids[0] == ld.info().id);
    CHECK(q2.link_ids[1] == lc.info().id);

    lb.destroy();
    lc.destroy();
    ld.destroy();
    CHECK(bpf::tcx_query("pv1", bpf::TcxDirection::Ingress).prog_ids.empty());
    reset(mod);
    one_frame();
    CHECK(ran(mod).empty());
}

TEST_CASE("tcx: order by program fd and by ids; a stale revision and a missing relative are refused") {
    if (tcx_needs_newer_libbpf()) return;
    REQUIRE_FEATURE(Tcx);
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    auto mod = links_module();
    const int ifindex = static_cast<int>(if_nametoindex("pv1"));

    bpf::Link& la = mod.program("tcx_a").attach_tcx(ifindex);
    bpf::TcxOptions o;
    o.order = bpf::AttachOrder::after_prog(mod.program("tcx_a").fd());
    mod.program("tcx_c").attach_tcx(ifindex, o);
    o.order = bpf::AttachOrder::before_prog_id(prog_id(mod.program("tcx_c")));
    mod.program("tcx_b").attach_tcx(ifindex, o);
    one_frame();
    CHECK(ran(mod) == std::vector<std::uint32_t>{A, B, C});

    // The link by id: drop goes after A's link.
    const auto rev = bpf::tcx_query(ifindex, bpf::TcxDirection::Ingress).revision;
    o.order = bpf::AttachOrder::after_link_id(la.info().id);
    o.expected_revision = rev;
    mod.program("tcx_drop").attach_tcx(ifindex, o);
    reset(mod);
    one_frame();
    CHECK(ran(mod) == std::vector<std::uint32_t>{A, LINKS_TAG_DROP, B, C});

    // The revision moved on: the same expectation is refused with the cause.
    auto mod2 = links_module();
    bpf::TcxOptions stale;
    stale.expected_revision = rev;
    CHECK_THROWS_WITH(mod2.program("tcx_a").attach_tcx(ifindex, stale),
                      Catch::Contains("tcx ingress of ifindex") && Catch::Contains("changed since revision"));
    // Relative to a program that is not attached there.
    bpf::TcxOptions missing;
    missing.order = bpf::AttachOrder::before_prog(mod2.program("tcx_b").fd());
    CHECK_THROWS_WITH(mod2.program("tcx_a").attach_tcx(ifindex, missing), Catch::Contains("not attached there"));
    // The same program twice.
    CHECK_THROWS_WITH(mod.program("tcx_a").attach_tcx(ifindex), Catch::Contains("already attached"));
    CHECK(bpf::tcx_query(ifindex, bpf::TcxDirection::Ingress).prog_ids.size() == 4);
}

TEST_CASE("tcx: a program that drops keeps frames from arriving; egress runs on sending") {
    if (tcx_needs_newer_libbpf()) return;
    REQUIRE_FEATURE(Tcx);
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    testing::OneCpuScope one_cpu;  // frames handled in send order: the last one's arrival closes the count
    {
        auto mod = links_module();
        mod.program("tcx_drop").attach_tcx("pv1");
        testing::ArrivingFrames arrived("pv1");
        testing::send_frame("pv0", testing::udp_frame(LINKS_UDP_PORT, "Drop"), 3);
        testing::send_frame("pv0", testing::udp_frame(LINKS_UDP_PORT, "Pass"), 1);
        REQUIRE(arrived.wait_udp(LINKS_UDP_PORT, 1) == 1);
        CHECK(mod.global<std::uint32_t>("order_len") == 4);  // saw all four, let one through
        CHECK(arrived.wait_udp(LINKS_UDP_PORT, 2, std::chrono::milliseconds(200)) == 1);
    }
    {
        auto mod = links_module(bpf::TcxDirection::Egress);
        bpf::Link& l = mod.program("tcx_b").attach_tcx("pv0");
        CHECK(l.info().attach_type == static_cast<std::uint32_t>(bpf::tcx_attach_type(bpf::TcxDirection::Egress)));
        testing::send_frame("pv0", testing::udp_frame(LINKS_UDP_PORT, "E"), 2);  // egress runs in the send
        CHECK(ran(mod) == std::vector<std::uint32_t>{B, B});
        CHECK(bpf::tcx_query("pv0", bpf::TcxDirection::Egress).prog_ids.size() == 1);
    }
}

TEST_CASE("tcx: a program without a tcx attach type is refused with what to do") {
    if (tcx_needs_newer_libbpf()) return;
    auto mod = bpf::Module::open_memory(bpf_objects::parity_links());
    mod.load();
    CHECK_THROWS_WITH(mod.program("tcx_a").attach_tcx("lo"),
                      Catch::Contains("not tcx") && Catch::Contains("set_expected_attach_type"));
    CHECK_THROWS_WITH(mod.program("tcx_a").attach_tcx("no-such-if0"), Catch::Contains("no such network interface"));
}
