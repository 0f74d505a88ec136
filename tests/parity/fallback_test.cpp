// Declarative attach fallbacks: the plan picks the first candidate this kernel supports
// (checked against independent probes), switches autoload before load, reports the
// reasons, and the chosen program really runs.
#include <catch2/catch.hpp>

#include <libbpfcpp/fallback.hpp>
#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/probe.hpp>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include <cerrno>
#include <cstdint>
#include <cstdio>

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

namespace {

/// The example of docs/recipes.md ("Attach fallbacks"): tp_btf where the kernel takes it,
/// else the same handler on a plain raw tracepoint.
std::string tp_btf_else_raw_tp(bpf::Module& mod) {
    // --- docs/recipes.md: tp_btf else raw_tp
    auto plan = bpf::plan_attach(mod, {
        bpf::AttachCandidate::tp_btf("btf_sys_enter", "sys_enter"),         // SEC("tp_btf/sys_enter")
        bpf::AttachCandidate::raw_tracepoint("raw_sys_enter", "sys_enter"), // SEC("raw_tp/sys_enter")
    });
    std::fprintf(stderr, "%s\n", plan.report().c_str());  // "using tp_btf sys_enter (prog ...)"
    mod.load();         // a verifier rejection or EPERM here is an error, not a fallback
    plan.attach(mod);
    // --- end
    return plan.chosen().program;
}

void plan_without_privileges(std::string& out) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capset, &hdr, data) != 0) throw std::runtime_error("capset failed");
    try {
        auto mod = open_attach();
        auto plan = bpf::plan_attach(mod, {AttachCandidate::tp_btf("btf_sys_enter", "sys_enter"),
                                           AttachCandidate::raw_tracepoint("raw_sys_enter", "sys_enter")});
        out = "planned: " + plan.report();
    } catch (const bpf::Error& e) {
        out = std::to_string(e.error_number()) + "|" + e.what();
    }
}

}  // namespace

TEST_CASE("tp_btf, else raw_tp: the plan follows a real tp_btf load and the chosen program counts") {
    auto mod = open_attach();
    const std::string chosen = tp_btf_else_raw_tp(mod);
    const bool tp_btf = testing::feature(testing::Feature::TpBtf).available;
    CHECK(chosen == (tp_btf ? "btf_sys_enter" : "raw_sys_enter"));
    testing::trigger_getppid(5);
    CHECK(mod.global<std::uint64_t>(tp_btf ? "btf_hits" : "raw_hits") == 5);
    CHECK(mod.global<std::uint64_t>(tp_btf ? "raw_hits" : "btf_hits") == 0);  // the other one never loaded
}

TEST_CASE("without privileges the plan throws EPERM at once instead of falling back") {
    const std::string out = testing::in_child(plan_without_privileges);
    CHECK_THAT(out, Contains(std::to_string(EPERM) + "|planning attach for object"));
    CHECK_THAT(out, Contains("needs CAP_BPF and CAP_PERFMON"));
    CHECK_THAT(out, !Contains("planned:"));
}
