// Host: user-space symbolization of this process through libdwfl: a function of the test
// binary and one of the C library, by address. Skips when built without libdw.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <string>

#include "harness.hpp"

#if LIBBPFCPP_TEST_LIBDW
#include <libbpfcpp/tools/usyms.hpp>

using Catch::Matchers::Contains;

extern "C" __attribute__((noinline, used)) int toolkit_symbolize_me(int x) {
    asm volatile("" : "+r"(x));
    return x * 3 + 1;
}

namespace tk {
__attribute__((noinline)) int overloaded(double d) { return static_cast<int>(d) + toolkit_symbolize_me(2); }
}  // namespace tk

TEST_CASE("user symbols: a function of the test binary, at its start and inside it") {
    bpf::tools::UserSymbols syms(getpid());
    const auto addr = reinterpret_cast<std::uintptr_t>(&toolkit_symbolize_me);
    auto at = syms.resolve(addr);
    REQUIRE(at);
    CHECK(at->symbol == "toolkit_symbolize_me");
    CHECK(at->offset == 0);
    CHECK(at->module == testing::self_exe());
    auto inside = syms.resolve(addr + 1);
    REQUIRE(inside);
    CHECK(inside->symbol == "toolkit_symbolize_me");
    CHECK(inside->offset == 1);
    CHECK_THAT(inside->str(), Contains("toolkit_symbolize_me+0x1 ("));
    // C++ names come demangled.
    auto cpp = syms.resolve(reinterpret_cast<std::uintptr_t>(&tk::overloaded));
    REQUIRE(cpp);
    CHECK(cpp->symbol == "tk::overloaded(double)");
    CHECK(tk::overloaded(1.0) == 8);
}

TEST_CASE("user symbols: getpid in the C library") {
    bpf::tools::UserSymbols syms(getpid());
    auto r = syms.resolve(reinterpret_cast<std::uintptr_t>(&getpid));
    REQUIRE(r);
    INFO(r->str());
    // glibc exports getpid as a weak alias of __getpid; libdwfl names the global one.
    CHECK((r->symbol == "getpid" || r->symbol == "__getpid"));
    CHECK(r->offset == 0);
#ifndef LIBBPFCPP_TEST_STATIC
    CHECK_THAT(r->module, Contains("libc.so"));
#endif
}

TEST_CASE("user symbols: a process that does not exist is an error that says so") {
    CHECK_THROWS_WITH(bpf::tools::UserSymbols(0x3ffffff0), Contains("reading the mappings of process") &&
                                                               Contains("no such process"));
}
#else
TEST_CASE("user symbols") {
    SKIP_TEST("built without elfutils' libdw (meson option libdw; Debian: apt-get install libdw-dev)");
}
#endif
