// Parity, network side: BPF_PROG_TEST_RUN with every option, XDP (link and legacy
// netlink) and TC on a veth pair inside a network namespace the test creates, sk_lookup
// attached to that namespace, sk_msg on a sockmap through attach_generic_fd.
//
// A frame sent on pv0 reaches XDP and TC ingress of pv1 in softirq context, and a
// datagram to the loopback its socket lookup, possibly after the sending call returned
// (on a busy or emulated machine, well after). Counts of the receive side are checked
// once the packets have arrived past the program (testing::ArrivingFrames, or the
// datagrams received), so that a count that must not change is checked after the
// packets that must not change it. TC egress and sk_msg run in the sending call itself.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/tc.hpp>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "harness.hpp"
#include "net_util.hpp"
#include "parity.h"
#include "parity_net.bpf.hpp"

namespace {

bpf::Module loaded_net() {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_net());
    mod.load();
    return mod;
}

std::uint64_t slot(const bpf::Module& mod, std::uint32_t s) {
    return mod.map("net_counts").lookup<std::uint32_t, std::uint64_t>(s).value_or(0);
}

std::span<const std::byte> bytes(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

constexpr std::size_t payload_offset = 14 + 20 + 8;

}  // namespace

TEST_CASE("test_run: data in/out, repeat, duration and retval of an XDP program") {
    auto mod = loaded_net();
    auto prog = mod.program("xdp_count");

    auto pass = testing::udp_frame(PARITY_UDP_PORT, "R-rewrite");
    bpf::TestRunOptions o;
    o.data_in = bytes(pass);
    o.data_out_size = 256;
    o.repeat = 10;
    auto r = prog.test_run(o);
    CHECK(r.retval == XDP_PASS);
    REQUIRE(r.data_out.size() == pass.size());
    CHECK(static_cast<char>(r.data_out[payload_offset]) == 'W');  // the program rewrote R -> W
    CHECK(std::memcmp(r.data_out.data(), pass.data(), payload_offset) == 0);
    CHECK(slot(mod, SLOT_XDP) == 10);  // ran `repeat` times
    CHECK(r.duration < 1'000'000'000u);

    auto drop = testing::udp_frame(PARITY_UDP_PORT, "D-drop");
    bpf::TestRunOptions d;
    d.data_in = bytes(drop);
    CHECK(prog.test_run(d).retval == XDP_DROP);
    auto other = testing::udp_frame(53, "D-other-port");
    d.data_in = bytes(other);
    CHECK(prog.test_run(d).retval == XDP_PASS);
    CHECK(slot(mod, SLOT_XDP) == 11);
}

TEST_CASE("test_run: ctx in/out of an XDP program") {
    REQUIRE_FEATURE(XdpTestRunCtx);
    auto mod = loaded_net();
    auto frame = testing::udp_frame(PARITY_UDP_PORT, "R");
    xdp_md ctx{};
    ctx.data = 0;
    ctx.data_end = static_cast<std::uint32_t>(frame.size());
    ctx.ingress_ifindex = if_nametoindex("lo");
    bpf::TestRunOptions o;
    o.data_in = bytes(frame);
    o.ctx_in = std::as_bytes(std::span(&ctx, 1));
    o.ctx_out_size = sizeof(xdp_md);
    auto r = mod.program("xdp_count").test_run(o);
    CHECK(r.retval == XDP_PASS);
    REQUIRE(r.ctx_out.size() == sizeof(xdp_md));
    xdp_md out;
    std::memcpy(&out, r.ctx_out.data(), sizeof out);
    CHECK(out.data_end == frame.size());
    CHECK(out.ingress_ifindex == ctx.ingress_ifindex);
}

TEST_CASE("test_run: raw tracepoint with ctx, flags and cpu") {
    auto mod = loaded_net();
    const std::uint64_t args[2] = {0x1234, 0};
    bpf::TestRunOptions o;
    o.ctx_in = std::as_bytes(std::span(args));
    o.flags = BPF_F_TEST_RUN_ON_CPU;
    const int ncpu = bpf::num_possible_cpus();
    o.cpu = static_cast<std::uint32_t>(ncpu - 1);
    auto r = mod.program("raw_probe").test_run(o);
    CHECK(r.retval == 7);
    CHECK(mod.global<std::uint64_t>("raw_arg0") == 0x1234);
    CHECK(mod.global<std::uint32_t>("ran_on_cpu") == o.cpu);

    o.cpu = static_cast<std::uint32_t>(ncpu + 100);  // no such CPU: the kernel refuses
    CHECK_THROWS_AS(mod.program("raw_probe").test_run(o), bpf::Error);
}

TEST_CASE("test_run: unloaded program and too small output give clear errors") {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_net());
    CHECK_THROWS_WITH(mod.program("xdp_count").test_run(), Catch::Contains("not loaded"));
    mod.load();
    auto frame = testing::udp_frame(PARITY_UDP_PORT, "R");
    bpf::TestRunOptions o;
    o.data_in = bytes(frame);
    o.data_out_size = 4;
    CHECK_THROWS_WITH(mod.program("xdp_count").test_run(o), Catch::Contains("too small"));
}

