// Unit and host: kernel symbolization, from known kallsyms text and from /proc/kallsyms.
#include <catch2/catch.hpp>

#include <libbpfcpp/tools/ksyms.hpp>

#include <fstream>
#include <string>

#include "harness.hpp"

using bpf::tools::KernelSymbols;
using Catch::Matchers::Contains;

namespace {
const char* const sample =
    "ffffffff81000000 T _stext\n"
    "ffffffff81000100 t helper_b\n"
    "ffffffff81000040 T helper_a\n"   // out of order, as module symbols are
    "ffffffffc0001000 t mod_fn\t[mymod]\n"
    "ffffffff81000100 T helper_b_alias\n";
}  // namespace

TEST_CASE("kernel symbols: address to symbol+offset, symbol to address") {
    const auto ks = KernelSymbols::parse(sample);
    CHECK(ks.size() == 5);
    auto a = ks.resolve(0xffffffff81000045);
    REQUIRE(a);
    CHECK(a->symbol->name == "helper_a");
    CHECK(a->offset == 5);
    CHECK(a->str() == "helper_a+0x5");
    CHECK(ks.resolve(0xffffffff81000000)->str() == "_stext+0x0");
    CHECK(ks.resolve(0xffffffff81000120)->offset == 0x20);
    CHECK(ks.resolve(0xffffffffc0001010)->str() == "mod_fn+0x10 [mymod]");
    CHECK(ks.resolve(0xffffffff80000000) == std::nullopt);  // below the first symbol
    CHECK(ks.address_of("helper_b") == 0xffffffff81000100);
    CHECK(ks.address_of("mod_fn") == 0xffffffffc0001000);
    CHECK(ks.address_of("nothing") == std::nullopt);
}

TEST_CASE("kernel symbols: addresses hidden by kptr_restrict are an error that says so") {
    const char* hidden = "0000000000000000 T _stext\n0000000000000000 T schedule\n";
    CHECK_THROWS_WITH(KernelSymbols::parse(hidden), Contains("every address is 0") && Contains("kptr_restrict"));
    CHECK_THROWS_WITH(KernelSymbols::parse("zzz T x\n", "test"), Contains("line 1 is not 'ADDRESS TYPE NAME"));
    CHECK_THROWS_WITH(KernelSymbols::load("/nonexistent/kallsyms"), Contains("cannot open it"));
}

TEST_CASE("kernel symbols of the running kernel: a function resolves to itself") {
    KernelSymbols ks;
    try {
        ks = KernelSymbols::load();
    } catch (const bpf::Error& e) {
        SKIP_TEST(std::string("/proc/kallsyms: ") + e.what());
    }
    CHECK(ks.size() > 1000);
    for (const char* fn : {"schedule", "do_sys_openat2", "bpf_prog_load"}) {
        INFO(fn);
        auto addr = ks.address_of(fn);
        REQUIRE(addr);
        auto r = ks.resolve(*addr + 4);
        REQUIRE(r);
        CHECK(r->symbol->address == *addr);
        CHECK(r->offset == 4);
    }
}
