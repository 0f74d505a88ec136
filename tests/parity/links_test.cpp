// Links with any libbpf >= 1.0: what the kernel says about a link (type, program,
// attach point), a link's program replaced in place, and the kernel's links, programs
// and maps walked by id with owned fds.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "features.hpp"
#include "harness.hpp"
#include "links.h"
#include "net_util.hpp"
#include "parity_links.bpf.hpp"

namespace {

bpf::Module loaded_links() {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_links());
    mod.load();
    return mod;
}

}  // namespace

TEST_CASE("link info: an XDP link's type, program and interface; update_program swaps the program in place") {
    testing::NetnsScope ns;
    testing::create_veth("pv0", "pv1");
    testing::OneCpuScope one_cpu;
    auto mod = loaded_links();
    bpf::Link& l = mod.program("xdp_one").attach_xdp("pv1");

    bpf::LinkInfo i = l.info();
    CHECK(i.type == bpf::LinkInfo::xdp);
    CHECK(i.type_name() == "xdp");
    CHECK(i.ifindex == if_nametoindex("pv1"));
    const auto one_id = bpf::prog_info_by_fd(mod.program("xdp_one").fd()).id;
    const auto two_id = bpf::prog_info_by_fd(mod.program("xdp_two").fd()).id;
    CHECK(i.prog_id == one_id);
    CHECK(i.id != 0);

    {
        testing::ArrivingFrames arrived("pv1");
        testing::send_frame("pv0", testing::udp_frame(LINKS_UDP_PORT, "x"), 3);
        REQUIRE(arrived.wait_udp(LINKS_UDP_PORT, 3) == 3);
    }
    CHECK(mod.global<std::uint64_t>("xdp_one_seen") == 3);
    CHECK(mod.global<std::uint64_t>("xdp_two_seen") == 0);

    l.update_program(mod.program("xdp_two"));
    const bpf::LinkInfo after = l.info();
    CHECK(after.id == i.id);  // the same link
    CHECK(after.prog_id == two_id);
    {
        testing::ArrivingFrames arrived("pv1");
        testing::send_frame("pv0", testing::udp_frame(LINKS_UDP_PORT, "y"), 2);
        REQUIRE(arrived.wait_udp(LINKS_UDP_PORT, 2) == 2);
    }
    CHECK(mod.global<std::uint64_t>("xdp_one_seen") == 3);
    CHECK(mod.global<std::uint64_t>("xdp_two_seen") == 2);

    // A program of another type is refused with the cause.
    CHECK_THROWS_WITH(l.update_program(mod.program("raw_tp_count")),
                      Catch::Contains("updating the program of link") && Catch::Contains("raw_tp_count"));
    l.destroy();
    CHECK_THROWS_WITH(l.info(), Catch::Contains("destroyed"));
}

TEST_CASE("link info: a raw tracepoint link names its tracepoint") {
    auto mod = loaded_links();
    bpf::Link& l = mod.program("raw_tp_count").attach_raw_tracepoint("sys_enter");
    const bpf::LinkInfo i = l.info();
    CHECK(i.type == bpf::LinkInfo::raw_tracepoint);
    CHECK(i.tp_name == "sys_enter");
    CHECK(i.prog_id == bpf::prog_info_by_fd(mod.program("raw_tp_count").fd()).id);
    testing::trigger_getppid(5);
    CHECK(mod.global<std::uint64_t>("raw_tp_seen") >= 5);
}

TEST_CASE("kernel objects: this process's link, program and map are found by walking ids, with their info") {
    auto mod = loaded_links();
    bpf::Link& l = mod.program("raw_tp_count").attach_raw_tracepoint("sys_enter");
    const auto link_id = l.info().id;
    const auto prog = bpf::prog_info_by_fd(mod.program("raw_tp_count").fd());
    bpf::MapInfo map;
    for (const bpf::Map& m : mod.maps())
        if (m.name().find(".bss") != std::string_view::npos) map = m.info();
    REQUIRE(map.id != 0);

    const auto links = bpf::kernel_links();
    auto it = std::find_if(links.begin(), links.end(), [&](const bpf::KernelLink& k) { return k.info.id == link_id; });
    REQUIRE(it != links.end());
    CHECK(it->fd.get() >= 0);
    CHECK(it->info.prog_id == prog.id);
    CHECK(it->info.tp_name == "sys_enter");
    CHECK(std::is_sorted(links.begin(), links.end(),
                         [](const bpf::KernelLink& a, const bpf::KernelLink& b) { return a.info.id < b.info.id; }));

    const auto progs = bpf::kernel_programs();
    auto p = std::find_if(progs.begin(), progs.end(), [&](const bpf::KernelProg& k) { return k.info.id == prog.id; });
    REQUIRE(p != progs.end());
    CHECK(p->info.name == "raw_tp_count");
    CHECK(p->info.type == BPF_PROG_TYPE_RAW_TRACEPOINT);
    CHECK(p->info.tag.size() == 16);
    CHECK(p->info.tag == prog.tag);

    const auto maps = bpf::kernel_maps();
    CHECK(std::any_of(maps.begin(), maps.end(), [&](const bpf::KernelMap& k) {
        return k.info.id == map.id && k.info.type == BPF_MAP_TYPE_ARRAY;
    }));

    // By id, and the ids walked one by one.
    auto by_id = bpf::link_by_id(link_id);
    REQUIRE(by_id);
    CHECK(by_id->info.type == bpf::LinkInfo::raw_tracepoint);
    REQUIRE(bpf::prog_by_id(prog.id));
    CHECK(bpf::prog_by_id(prog.id)->info.name == "raw_tp_count");
    REQUIRE(bpf::map_by_id(map.id));
    CHECK(bpf::map_by_id(map.id)->info.name == map.name);
    bool seen = false;
    for (auto id = bpf::next_link_id(0); id; id = bpf::next_link_id(*id)) seen = seen || *id == link_id;
    CHECK(seen);
    seen = false;
    for (auto id = bpf::next_prog_id(0); id; id = bpf::next_prog_id(*id)) seen = seen || *id == prog.id;
    CHECK(seen);

    // Gone: nullopt, not an error. The walk's values held the link open until now.
    const int fds = testing::count_open_fds();
    { auto drop = std::move(by_id); }
    CHECK(testing::count_open_fds() == fds - 1);
    l.destroy();
    CHECK_FALSE(bpf::prog_by_id(0xfffffff0u).has_value());
    CHECK_FALSE(bpf::link_by_id(0xfffffff0u).has_value());
    CHECK(testing::count_open_fds() == fds - 2);  // the link's own fd too
}