TEST_CASE("XDP through a bpf_link counts real packets on a veth in a private netns") {
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    auto mod = loaded_net();
    bpf::Link& link = mod.program("xdp_count").attach_xdp("pv1");
    CHECK(link.fd() >= 0);
    CHECK_THAT(link.description(), Catch::Contains("xdp"));
    std::uint32_t id = 0;
    REQUIRE(bpf_xdp_query_id(static_cast<int>(if_nametoindex("pv1")), 0, &id) == 0);
    CHECK(id != 0);

    testing::ArrivingFrames arrived("pv1");
    testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "hello"), 5);
    testing::send_frame("pv0", testing::udp_frame(53, "other"), 2);
    REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 5) == 5);
    REQUIRE(arrived.wait_udp(53, 2) == 2);
    CHECK(slot(mod, SLOT_XDP) == 5);

    link.destroy();
    testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "hello"), 3);
    REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 8) == 8);
    CHECK(slot(mod, SLOT_XDP) == 5);
    CHECK_THROWS_WITH(mod.program("xdp_count").attach_xdp("no-such-if0"), Catch::Contains("no such network interface"));
}

TEST_CASE("XDP legacy attach with flags, detach on request and on module destruction") {
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    const int ifindex = static_cast<int>(if_nametoindex("pv1"));
    testing::ArrivingFrames arrived("pv1");
    {
        auto mod = loaded_net();
        auto& att = mod.program("xdp_count").attach_xdp_legacy(
            "pv1", bpf::XdpFlag::SkbMode | bpf::XdpFlag::UpdateIfNoExist);
        CHECK(att.attached());
        std::uint32_t id = 0;
        REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
        CHECK(id != 0);
        testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "x"), 4);
        REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 4) == 4);
        CHECK(slot(mod, SLOT_XDP) == 4);

        // UpdateIfNoExist refuses to replace the attached program.
        auto mod2 = loaded_net();
        CHECK_THROWS_AS(mod2.program("xdp_count").attach_xdp_legacy(
                            ifindex, bpf::XdpFlag::SkbMode | bpf::XdpFlag::UpdateIfNoExist),
                        bpf::Error);

        att.detach();
        CHECK_FALSE(att.attached());
        REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
        CHECK(id == 0);

        // Detaching by interface, as for an attachment made elsewhere.
        mod2.program("xdp_count").attach_xdp_legacy(ifindex, bpf::XdpFlag::SkbMode);
        mod.program("xdp_count").detach_xdp_legacy("pv1", bpf::XdpFlag::SkbMode);
        REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
        CHECK(id == 0);

        mod.program("xdp_count").attach_xdp_legacy(ifindex, bpf::XdpFlag::SkbMode);
        REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
        CHECK(id != 0);
    }
    std::uint32_t id = 1;
    REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
    CHECK(id == 0);  // the Module's destruction detached it
}

