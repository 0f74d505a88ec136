// Declarative attach fallbacks: the plan picks the first candidate this kernel supports
// (checked against independent probes), switches autoload before load, reports the
// reasons, and the chosen program really runs.
#include <catch2/catch.hpp>

#include <libbpfcpp/fallback.hpp>
#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/probe.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "harness.hpp"
#include "parity_attach.bpf.hpp"

using Catch::Matchers::Contains;
using bpf::AttachCandidate;

namespace {

bpf::Module open_attach() {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_attach());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.set_global("getppid_nr", static_cast<std::int64_t>(SYS_getppid));
    for (bpf::Prog p : mod.programs()) p.set_autoload(false);  // the plan turns on what it picks
    return mod;
}

}  // namespace

TEST_CASE("kprobe, else fentry, else tp_btf: the plan's choice matches the kernel and runs") {
    auto mod = open_attach();
    auto plan = bpf::plan_attach(mod, {
                                          AttachCandidate::kprobe("on_kprobe", "__x64_sys_close"),
                                          AttachCandidate::fentry("fentry_dynamic", "__x64_sys_close"),
                                          AttachCandidate::tp_btf("btf_sys_enter", "sys_enter"),
                                      });
    // The harness's own probes (an attached kprobe, an attached fentry program) must agree
    // with the plan's checks.
    const bool kprobes = testing::feature(testing::Feature::Kprobes).available;
    const bool tracing = testing::feature(testing::Feature::Fentry).available;
    const std::size_t expect = kprobes ? 0 : tracing ? 1 : 2;
    REQUIRE(plan.chosen_index() == expect);
    CHECK(plan.rejected().size() == expect);
    CHECK_THAT(plan.report(), Contains("using " + plan.chosen().describe()));
    if (!kprobes) CHECK_THAT(plan.report(), Contains("not kprobe __x64_sys_close (prog 'on_kprobe'): kprobes are not available"));
    if (!kprobes && !tracing) CHECK_THAT(plan.report(), Contains("refuses fentry/fexit"));

    CHECK(mod.program(plan.chosen().program).autoload());
    for (const char* other : {"on_kprobe", "fentry_dynamic", "btf_sys_enter"})
        if (plan.chosen().program != other) CHECK_FALSE(mod.program(other).autoload());

    mod.load();
    plan.attach(mod);
    for (int i = 0; i < 4; ++i) syscall(SYS_close, -1);
    testing::trigger_getppid(4);
    switch (expect) {
        case 0: CHECK(mod.global<std::uint64_t>("kprobe_hits") == 4); break;
        case 1: CHECK(mod.global<std::uint64_t>("fentry_hits") == 400); break;
        default: CHECK(mod.global<std::uint64_t>("btf_hits") == 4); break;
    }
}

TEST_CASE("a missing tracepoint is skipped for the next candidate; none usable throws every reason") {
    auto mod = open_attach();
    auto plan = bpf::plan_attach(mod, {
                                          AttachCandidate::tracepoint("btf_sys_enter", "nosuch", "event"),
                                          AttachCandidate::raw_tracepoint("btf_sys_enter", "no_such_raw_tp"),
                                          AttachCandidate::tp_btf("btf_sys_enter", "sys_enter"),
                                      });
    CHECK(plan.chosen_index() == 2);
    REQUIRE(plan.rejected().size() == 2);
    CHECK_THAT(plan.rejected()[0], Contains("no tracepoint nosuch:event"));
    CHECK_THAT(plan.rejected()[1], Contains("no raw tracepoint 'no_such_raw_tp'"));

    auto mod2 = open_attach();
    try {
        bpf::plan_attach(mod2, {AttachCandidate::tracepoint("btf_sys_enter", "nosuch", "event"),
                                AttachCandidate::kretprobe("on_kprobe", "no_such_function_xyz")});
        FAIL("expected an error");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EOPNOTSUPP);
        CHECK_THAT(e.what(), Contains("no candidate works") && Contains("nosuch:event") && Contains("kretprobe"));
    }
    CHECK_THROWS_WITH(bpf::plan_attach(mod2, {AttachCandidate::tp_btf("not_a_program", "sys_enter")}),
                      Contains("not_a_program"));
    mod2.program("btf_sys_enter").set_autoload(true);
    mod2.load();
    CHECK_THROWS_WITH(bpf::plan_attach(mod2, {AttachCandidate::tp_btf("btf_sys_enter", "sys_enter")}),
                      Contains("already loaded"));
}
