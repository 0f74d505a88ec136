// Parity, the rest: feature probes checked against what really loads, BTF fd by id,
// possible CPUs, object iteration, attach_all/detach_all, libbpf version.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/probe.hpp>
#include <libbpfcpp/standalone_map.hpp>
#include <libbpfcpp/version.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "harness.hpp"
#include "parity_attach.bpf.hpp"
#include "parity_cc.bpf.hpp"
#include "parity_maps.bpf.hpp"

using Catch::Matchers::Contains;

TEST_CASE("probes: program types, map types and helpers agree with what loads") {
    CHECK(bpf::prog_type_supported(BPF_PROG_TYPE_XDP));
    CHECK(bpf::prog_type_supported(BPF_PROG_TYPE_SOCKET_FILTER));
    CHECK(bpf::map_type_supported(BPF_MAP_TYPE_HASH));
    CHECK(bpf::map_type_supported(BPF_MAP_TYPE_RINGBUF));
    CHECK(bpf::helper_supported(BPF_PROG_TYPE_XDP, BPF_FUNC_map_lookup_elem));
    CHECK(bpf::helper_supported(BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup));
    // Packet-writing helpers are not for tracepoints, nor route look-ups for socket filters.
    CHECK_FALSE(bpf::helper_supported(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_skb_store_bytes));
    CHECK_FALSE(bpf::helper_supported(BPF_PROG_TYPE_SOCKET_FILTER, BPF_FUNC_fib_lookup));

    // The tracing probe must predict whether an fentry program loads here.
    auto mod = bpf::Module::open_memory(bpf_objects::parity_attach());
    for (bpf::Prog p : mod.programs()) p.set_autoload(p.name() == "fentry_close");
    bool loaded = true;
    try {
        mod.load();
    } catch (const bpf::Error&) {
        loaded = false;
    }
    CHECK(bpf::prog_type_supported(BPF_PROG_TYPE_TRACING) == loaded);
}

TEST_CASE("possible CPUs match /sys; BTF fd by id of a map's BTF") {
    std::ifstream f("/sys/devices/system/cpu/possible");
    std::string range;
    f >> range;
    auto dash = range.find('-');
    const int expect = dash == std::string::npos ? 1 : std::stoi(range.substr(dash + 1)) + 1;
    CHECK(bpf::num_possible_cpus() == expect);

    auto tpl = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "inner_tpl", 4, 8, 4);
    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps());
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    mod.load();
    auto info = mod.map("h").info();
    REQUIRE(info.btf_id != 0);
    CHECK(info.btf_key_type_id != 0);
    auto btf = bpf::btf_fd_by_id(info.btf_id);
    REQUIRE(btf.get() >= 0);
    bpf_btf_info bi{};
    std::uint32_t len = sizeof bi;
    REQUIRE(bpf_obj_get_info_by_fd(btf.get(), &bi, &len) == 0);
    CHECK(bi.id == info.btf_id);
    CHECK(mod.btf_fd() >= 0);
    CHECK_THROWS_WITH(bpf::btf_fd_by_id(0xfffffff0u), Contains("no BTF object with this id"));
}

TEST_CASE("object iteration lists every map and program; attach_all and detach_all") {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_attach());
    std::set<std::string> progs, maps;
    for (const bpf::Prog& p : mod.programs()) progs.insert(std::string(p.name()));
    for (const bpf::Map& m : mod.maps()) maps.insert(std::string(m.name()));
    CHECK(progs.count("dump_tasks") == 1);
    CHECK(progs.count("btf_sys_enter") == 1);
    CHECK(progs.count("raw_sys_enter") == 1);
    CHECK(progs.size() == 13);
    CHECK(maps.count("kv") == 1);

    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.set_global("getppid_nr", static_cast<std::int64_t>(SYS_getppid));
    for (bpf::Prog p : mod.programs()) p.set_autoload(p.name() == "btf_sys_enter");
    mod.load();
    mod.attach_all();
    testing::trigger_getppid(3);
    CHECK(mod.global<std::uint64_t>("btf_hits") == 3);
    mod.detach_all();
    testing::trigger_getppid(3);
    CHECK(mod.global<std::uint64_t>("btf_hits") == 3);
}

TEST_CASE("libbpf version, at compile time and at run time") {
    CHECK(bpf::libbpf_major_version() == LIBBPF_MAJOR_VERSION);
    CHECK(bpf::libbpf_minor_version() >= 0);
    CHECK(std::string(bpf::libbpf_version_string()) ==
          "v" + std::to_string(bpf::libbpf_major_version()) + "." + std::to_string(bpf::libbpf_minor_version()));
}

TEST_CASE("program pin and unpin on a bpffs the test mounts") {
    testing::TempBpffs fs;
    auto mod = bpf::Module::open_memory(bpf_objects::parity_attach());
    for (bpf::Prog p : mod.programs()) p.set_autoload(p.name() == "btf_sys_enter");
    mod.load();
    auto prog = mod.program("btf_sys_enter");
    const std::string path = fs.path() + "/prog";
    prog.pin(path);
    bpf::OwnedFd pinned(bpf_obj_get(path.c_str()));
    REQUIRE(pinned.get() >= 0);
    bpf_prog_info a{}, b{};
    std::uint32_t la = sizeof a, lb = sizeof b;
    REQUIRE(bpf_obj_get_info_by_fd(pinned.get(), &a, &la) == 0);
    REQUIRE(bpf_obj_get_info_by_fd(prog.fd(), &b, &lb) == 0);
    CHECK(a.id == b.id);
    prog.unpin(path);
    CHECK(access(path.c_str(), F_OK) != 0);
    CHECK_THROWS_WITH(prog.pin("/tmp/not-a-bpffs-prog"), Contains("not on a BPF filesystem"));
}

TEST_CASE("Map::reuse_fd makes an object map use an existing map") {
    // libbpf renames the object map after the reused one: keep the name.
    auto shared = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "h", 4, 8, 100000);
    shared.update(std::uint32_t{5}, std::uint64_t{55});
    auto tpl = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "inner_tpl", 4, 8, 4);
    auto mod = bpf::Module::open_memory(bpf_objects::parity_maps());
    mod.map("outer2").set_inner_map_fd(tpl.fd());
    mod.map("h").reuse_fd(shared.fd());
    mod.load();
    CHECK(mod.map("h").lookup<std::uint32_t, std::uint64_t>(5) == 55u);
    CHECK(mod.map("h").info().id == shared.id());
}

TEST_CASE("struct_ops: a TCP congestion control registered with attach_struct_ops") {
    REQUIRE_FEATURE(StructOps);
    auto mod = bpf::Module::open_memory(bpf_objects::parity_cc());
    mod.load();
    auto available = [] {
        std::ifstream f("/proc/sys/net/ipv4/tcp_available_congestion_control");
        std::string all;
        std::getline(f, all);
        return all;
    };
    {
        bpf::Link reg = mod.map("parity_cc").attach_struct_ops();
        CHECK(reg.attached());
        CHECK_THAT(available(), Contains("parity_cc"));
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(s >= 0);
        CHECK(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "parity_cc", 9) == 0);
        close(s);
    }
    CHECK_THAT(available(), !Contains("parity_cc"));  // the Link's end unregistered it
}
