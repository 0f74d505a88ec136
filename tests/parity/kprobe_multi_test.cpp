// kprobe_multi (kernel >= 5.18, needs kprobes): one program on several syscall entry
// functions by a symbol list with cookies and by a glob; kretprobe_multi; a kprobe
// session (kernel >= 6.10, libbpf >= 1.5). The triggers are real getpid/getppid calls of
// this process; the programs count runs per attach cookie for this process only.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <string>
#include <utility>

#include "features.hpp"
#include "harness.hpp"
#include "lacks.hpp"
#include "parity_kmulti.bpf.hpp"
#include "parity_ksession.bpf.hpp"

namespace {

// The syscall entry points of x86-64 (CONFIG_ARCH_HAS_SYSCALL_WRAPPER).
constexpr const char* getpid_fn = "__x64_sys_getpid";
constexpr const char* getppid_fn = "__x64_sys_getppid";

template <class Embedded>
bpf::Module for_this_process(Embedded obj) {
    auto mod = bpf::Module::open_memory(obj);
    mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
    mod.load();
    return mod;
}

std::uint64_t runs(const bpf::Module& mod, const char* map, std::uint64_t key) {
    return mod.map(map).lookup<std::uint64_t, std::uint64_t>(key).value_or(0);
}

/// Kernels before 6.6 report a kprobe_multi link's type but not its functions.
bool link_info_has_kprobe_multi() { return testing::kernel_at_least(6, 6); }

void trigger(int getpids, int getppids) {
    for (int i = 0; i < getpids; ++i) syscall(SYS_getpid);
    testing::trigger_getppid(getppids);
}

}  // namespace

TEST_CASE("kprobe_multi: symbols with cookies, and kretprobe_multi, count real calls") {
#if !defined(__x86_64__)
    SKIP_TEST("the syscall entry names of this test are x86-64's");
#endif
    REQUIRE_FEATURE(KprobeMulti);
    auto mod = for_this_process(bpf_objects::parity_kmulti());
    {
        bpf::KprobeMultiOptions o;
        o.symbols = {getpid_fn, getppid_fn};
        o.cookies = {1, 2};
        bpf::Link& entry = mod.program("km_entry").attach_kprobe_multi(o);
        bpf::KprobeMultiOptions r = o;
        r.retprobe = true;
        r.cookies = {11, 12};
        mod.program("km_exit").attach_kprobe_multi(r);

        const bpf::LinkInfo i = entry.info();
        CHECK(i.type == bpf::LinkInfo::kprobe_multi);
        if (link_info_has_kprobe_multi()) CHECK(i.count == 2);
        trigger(3, 5);
        CHECK(runs(mod, "entry_runs", 1) == 3);
        CHECK(runs(mod, "entry_runs", 2) == 5);
        CHECK(runs(mod, "exit_runs", 11) == 3);
        CHECK(runs(mod, "exit_runs", 12) == 5);
        mod.detach_all();
    }
}

/// The glob of getppid's traceable function for the functions list libbpf resolves globs
/// from, or (second) why there is none. libbpf >= 1.2 reads tracefs's
/// available_filter_functions_addrs or available_filter_functions (under debugfs's tracing
/// directory when that exists), 1.1 /proc/kallsyms. Which name is there varies: where the
/// function takes no arguments the compiler makes __x64_sys_getppid an alias of
/// __do_sys_getppid, and only the latter is in the filter lists of Debian's 5.10, 6.1 and
/// 6.12; kallsyms has both.
static std::pair<std::string, std::string> getppid_glob() {
    const auto glob_of = [](std::string name) { return name.substr(0, name.size() - 2) + "*d"; };  // ..._getpp*d
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 2)
    const std::string dir = access("/sys/kernel/debug/tracing", F_OK) == 0 ? "/sys/kernel/debug/tracing"
                                                                          : "/sys/kernel/tracing";
    for (const char* list : {"/available_filter_functions_addrs", "/available_filter_functions"}) {
        const std::string path = dir + list;
        std::FILE* f = std::fopen(path.c_str(), "r");
        if (f == nullptr) continue;
        std::string found;
        char line[512];
        while (found.empty() && std::fgets(line, sizeof line, f) != nullptr)
            for (char* tok = std::strtok(line, " \t\n"); tok != nullptr && found.empty(); tok = std::strtok(nullptr, " \t\n"))
                for (const char* fn : {getppid_fn, "__do_sys_getppid"})
                    if (std::strcmp(tok, fn) == 0) found = fn;
        std::fclose(f);
        if (found.empty()) return {"", path + " lists no traceable getppid (libbpf >= 1.2 resolves globs there)"};
        return {glob_of(found), ""};
    }
    return {"", dir + "/available_filter_functions(_addrs) cannot be read (libbpf >= 1.2 resolves globs there)"};
