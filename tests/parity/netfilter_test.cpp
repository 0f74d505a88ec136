// netfilter (kernel >= 6.4, libbpf >= 1.3): a SEC("netfilter") program at IPv4
// LOCAL_IN of a private network namespace counts loopback UDP datagrams and drops those
// of one length; link info shows the hook. Built with libbpf < 1.3, each case checks
// instead that the attach names the release it needs.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "features.hpp"
#include "harness.hpp"
#include "lacks.hpp"
#include "links.h"
#include "net_util.hpp"
#include "parity_netfilter.bpf.hpp"

namespace {

constexpr std::uint16_t port = 4545;

/// Sends `count` datagrams of `payload` bytes to 127.0.0.1:port.
void send_sized(int count, std::size_t payload) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string data(payload, 'n');
    for (int i = 0; i < count; ++i)
        REQUIRE(sendto(s, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
                static_cast<ssize_t>(data.size()));
    close(s);
}

int bound_socket() {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_in me{};
    me.sin_family = AF_INET;
    me.sin_port = htons(port);
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&me), sizeof me) == 0);
    return s;
}

/// With libbpf < 1.3: true after checking that the attach fails naming the release it
/// needs (the object opens; SEC("netfilter") only loads with libbpf >= 1.3).
bool netfilter_needs_newer_libbpf() {
    if (bpf::libbpf_at_least(1, 3)) return false;
    auto mod = bpf::Module::open_memory(bpf_objects::parity_netfilter());
    bpf::NetfilterOptions o;
    CHECK_THROWS_WITH(mod.program("nf_filter").attach_netfilter(o), Catch::Contains("netfilter ipv4 local_in prio 0"));
    CHECK_THROWS_MATCHES(mod.program("nf_filter").attach_netfilter(o), bpf::Error,
                         testing::lacks_libbpf("netfilter", "1.3"));
    return true;
}

}  // namespace

TEST_CASE("netfilter: a LOCAL_IN hook counts and drops real loopback datagrams; link info shows the hook") {
    if (netfilter_needs_newer_libbpf()) return;
    REQUIRE_FEATURE(Netfilter);
    testing::NetnsScope ns;
    testing::link_up("lo");
    testing::OneCpuScope one_cpu;  // loopback datagrams are handled in send order
    auto mod = bpf::Module::open_memory(bpf_objects::parity_netfilter());
    mod.load();
    bpf::NetfilterOptions o;
    o.family = bpf::NetfilterOptions::ipv4;
    o.hook = bpf::NetfilterOptions::local_in;
    o.priority = -128;
    bpf::Link& l = mod.program("nf_filter").attach_netfilter(o);

    const bpf::LinkInfo i = l.info();
    CHECK(i.type == bpf::LinkInfo::netfilter);
    CHECK(i.type_name() == "netfilter");
    CHECK(i.nf_family == bpf::NetfilterOptions::ipv4);
    CHECK(i.nf_hook == bpf::NetfilterOptions::local_in);
    CHECK(i.nf_priority == -128);

    const int s = bound_socket();
    constexpr std::size_t drop_payload = NF_DROP_IP_LEN - 20 - 8;
    send_sized(3, drop_payload);  // dropped at LOCAL_IN
    send_sized(4, 10);            // accepted
    CHECK(testing::receive_datagrams(s, 4) == 4);
    CHECK(testing::receive_datagrams(s, 1, std::chrono::milliseconds(200)) == 0);  // none of the dropped
    CHECK(mod.global<std::uint64_t>("nf_dropped") == 3);
    CHECK(mod.global<std::uint64_t>("nf_seen") == 7);
    CHECK(mod.global<std::uint32_t>("nf_last_hook") == bpf::NetfilterOptions::local_in);

    l.destroy();  // detached: nothing is dropped any more
    send_sized(2, drop_payload);
    CHECK(testing::receive_datagrams(s, 2) == 2);
    CHECK(mod.global<std::uint64_t>("nf_seen") == 7);
    close(s);
}

TEST_CASE("netfilter: a refused hook says why") {
    if (netfilter_needs_newer_libbpf()) return;
    REQUIRE_FEATURE(Netfilter);
    testing::NetnsScope ns;
    auto mod = bpf::Module::open_memory(bpf_objects::parity_netfilter());
    mod.load();
    bpf::NetfilterOptions o;
    o.priority = INT32_MIN;  // reserved for the kernel's own first hook
    CHECK_THROWS_WITH(mod.program("nf_filter").attach_netfilter(o),
                      Catch::Contains("nf_filter") && Catch::Contains("priority"));
    o.priority = 0;
    o.hook = 17;
    CHECK_THROWS_WITH(mod.program("nf_filter").attach_netfilter(o), Catch::Contains("hook 17"));
}
