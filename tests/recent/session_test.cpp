// uprobe sessions (libbpf 1.6, Linux 6.13) on a function of this test binary: entry and
// return runs paired through the session cookie, the return run skipped on request.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/session.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "features.hpp"
#include "harness.hpp"
#include "recent_fsession.bpf.hpp"
#include "recent_usession.bpf.hpp"

extern "C" __attribute__((noinline, used)) int libbpfcpp_session_target(int x) {
    asm volatile("" ::: "memory");
    return x * 3;
}

namespace {

using Catch::Matchers::Contains;

int (*volatile target_fn)(int) = libbpfcpp_session_target;

}  // namespace

TEST_CASE("uprobe session: entry and return paired by the session cookie") {
    auto mod = bpf::Module::open_memory(bpf_objects::recent_usession());
    bpf::UprobeSessionOptions o;
    o.binary = testing::self_exe();
    o.symbols = {"libbpfcpp_session_target"};
    o.cookies = {5};
    o.pid = getpid();
    if (!bpf::libbpf_at_least(1, 6)) {
        mod.program("usession").set_autoload(false);
        mod.load();
        CHECK_THROWS_WITH(bpf::attach_uprobe_session(mod.program("usession"), o), Contains("needs libbpf >= 1.6"));
        return;
    }
    mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
    try {
        // Before 6.13 the session kfuncs exist for kprobes only: the load is refused.
        mod.load();
        bpf::attach_uprobe_session(mod.program("usession"), o);
    } catch (const bpf::Error& e) {
        if (testing::kernel_known() && testing::kernel_at_least(6, 13)) throw;
        SKIP_TEST(std::string("this kernel refused a uprobe session (Linux >= 6.13): ") + e.what());
    }
    CHECK(target_fn(2) == 6);
    CHECK(target_fn(3) == 9);  // odd: the entry run asks to skip the return run
    CHECK(target_fn(4) == 12);
    REQUIRE(mod.global<int>("no_kfuncs") == 0);
    CHECK(mod.global<std::uint64_t>("entries") == 3);
    CHECK(mod.global<std::uint64_t>("returns") == 2);
    CHECK(mod.global<std::uint64_t>("paired") == 2);
    CHECK(mod.global<std::uint64_t>("attach_cookies") == 15);

    // By file offset, a second link: each call now runs both sessions.
    bpf::UprobeSessionOptions by_offset = o;
    by_offset.symbols.clear();
    by_offset.offsets = {testing::file_offset_of(reinterpret_cast<const void*>(&libbpfcpp_session_target))};
    by_offset.cookies = {100};
    bpf::attach_uprobe_session(mod.program("usession"), by_offset);
    CHECK(target_fn(10) == 30);
    CHECK(mod.global<std::uint64_t>("entries") == 5);
    CHECK(mod.global<std::uint64_t>("returns") == 4);
    CHECK(mod.global<std::uint64_t>("paired") == 4);
    CHECK(mod.global<std::uint64_t>("attach_cookies") == 15 + 5 + 100);
}

TEST_CASE("uprobe session: options it refuses") {
    auto mod = bpf::Module::open_memory(bpf_objects::recent_usession());
    mod.program("usession").set_autoload(false);
    mod.load();
    bpf::UprobeSessionOptions o;
    o.binary = testing::self_exe();
    CHECK_THROWS_WITH(bpf::attach_uprobe_session(mod.program("usession"), o), Contains("by symbols or by offsets"));
    o.symbols = {"libbpfcpp_session_target"};
    o.cookies = {1, 2};
    CHECK_THROWS_WITH(bpf::attach_uprobe_session(mod.program("usession"), o), Contains("2 cookies for 1 functions"));
}

TEST_CASE("fsession: entry and return of do_nanosleep paired by the session cookie") {
    if (!bpf::libbpf_at_least(1, 7)) {
        // (libbpf before 1.7 does not know the section; another tracing program stands in.)
        auto other = bpf::Module::open_memory(bpf_objects::recent_usession());
        CHECK_THROWS_WITH(bpf::attach_fsession(other.program("usession")), Contains("needs libbpf >= 1.7"));
        return;
    }
    REQUIRE_FEATURE(Fentry);
    auto mod = bpf::Module::open_memory(bpf_objects::recent_fsession());
    mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
    CHECK_THROWS_WITH(bpf::attach_fsession(mod.program("fsession_sleep")), Contains("not loaded"));
    try {
        mod.load();
    } catch (const bpf::Error& e) {
        // The kernels of the matrix that have no fsession (before 7.x) refuse the
        // program's attach type at load.
        SKIP_TEST(std::string("this kernel refused an fsession program (BPF_TRACE_FSESSION): ") + e.what());
    }
    bpf::attach_fsession(mod.program("fsession_sleep"));
    constexpr int calls = 3;
    for (int i = 0; i < calls; ++i) {
        timespec ts{0, 1000000};
        nanosleep(&ts, nullptr);
    }
    CHECK(mod.global<std::uint64_t>("entries") == calls);
    CHECK(mod.global<std::uint64_t>("returns") == calls);
    CHECK(mod.global<std::uint64_t>("paired") == calls);
}

TEST_CASE("fsession: a program of another kind is refused by name") {
    if (!bpf::libbpf_at_least(1, 7)) SKIP_TEST("built with libbpf < 1.7: no fsession");
    // (Judged by the section before anything reaches the kernel.)
    auto mod = bpf::Module::open_memory(bpf_objects::recent_usession());
    CHECK_THROWS_WITH(bpf::attach_fsession(mod.program("usession")), Contains("not an fsession program"));
}