#else
    return {glob_of(getppid_fn), ""};
#endif
}

TEST_CASE("kprobe_multi: a glob attaches to the functions it matches") {
#if !defined(__x86_64__)
    SKIP_TEST("the syscall entry names of this test are x86-64's");
#endif
    REQUIRE_FEATURE(KprobeMulti);
    const auto [glob, why] = getppid_glob();
    if (!why.empty()) SKIP_TEST(why);
    // By glob: no cookies (0); only getppid matches.
    auto mod2 = for_this_process(bpf_objects::parity_kmulti());
    INFO("glob " << glob);
    bpf::Link& g = mod2.program("km_entry").attach_kprobe_multi(glob);
    if (link_info_has_kprobe_multi()) CHECK(g.info().count == 1);
    trigger(2, 4);
    CHECK(runs(mod2, "entry_runs", 0) == 4);
}

TEST_CASE("kprobe_multi: unknown functions and wrong options are refused with the cause") {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_kmulti());
    bpf::KprobeMultiOptions o;
    o.symbols = {"a", "b"};
    o.cookies = {1};
    CHECK_THROWS_WITH(mod.program("km_entry").attach_kprobe_multi(o), Catch::Contains("1 cookies for 2 functions"));
    CHECK_THROWS_WITH(mod.program("km_entry").attach_kprobe_multi(bpf::KprobeMultiOptions{}),
                      Catch::Contains("no functions given"));
    REQUIRE_FEATURE(KprobeMulti);
    mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
    mod.load();
    bpf::KprobeMultiOptions bad;
    bad.symbols = {"libbpfcpp_no_such_function_x"};
    CHECK_THROWS_WITH(mod.program("km_entry").attach_kprobe_multi(bad), Catch::Contains("kprobe_multi 1 functions"));
    CHECK_THROWS_AS(mod.program("km_entry").attach_kprobe_multi("libbpfcpp_no_such_*"), bpf::Error);
}

TEST_CASE("kprobe_multi: without kprobes the attach says so") {
    REQUIRE_MISSING_FEATURE(Kprobes);
    auto mod = for_this_process(bpf_objects::parity_kmulti());
    CHECK_THROWS_MATCHES(mod.program("km_entry").attach_kprobe_multi("__x64_sys_getppid"), bpf::Error,
                         testing::lacks_kernel("kprobes"));
}

TEST_CASE("kprobe session: one program runs at entry and at return, per cookie") {
    if (!bpf::libbpf_at_least(1, 5)) {
        auto mod = bpf::Module::open_memory(bpf_objects::parity_ksession());  // SEC("kprobe.session"): libbpf >= 1.5
        bpf::KprobeMultiOptions o;
        o.symbols = {getppid_fn};
        o.session = true;
        CHECK_THROWS_MATCHES(mod.program("ks_both").attach_kprobe_multi(o), bpf::Error,
                             testing::lacks_libbpf("kprobe session", "1.5"));
        return;
    }
#if !defined(__x86_64__)
    SKIP_TEST("the syscall entry names of this test are x86-64's");
#endif
    REQUIRE_FEATURE(KprobeSession);
    auto mod = for_this_process(bpf_objects::parity_ksession());
    bpf::KprobeMultiOptions o;
    o.symbols = {getpid_fn, getppid_fn};
    o.cookies = {1, 2};
    o.session = true;
    mod.program("ks_both").attach_kprobe_multi(o);
    trigger(2, 3);
    CHECK(runs(mod, "session_runs", 1 * 2) == 2);      // getpid entries
    CHECK(runs(mod, "session_runs", 1 * 2 + 1) == 2);  // getpid returns
    CHECK(runs(mod, "session_runs", 2 * 2) == 3);
    CHECK(runs(mod, "session_runs", 2 * 2 + 1) == 3);
}
