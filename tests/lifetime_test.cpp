// Ownership: a Module releases every fd it made, on success, on failed open/load, and
// when an exception interrupts set-up halfway.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <bpf/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "basic.bpf.hpp"
#include "harness.hpp"
#include "rejected.bpf.hpp"

extern "C" __attribute__((noinline, used)) int libbpfcpp_lifetime_probe(int x) {
    asm volatile("" ::: "memory");
    return x + 1;
}

namespace {

int (*volatile probe_fn)(int) = libbpfcpp_lifetime_probe;

// libbpf probes kernel features once per process and caches them; do it before counting.
void warm_up() {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.load();
}

void full_lifecycle() {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.load();
    mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
    mod.program("on_sys_enter").attach_raw_tracepoint("sys_enter");
    mod.program("on_add").attach_uprobe(0, testing::self_exe(), "libbpfcpp_lifetime_probe");
    mod.program("on_add_ret").attach_uretprobe(0, testing::self_exe(), "libbpfcpp_lifetime_probe");
    testing::trigger_getppid(3);
    probe_fn(1);
    mod.set_global("multiplier", std::uint64_t{2});  // maps .data
    CHECK(mod.global<std::uint64_t>("hits") == 3);
    mod.map("counts").update(std::uint32_t{1}, std::uint64_t{1});
    for ([[maybe_unused]] auto k : mod.map("counts").keys<std::uint32_t>()) {
    }
}

}  // namespace

TEST_CASE("a module's whole lifetime leaves no fd behind") {
    warm_up();
    const int before = testing::count_open_fds();
    full_lifecycle();
    CHECK(testing::count_open_fds() == before);
    full_lifecycle();  // and again, to catch per-use growth
    CHECK(testing::count_open_fds() == before);
}

TEST_CASE("moving a module transfers ownership without leaking or double-closing") {
    warm_up();
    const int before = testing::count_open_fds();
    {
        auto a = bpf::Module::open_memory(bpf_objects::basic());
        a.load();
        auto b = std::move(a);
        bpf::Module c = bpf::Module::open_memory(bpf_objects::basic());
        c = std::move(b);  // c's own object is closed here
        CHECK(c.loaded());
        CHECK(testing::count_open_fds() > before);
    }
    CHECK(testing::count_open_fds() == before);
}

TEST_CASE("a failed load leaves no fd behind") {
    warm_up();
    const int before = testing::count_open_fds();
    for (int i = 0; i < 3; ++i) {
        auto mod = bpf::Module::open_memory(bpf_objects::rejected());
        CHECK_THROWS_AS(mod.load(), bpf::Error);
    }
    CHECK(testing::count_open_fds() == before);
}

TEST_CASE("a failed open leaves no fd behind") {
    warm_up();
    const int before = testing::count_open_fds();
    std::vector<std::byte> junk(4096, std::byte{0x7f});
    CHECK_THROWS_AS(bpf::Module::open_memory(junk), bpf::Error);
    CHECK_THROWS_AS(bpf::Module::open_file("/nonexistent.bpf.o"), bpf::Error);
    CHECK(testing::count_open_fds() == before);
}

TEST_CASE("an exception thrown halfway through set-up releases everything") {
    warm_up();
    const int before = testing::count_open_fds();
    auto setup = [] {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.load();
        mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
        mod.program("on_sys_enter").attach_raw_tracepoint("no_such_raw_tracepoint");  // throws
    };
    CHECK_THROWS_AS(setup(), bpf::Error);
    auto user_throws = [] {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.load();
        mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
        throw std::runtime_error("user code failed");
    };
    CHECK_THROWS_AS(user_throws(), std::runtime_error);
    CHECK(testing::count_open_fds() == before);
}

TEST_CASE("destroying a module detaches its programs") {
    int map_fd = -1;  // keeps the map alive after the module is gone
    const auto pid = static_cast<std::uint32_t>(getpid());
    {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.set_global("target_pid", pid);
        mod.load();
        mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
        testing::trigger_getppid(2);
        map_fd = dup(mod.map("counts").fd());
    }
    REQUIRE(map_fd >= 0);
    testing::trigger_getppid(5);
    std::uint64_t count = 0;
    CHECK(bpf_map_lookup_elem(map_fd, &pid, &count) == 0);
    CHECK(count == 2);  // nothing counted after the module was destroyed
    close(map_fd);
}