TEST_CASE("detach_xdp_legacy with XdpFlag::Replace removes only this program; an outside detach is quiet") {
    static_assert(static_cast<std::uint32_t>(bpf::XdpFlag::Modes) == XDP_FLAGS_MODES);
    static_assert(((bpf::XdpFlag::SkbMode | bpf::XdpFlag::Replace) & bpf::XdpFlag::Modes) == bpf::XdpFlag::SkbMode);
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    const int ifindex = static_cast<int>(if_nametoindex("pv1"));
    auto mine = loaded_net();
    auto other = loaded_net();
    other.program("xdp_count").attach_xdp_legacy(ifindex, bpf::XdpFlag::SkbMode);
    std::uint32_t attached = 0;
    REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &attached) == 0);
    REQUIRE(attached != 0);

    // Another module's program is attached: Replace refuses, and it stays.
    try {
        mine.program("xdp_count").detach_xdp_legacy("pv1", bpf::XdpFlag::SkbMode | bpf::XdpFlag::Replace);
        FAIL("detached another module's program");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EEXIST);
        CHECK_THAT(e.what(), Catch::Matchers::Contains("another XDP program than 'xdp_count' is attached"));
    }
    std::uint32_t id = 0;
    REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
    CHECK(id == attached);

    // Its own program: Replace detaches it.
    other.program("xdp_count").detach_xdp_legacy("pv1", bpf::XdpFlag::SkbMode | bpf::XdpFlag::Replace);
    REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
    CHECK(id == 0);

    // Detached from outside before the Module goes: the Module's undo says nothing.
    bpf::set_logger({}, bpf::LogLevel::Warn);
    {
        auto third = loaded_net();
        third.program("xdp_count").attach_xdp_legacy(ifindex, bpf::XdpFlag::SkbMode);
        REQUIRE(bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, nullptr) == 0);
        other.program("xdp_count").attach_xdp_legacy(ifindex, bpf::XdpFlag::SkbMode);
        testing::StderrCapture err;
        { auto gone = std::move(third); }
        CHECK_THAT(err.text(), !Catch::Matchers::Contains("does not match expected"));
        CHECK(err.text().empty());
    }
    REQUIRE(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0);
    CHECK(id != 0);  // the program attached since is untouched
}

TEST_CASE("TcHook: ingress and egress filters count packets, query, detach") {
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    auto mod = loaded_net();

    bpf::TcHook in("pv1", bpf::TcAttachPoint::Ingress);
    in.create();
    CHECK(in.created_qdisc());
    CHECK(in.interface_index() == static_cast<int>(if_nametoindex("pv1")));
    auto fin = in.attach(mod.program("tc_ingress"));
    CHECK(fin.handle != 0);
    CHECK(fin.priority != 0);
    CHECK(fin.prog_id != 0);

    bpf::TcHook out(static_cast<int>(if_nametoindex("pv0")), bpf::TcAttachPoint::Egress);
    out.create();
    auto fout = out.attach(mod.program("tc_egress"), {.handle = 7, .priority = 3, .flags = 0, .prog_id = 0});
    CHECK(fout.handle == 7);
    CHECK(fout.priority == 3);

    testing::ArrivingFrames arrived("pv1");
    testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "x"), 6);
    CHECK(slot(mod, SLOT_TC_EGRESS) == 6);  // counted while sending
    REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 6) == 6);
    CHECK(slot(mod, SLOT_TC_INGRESS) == 6);

    auto q = in.query(fin);
    REQUIRE(q);
    CHECK(q->prog_id == fin.prog_id);
    in.detach(fin);
    CHECK_FALSE(in.query(fin));
    testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "x"), 2);
    CHECK(slot(mod, SLOT_TC_EGRESS) == 8);
    REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 8) == 8);
    CHECK(slot(mod, SLOT_TC_INGRESS) == 6);
}

