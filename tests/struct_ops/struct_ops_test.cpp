// struct_ops on this kernel: a BPF TCP congestion control (tcp_congestion_ops) registered
// with Map::attach_struct_ops(), under the one ownership rule of every attach (the Module
// keeps the link), and the section libbpf 1.1 does not know (.struct_ops.link).
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include "features.hpp"
#include "harness.hpp"
#include "struct_ops_hcc.bpf.hpp"
#include "struct_ops_hcc_ops.skel.hpp"
#include "struct_ops_hcc_link.bpf.hpp"
#include "struct_ops_hcc_assoc.bpf.hpp"

using Catch::Matchers::Contains;

namespace {

std::string available_ccs() {
    std::ifstream f("/proc/sys/net/ipv4/tcp_available_congestion_control");
    std::string all;
    std::getline(f, all);
    return " " + all + " ";
}

bool cc_available(const std::string& name) { return available_ccs().find(" " + name + " ") != std::string::npos; }

/// setsockopt(TCP_CONGESTION, name) on a fresh TCP socket; 0 or the errno.
int try_congestion(const std::string& name) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    int err = setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, name.data(), static_cast<socklen_t>(name.size())) == 0
                  ? 0
                  : errno;
    close(s);
    return err;
}

/// Sends `bytes` over loopback TCP from a client socket using congestion control `cc`;
/// returns the number of bytes the server read.
std::size_t loopback_transfer(const std::string& cc, std::size_t bytes) {
    int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(srv >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    REQUIRE(listen(srv, 1) == 0);

    int cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(cli >= 0);
    REQUIRE(setsockopt(cli, IPPROTO_TCP, TCP_CONGESTION, cc.data(), static_cast<socklen_t>(cc.size())) == 0);
    // A small send buffer makes the sender wait on ACKs, so cwnd growth is exercised.
    int sndbuf = 64 * 1024;
    setsockopt(cli, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    REQUIRE(connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    int conn = accept4(srv, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(conn >= 0);

    std::thread sender([cli, bytes] {
        std::vector<char> chunk(64 * 1024, 'x');
        std::size_t sent = 0;
        while (sent < bytes) {
            ssize_t n = send(cli, chunk.data(), std::min(chunk.size(), bytes - sent), MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        shutdown(cli, SHUT_WR);
    });
    std::vector<char> buf(64 * 1024);
    std::size_t got = 0;
    for (ssize_t n; (n = recv(conn, buf.data(), buf.size(), 0)) > 0;) got += static_cast<std::size_t>(n);
    sender.join();
    close(conn);
    close(cli);
    close(srv);
    return got;
}

constexpr std::size_t transfer_bytes = 8u << 20;

}  // namespace

TEST_CASE("attach_struct_ops with the result ignored keeps the congestion control while the Module lives") {
    REQUIRE_FEATURE(StructOps);
    const std::string cc = "lbcpp_hcc";
    REQUIRE_FALSE(cc_available(cc));
    {
        auto mod = bpf::Module::open_memory(bpf_objects::struct_ops_hcc());
        mod.load();
        mod.map("hcc").attach_struct_ops();  // the result ignored, as any Prog::attach_*

        CHECK(cc_available(cc));
        CHECK(try_congestion(cc) == 0);
        CHECK(loopback_transfer(cc, transfer_bytes) == transfer_bytes);
        CHECK(mod.global<std::uint64_t>("init_calls") >= 1);  // the client socket, at connect()
        CHECK(mod.global<std::uint64_t>("cong_avoid_calls") > 0);
    }
    CHECK_FALSE(cc_available(cc));  // unregistered with the Module
    CHECK(try_congestion(cc) == ENOENT);
}

TEST_CASE("attach_struct_ops: the Link handed back unregisters early when destroyed") {
    REQUIRE_FEATURE(StructOps);
    auto mod = bpf::Module::open_memory(bpf_objects::struct_ops_hcc());
    mod.load();
    bpf::Link& reg = mod.map("hcc").attach_struct_ops();
    CHECK(reg.attached());
    CHECK(reg.description() == "struct_ops hcc");
    CHECK(cc_available("lbcpp_hcc"));
    reg.destroy();
    CHECK_FALSE(cc_available("lbcpp_hcc"));
    CHECK(try_congestion("lbcpp_hcc") == ENOENT);
}

TEST_CASE("attach_struct_ops: a second registration of the same name says it is taken") {
    REQUIRE_FEATURE(StructOps);
    auto first = bpf::Module::open_memory(bpf_objects::struct_ops_hcc());
    first.load();
    first.map("hcc").attach_struct_ops();
    auto second = bpf::Module::open_memory(bpf_objects::struct_ops_hcc());
    second.load();
    try {
        second.map("hcc").attach_struct_ops();
        FAIL("a second tcp_congestion_ops named lbcpp_hcc was registered");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EEXIST);
        CHECK_THAT(e.what(), Contains("attaching struct_ops map 'hcc'") && Contains("already registered"));
    }
    CHECK(cc_available("lbcpp_hcc"));  // the first stays
}

TEST_CASE("attach_struct_ops on a map of another type is refused by name") {
    REQUIRE_FEATURE(StructOps);
    auto mod = bpf::Module::open_memory(bpf_objects::struct_ops_hcc());
    mod.load();
    CHECK_THROWS_WITH(mod.map(".bss").attach_struct_ops(), Contains("not a struct_ops map"));
}

TEST_CASE("SEC(\".struct_ops.link\"): registered through a link from libbpf 1.2, a clear refusal before") {
    REQUIRE_FEATURE(StructOps);
    auto mod = bpf::Module::open_memory(bpf_objects::struct_ops_hcc_link());
    const bool knows_link = libbpf_major_version() > 1 || libbpf_minor_version() >= 2;
    if (!knows_link) {
        try {
            mod.load();
            FAIL("libbpf " << libbpf_version_string() << " loaded an object with SEC(\".struct_ops.link\")");
        } catch (const bpf::Error& e) {
            CHECK(e.error_number() == EOPNOTSUPP);
            CHECK_THAT(e.what(), Contains("'.struct_ops.link'") && Contains("hcc_link") &&
                                     Contains("libbpf knows from release 1.2") && Contains("SEC(\".struct_ops\")"));
            CHECK_THAT(e.what(), !Contains("verifier"));
        }
        return;
    }
    // The kernel creates struct_ops maps for links (BPF_F_LINK) from Linux 6.4; 6.1 says EINVAL.
    if (!testing::kernel_at_least(6, 4))
        SKIP_TEST("struct_ops links need Linux >= 6.4; this kernel is " + testing::kernel_release_text());
    {
        auto owner = std::move(mod);
        owner.load();
        bpf::Link& link = owner.map("hcc_link").attach_struct_ops();
        CHECK(link.info().type == bpf::LinkInfo::struct_ops);
        CHECK(cc_available("lbcpp_hcc_link"));
        CHECK(loopback_transfer("lbcpp_hcc_link", transfer_bytes) == transfer_bytes);
        CHECK(owner.global<std::uint64_t>("cong_avoid_calls") > 0);
    }
    CHECK_FALSE(cc_available("lbcpp_hcc_link"));
}

TEST_CASE("struct_ops_data: the ops before load need libbpf 1.4, the shadow's size, and an unloaded object") {
    struct WrongSize {
        unsigned char bytes[3];
    };
    auto mod = bpf::Module::open_memory(bpf_objects::struct_ops_hcc());
    const bool has_data = libbpf_major_version() > 1 || libbpf_minor_version() >= 4;
    if (!has_data) {
        try {
            (void)bpf::struct_ops_data<WrongSize>(mod.map("hcc"));
            FAIL("libbpf " << libbpf_version_string() << " gave the data of a struct_ops map");
        } catch (const bpf::Error& e) {
            CHECK(e.error_number() == EOPNOTSUPP);
            CHECK_THAT(e.what(), Contains("'hcc") && Contains("needs libbpf >= 1.4"));
        }
        return;
    }
    CHECK_THROWS_WITH(bpf::struct_ops_data<WrongSize>(mod.map("hcc")),
                      Contains("the shadow type 3") && Contains("regenerate the skeleton"));
    CHECK_THROWS_WITH(bpf::struct_ops_data<WrongSize>(mod.map(".bss")), Contains("not a struct_ops map"));
    if (!testing::feature(testing::Feature::StructOps).available) return;
    mod.load();
    CHECK_THROWS_WITH(bpf::struct_ops_data<WrongSize>(mod.map("hcc")), Contains("set them before load"));
}

TEST_CASE("skeleton struct_ops: the shadow shows the programs, takes another before load, attaches through the skeleton") {
    REQUIRE_FEATURE(StructOps);
    auto open = struct_ops_hcc_ops::Skeleton::open();
    const bool has_data = libbpf_major_version() > 1 || libbpf_minor_version() >= 4;
    if (!has_data) {
        CHECK_THROWS_WITH(open.struct_ops.hcc_ops.ops(), Contains("needs libbpf >= 1.4"));
        return;
    }
    auto& ops = open.struct_ops.hcc_ops.ops();
    CHECK(ops.cong_avoid.program_name() == "hcc_cong_avoid");
    CHECK(ops.ssthresh.program_name() == "hcc_ssthresh");
    CHECK(ops.init.program_name() == "hcc_init");
    CHECK(ops.release.empty());
    CHECK(std::string_view(ops.name) == "lbcpp_hcc_ops");
    // Another program of the object in the cong_avoid member, and another name.
    ops.cong_avoid = open.progs.hcc_cong_avoid_alt;
    CHECK(ops.cong_avoid.program_name() == "hcc_cong_avoid_alt");
    open.progs.hcc_cong_avoid_alt.set_autoload(true);
    open.progs.hcc_cong_avoid.set_autoload(false);  // no ops member names it any more
    std::memset(ops.name, 0, sizeof ops.name);
    std::memcpy(ops.name, "lbcpp_hcc_shdw", 14);  // TCP_CA_NAME_MAX is 16 with the NUL
    CHECK_NOTHROW(ops.ssthresh = open.progs.hcc_ssthresh);  // a struct_ops program: accepted
    {
        auto skel = std::move(open).load();
        skel.struct_ops.hcc_ops.attach();  // kept by the Module
        CHECK(cc_available("lbcpp_hcc_shdw"));
        CHECK_FALSE(cc_available("lbcpp_hcc_ops"));
        CHECK(loopback_transfer("lbcpp_hcc_shdw", transfer_bytes) == transfer_bytes);
        CHECK(skel.bss().cong_avoid_alt_calls > 0);
        CHECK(skel.bss().cong_avoid_calls == 0);
        CHECK_THROWS_WITH(skel.struct_ops.hcc_ops.ops(), Contains("set them before load"));
    }
    CHECK_FALSE(cc_available("lbcpp_hcc_shdw"));
}

namespace {

}  // namespace

TEST_CASE("assoc_struct_ops: a syscall program associated with a loaded struct_ops map") {
    REQUIRE_FEATURE(StructOps);
    auto mod = bpf::Module::open_memory(bpf_objects::struct_ops_hcc_assoc());
    auto prog = mod.program("assoc_trigger");
    if (!bpf::libbpf_at_least(1, 7)) {
        CHECK_THROWS_WITH(bpf::assoc_struct_ops(prog, mod.map("hcc_assoc")), Contains("needs libbpf >= 1.7"));
        return;
    }
    CHECK_THROWS_WITH(bpf::assoc_struct_ops(prog, mod.map("hcc_assoc")), Contains("not loaded"));
    // The associated program is a syscall program (Linux 5.14): before that the object
    // cannot load, whatever libbpf asks. Probed with libbpf alone, as the harness does.
    if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, nullptr) != 1) {
        CHECK_THROWS_WITH(mod.load(), Contains("assoc_trigger"));
        SKIP_TEST("needs syscall programs (Linux 5.14) for the program to associate; this kernel refuses them");
    }
    mod.load();
    CHECK_THROWS_WITH(bpf::assoc_struct_ops(prog, mod.map(".bss")), Contains("not a struct_ops map"));
    CHECK_THROWS_WITH(bpf::assoc_struct_ops(mod.program("hcc_init"), mod.map("hcc_assoc")),
                      Contains("struct_ops program belongs to the map"));
    try {
        bpf::assoc_struct_ops(prog, mod.map("hcc_assoc"));
    } catch (const bpf::Error& e) {
        // A known kernel (a guest) newer than 6.18 must take it.
        if (testing::kernel_known() && testing::kernel_at_least(6, 19)) throw;
        CHECK_THAT(e.what(), Contains("BPF_PROG_ASSOC_STRUCT_OPS"));
        SKIP_TEST(std::string("this kernel refused the association (Linux > 6.18): ") + e.what());
    }
    // The associated program still loads and runs as before.
    REQUIRE(prog.test_run().retval == 0);
    CHECK(mod.global<std::uint64_t>("assoc_runs") == 1);
    // The kernel keeps one association: the same map again is accepted.
    CHECK_NOTHROW(bpf::assoc_struct_ops(prog, mod.map("hcc_assoc")));
}