TEST_CASE("TcHook: destroy removes only a clsact qdisc the hook created; custom parent") {
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    auto mod = loaded_net();
    const int ifindex = static_cast<int>(if_nametoindex("pv1"));

    bpf::TcHook owner(ifindex, bpf::TcAttachPoint::Ingress);
    owner.create();
    REQUIRE(owner.created_qdisc());

    bpf::TcHook guest(ifindex, bpf::TcAttachPoint::Ingress);
    guest.create();
    CHECK_FALSE(guest.created_qdisc());  // reused the owner's qdisc

    // Custom parent: clsact's ingress class, ffff:fff2.
    bpf::TcHook custom(ifindex, bpf::TcAttachPoint::Custom);
    custom.set_parent(0xffff, 0xfff2);
    CHECK(custom.parent() == 0xfffffff2u);
    auto f = custom.attach(mod.program("tc_ingress"));
    testing::ArrivingFrames arrived("pv1");
    testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "x"), 3);
    REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 3) == 3);
    CHECK(slot(mod, SLOT_TC_INGRESS) == 3);

    guest.destroy();  // created nothing: the qdisc and the filter stay
    testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "x"), 1);
    REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 4) == 4);
    CHECK(slot(mod, SLOT_TC_INGRESS) == 4);
    CHECK(custom.query(f));

    owner.destroy();  // made the qdisc: it goes, with every filter under it
    testing::send_frame("pv0", testing::udp_frame(PARITY_UDP_PORT, "x"), 1);
    REQUIRE(arrived.wait_udp(PARITY_UDP_PORT, 5) == 5);
    CHECK(slot(mod, SLOT_TC_INGRESS) == 4);
    bpf::TcHook again(ifindex, bpf::TcAttachPoint::Ingress);
    again.create();
    CHECK(again.created_qdisc());
}

TEST_CASE("sk_lookup program attached to a network namespace sees socket lookups") {
    testing::NetnsScope ns;
    auto mod = loaded_net();
    bpf::Link& l = mod.program("count_lookup").attach_netns("/proc/self/ns/net");
    CHECK(l.fd() >= 0);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(PARITY_UDP_PORT);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    testing::send_udp_loopback(PARITY_UDP_PORT, 3);
    // Each datagram is looked up (and counted) before it is queued to the socket.
    CHECK(testing::receive_datagrams(s, 3) == 3);
    close(s);
    CHECK(slot(mod, SLOT_SK_LOOKUP) == 3);
    CHECK_THROWS_WITH(mod.program("count_lookup").attach_netns("/nonexistent/ns"), Catch::Contains("cannot open"));
}

TEST_CASE("sk_msg on a sockmap through attach_generic_fd / detach_generic_fd") {
    auto mod = loaded_net();
    auto socks = mod.map("socks");
    auto prog = mod.program("msg_count");
    prog.attach_generic_fd(socks.fd(), BPF_SK_MSG_VERDICT);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(ls >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    REQUIRE(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(ls, 1) == 0);
    REQUIRE(getsockname(ls, reinterpret_cast<sockaddr*>(&a), &alen) == 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int srv = accept(ls, nullptr, nullptr);
    REQUIRE(srv >= 0);

    socks.update(std::uint32_t{0}, static_cast<std::uint64_t>(c));
    const char msg[] = "twelve bytes";
    REQUIRE(send(c, msg, 12, 0) == 12);
    char buf[64];
    pollfd p{srv, POLLIN, 0};
    REQUIRE(poll(&p, 1, 30'000) == 1);  // not a hang if the message got lost
    CHECK(recv(srv, buf, sizeof buf, 0) == 12);
    CHECK(slot(mod, SLOT_SK_MSG_CALLS) == 1);
    CHECK(slot(mod, SLOT_SK_MSG_BYTES) == 12);

    prog.detach_generic_fd(socks.fd(), BPF_SK_MSG_VERDICT);
    CHECK_THROWS_AS(prog.detach_generic_fd(socks.fd(), BPF_SK_MSG_VERDICT), bpf::Error);
    close(srv);
    close(c);
    close(ls);
}
