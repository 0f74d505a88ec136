// Parity, attach kinds: iterators read through IterReader, tp_btf, fentry/fexit/fmod_ret
// and set_attach_target, LSM, USDT probes compiled into this binary, uprobe with a
// cookie, uprobe_multi, kprobe by offset. Kinds this kernel refuses skip with the reason.
#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <libbpfcpp/iter.hpp>
#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/version.hpp>

#include <fcntl.h>
#include <sys/sdt.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "harness.hpp"
#include "lacks.hpp"
#include "parity_attach.bpf.hpp"

using Catch::Matchers::Contains;

extern "C" __attribute__((noinline, used)) int parity_uprobe_target(int x) {
    asm volatile("" ::: "memory");
    return x + 1;
}
extern "C" __attribute__((noinline, used)) int parity_multi_a(int x) {
    asm volatile("" ::: "memory");
    return x * 2;
}
extern "C" __attribute__((noinline, used)) int parity_multi_b(int x) {
    asm volatile("" ::: "memory");
    return x * 3;
}
extern "C" __attribute__((noinline, used)) void parity_usdt_fire(long a, long b) {
    DTRACE_PROBE2(parity, tick, a, b);
    asm volatile("" ::: "memory");
}

namespace {

int (*volatile uprobe_fn)(int) = parity_uprobe_target;
int (*volatile multi_a)(int) = parity_multi_a;
int (*volatile multi_b)(int) = parity_multi_b;
void (*volatile usdt_fn)(long, long) = parity_usdt_fire;

/// The attach object with only `progs` loaded (the others may need what this kernel lacks).
bpf::Module open_only(std::initializer_list<std::string_view> progs) {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_attach());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.set_global("getppid_nr", static_cast<std::int64_t>(SYS_getppid));
    for (bpf::Prog p : mod.programs()) {
        bool keep = false;
        for (auto n : progs) keep |= p.name() == n;
        p.set_autoload(keep);
    }
    return mod;
}

std::string comm_of_self() {
    std::ifstream f("/proc/self/comm");
    std::string c;
    std::getline(f, c);
    return c;
}

}  // namespace

TEST_CASE("iter/task through IterReader lists this process; a second reader runs it again") {
    REQUIRE_FEATURE(IterTask);
    auto mod = open_only({"dump_tasks"});
    mod.load();
    bpf::Link& l = mod.program("dump_tasks").attach_iter();
    const std::string me = std::to_string(getpid()) + " " + comm_of_self();

    bpf::IterReader r(l);
    bool found = false;
    int lines = 0;
    while (auto line = r.next_line()) {
        found |= *line == me;
        ++lines;
    }
    CHECK(found);
    CHECK(lines > 1);  // init and others too

    bpf::IterReader again(l);
    CHECK_THAT(again.read_all(), Contains(me));
}

TEST_CASE("iter/bpf_map_elem with IterOptions::map_fd dumps a map") {
    REQUIRE_FEATURE(IterMapElem);
    auto mod = open_only({"dump_kv"});
    mod.load();
    auto kv = mod.map("kv");
    kv.update(std::uint32_t{3}, std::uint64_t{30});
    kv.update(std::uint32_t{4}, std::uint64_t{40});
    bpf::IterOptions o;
    o.map_fd = kv.fd();
    bpf::Link& l = mod.program("dump_kv").attach_iter(o);
    bpf::IterReader r(l);
    std::set<std::string> lines;
    while (auto line = r.next_line()) lines.insert(*line);
    CHECK(lines == std::set<std::string>{"3 30", "4 40"});

    // Without a map the kernel refuses a map-element iterator.
    CHECK_THROWS_AS(mod.program("dump_kv").attach_iter(), bpf::Error);
}

TEST_CASE("a kernel refusing iter/bpf_map_elem before verification says so, not 'the verifier rejected'") {
    REQUIRE_MISSING_FEATURE(IterMapElem);
    auto mod = open_only({"dump_kv"});
    try {
        mod.load();
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("the kernel refused program 'dump_kv' (section 'iter/bpf_map_elem')"));
        CHECK_THAT(e.what(), !Contains("verifier rejected"));
        if (e.error_number() == EPERM) CHECK_THAT(e.what(), Contains("before verifying it"));
    }
}

TEST_CASE("iter/task restricted to one process with IterOptions::pid") {
    REQUIRE_FEATURE(IterTaskParams);
    auto mod = open_only({"dump_tasks"});
    mod.load();
    bpf::IterOptions o;
    o.pid = static_cast<std::uint32_t>(getpid());
    bpf::Link* l = &mod.program("dump_tasks").attach_iter(o);
    bpf::IterReader r(*l);
    CHECK(r.read_all() == std::to_string(getpid()) + " " + comm_of_self() + "\n");
}

TEST_CASE("tp_btf program through attach_trace counts real syscalls") {
    REQUIRE_FEATURE(TpBtf);
    auto mod = open_only({"btf_sys_enter"});
    mod.load();
    mod.program("btf_sys_enter").attach_trace();
    testing::trigger_getppid(6);
    CHECK(mod.global<std::uint64_t>("btf_hits") == 6);
}

TEST_CASE("fentry, fexit and fmod_ret through attach_trace; set_attach_target") {
    REQUIRE_FEATURE(Fentry);
    REQUIRE_FEATURE(FmodRet);
    auto mod = open_only({"fentry_close", "fexit_close", "fmod_file_open", "fentry_dynamic"});
    mod.program("fentry_dynamic").set_attach_target("__x64_sys_close");
    mod.load();
    mod.program("fentry_close").attach_trace();
    mod.program("fexit_close").attach_trace();
    mod.program("fmod_file_open").attach_trace();
    mod.program("fentry_dynamic").attach_trace();
    for (int i = 0; i < 3; ++i) {
        errno = 0;
        CHECK(syscall(SYS_close, -1) == -1);
        CHECK(errno == EBADF);
        int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);  // fmod_ret returned 0: the open goes ahead
        close(fd);       // 2 closes per round
    }
    CHECK(mod.global<std::uint64_t>("fentry_hits") == 6 * 101);
    CHECK(mod.global<std::uint64_t>("fexit_hits") == 6);
    CHECK(mod.global<std::uint64_t>("fmod_hits") == 3);
}

TEST_CASE("LSM program through attach_lsm sees file opens") {
    REQUIRE_FEATURE(Lsm);
    auto mod = open_only({"lsm_open"});
    mod.load();
    mod.program("lsm_open").attach_lsm();
    for (int i = 0; i < 3; ++i) close(open("/proc/self/stat", O_RDONLY));
    CHECK(mod.global<std::uint64_t>("lsm_hits") >= 3);
}

TEST_CASE("USDT probe compiled into this binary: attach_usdt by provider and name, with cookie") {
    auto mod = open_only({"on_tick"});
    mod.load();
    bpf::Link& l = mod.program("on_tick").attach_usdt(getpid(), testing::self_exe(), "parity", "tick", 0xc0ffee);
    CHECK_THAT(l.description(), Contains("parity:tick"));
    usdt_fn(3, 4);
    usdt_fn(5, 6);
    CHECK(mod.global<std::uint64_t>("usdt_sum") == 3 * 4 + 5 * 6);
    CHECK(mod.global<std::uint64_t>("usdt_cookie") == 0xc0ffee);
    CHECK_THROWS_WITH(mod.program("on_tick").attach_usdt(getpid(), testing::self_exe(), "parity", "nope"),
                      Contains("no such USDT probe"));
    // For every process too (pid -1), the probe that is not there is named, not the section.
    CHECK_THROWS_WITH(mod.program("on_tick").attach_usdt(-1, testing::self_exe(), "parity", "nope"),
                      Contains("no such USDT probe in '") && !Contains("section"));
    // A process that is gone is named as such. Without BPF cookies (kernel < 5.15) libbpf
    // keys USDT spec ids by address, and one address takes one attachment of an object:
    // the first link goes first.
    l.destroy();
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(0);
    REQUIRE(waitpid(child, nullptr, 0) == child);
    CHECK_THROWS_WITH(mod.program("on_tick").attach_usdt(child, testing::self_exe(), "parity", "tick"),
                      Contains("no process with pid " + std::to_string(child)));
}

TEST_CASE("attach_usdt by bare library name, resolved through LD_LIBRARY_PATH as libbpf does") {
#ifndef PARITY_USDT_LIB_DIR
    SKIP_TEST("static build: the USDT library cannot be opened with dlopen()");
#else
    void* lib = dlopen(PARITY_USDT_LIB_DIR "/libparity_usdt.so", RTLD_NOW);
    REQUIRE(lib != nullptr);
    auto fire = reinterpret_cast<void (*)(long, long)>(dlsym(lib, "parity_lib_fire"));
    REQUIRE(fire != nullptr);
    const char* old = getenv("LD_LIBRARY_PATH");
    const std::string saved = old != nullptr ? old : "";
    setenv("LD_LIBRARY_PATH", PARITY_USDT_LIB_DIR, 1);
    {
        auto mod = open_only({"on_tick"});
        mod.load();
        bpf::Link& l = mod.program("on_tick").attach_usdt(getpid(), "libparity_usdt.so", "parity", "tick", 7);
        CHECK_THAT(l.description(), Contains("usdt libparity_usdt.so:parity:tick"));
        fire(6, 7);
        CHECK(mod.global<std::uint64_t>("usdt_sum") == 42);
        CHECK(mod.global<std::uint64_t>("usdt_cookie") == 7);
        CHECK_THROWS_WITH(mod.program("on_tick").attach_usdt(getpid(), "libparity_no_such.so", "parity", "tick"),
                          Contains("was not found in LD_LIBRARY_PATH"));
    }
    if (old != nullptr) setenv("LD_LIBRARY_PATH", saved.c_str(), 1); else unsetenv("LD_LIBRARY_PATH");
    dlclose(lib);
#endif
}

TEST_CASE("uprobe with a cookie, by symbol and by offset") {
    REQUIRE_FEATURE(BpfCookie);
    auto mod = open_only({"on_uprobe"});
    mod.load();
    bpf::UprobeOptions o;
    o.cookie = 0xabc;
    bpf::Link& l = mod.program("on_uprobe").attach_uprobe(getpid(), testing::self_exe(), "parity_uprobe_target", o);
    CHECK(uprobe_fn(1) == 2);
    CHECK(mod.global<std::uint64_t>("uprobe_hits") == 1);
    CHECK(mod.global<std::uint64_t>("uprobe_cookie") == 0xabc);
    l.destroy();
    o.cookie = 0xdef;
    mod.program("on_uprobe").attach_uprobe(getpid(), testing::self_exe(),
                                          testing::file_offset_of(reinterpret_cast<const void*>(&parity_uprobe_target)), o);
    CHECK(uprobe_fn(2) == 3);
    CHECK(mod.global<std::uint64_t>("uprobe_hits") == 2);
    CHECK(mod.global<std::uint64_t>("uprobe_cookie") == 0xdef);
}

TEST_CASE("uprobe_multi: one link for several functions, or a clear error naming the libbpf version") {
    auto mod = open_only({"on_multi"});
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    mod.program("on_multi").set_expected_attach_type(static_cast<bpf_attach_type>(48));  // BPF_TRACE_UPROBE_MULTI (not in 6.1 headers)
    REQUIRE_FEATURE(UprobeMulti);
    mod.load();
    bpf::Link& l = mod.program("on_multi").attach_uprobe_multi(getpid(), testing::self_exe(), "parity_multi_*");
    multi_a(1);
    multi_b(1);
    CHECK(mod.global<std::uint64_t>("multi_hits") == 2);
    l.destroy();
    mod.program("on_multi").attach_uprobe_multi(getpid(), testing::self_exe(), "parity_multi_*",
                                                bpf::UprobeMultiOptions{.retprobe = false});
    multi_a(1);
    CHECK(mod.global<std::uint64_t>("multi_hits") == 3);
#else
    mod.load();
    CHECK_THROWS_WITH(mod.program("on_multi").attach_uprobe_multi(getpid(), testing::self_exe(), "parity_multi_*"),
                      Contains("uprobe_multi needs libbpf >= 1.3") &&
                          Contains("built with libbpf " + bpf::libbpf_compiled_version()));
    const std::uint64_t offs[] = {testing::file_offset_of(reinterpret_cast<const void*>(&parity_multi_a)),
                                  testing::file_offset_of(reinterpret_cast<const void*>(&parity_multi_b))};
    const std::uint64_t cookies[] = {1, 2};
    CHECK_THROWS_MATCHES(mod.program("on_multi").attach_uprobe_multi(getpid(), testing::self_exe(), offs, cookies),
                         bpf::Error, testing::lacks_libbpf("uprobe_multi", "1.3"));
    CHECK_THROWS_WITH(mod.program("on_multi").attach_uprobe_multi(getpid(), testing::self_exe(), offs,
                                                                  std::span(cookies).first(1)),
                      Contains("1 cookies for 2 offsets"));
    (void)multi_a;
    (void)multi_b;
#endif
}

TEST_CASE("kprobe by offset into a kernel function") {
    REQUIRE_FEATURE(Kprobes);
    auto mod = open_only({"on_kprobe"});
    mod.load();
    // Past the entry's endbr64 (4 bytes) with IBT, past the 5-byte fentry call without.
    bool attached = false;
    for (std::uint64_t off : {4u, 5u}) {
        try {
            mod.program("on_kprobe").attach_kprobe("__x64_sys_getppid", {.offset = off, .cookie = 0});
            attached = true;
            break;
        } catch (const bpf::Error&) {
        }
    }
    REQUIRE(attached);
    testing::trigger_getppid(4);
    CHECK(mod.global<std::uint64_t>("kprobe_hits") == 4);
}

TEST_CASE("kprobe at an absolute kernel address from /proc/kallsyms (libbpfgo's AttachKprobeOffset)") {
    auto mod = open_only({"on_kprobe"});
    mod.load();
    if (!testing::feature(testing::Feature::Kprobes).available) {
        CHECK_THROWS_WITH(mod.program("on_kprobe").attach_kprobe_at(0xffffffff81000000ull), Contains("CONFIG_KPROBES"));
        CHECK_THROWS_WITH(mod.program("on_kprobe").attach_kprobe_at(0xffffffff81000000ull, {.retprobe = true}),
                          Contains("kretprobe at 0x") && Contains("CONFIG_KPROBES"));
    }
    REQUIRE_FEATURE(Kprobes);
    CHECK_THROWS_WITH(mod.program("on_kprobe").attach_kprobe_at(0), Contains("kptr_restrict"));
    std::ifstream syms("/proc/kallsyms");
    std::uint64_t address = 0;
    std::string line;
    while (std::getline(syms, line)) {
        std::istringstream in(line);
        std::string addr, type, name;
        in >> addr >> type >> name;
        if (name == "__x64_sys_getppid") {
            address = std::stoull(addr, nullptr, 16);
            break;
        }
    }
    if (address == 0) SKIP_TEST("__x64_sys_getppid has no readable address in /proc/kallsyms");
    bpf::Link& l = mod.program("on_kprobe").attach_kprobe_at(address);
    CHECK_THAT(l.description(), Contains("kprobe at 0x"));
    testing::trigger_getppid(4);
    CHECK(mod.global<std::uint64_t>("kprobe_hits") == 4);
    l.destroy();
    // A cookie needs the kernel's BPF cookies (5.15); before, the perf event refuses it.
    if (!testing::feature(testing::Feature::BpfCookie).available) {
        CHECK_THROWS(mod.program("on_kprobe").attach_kprobe_at(address, bpf::KprobeAtOptions{.cookie = 5}));
        return;
    }
    bpf::Link& l2 = mod.program("on_kprobe").attach_kprobe_at(address, bpf::KprobeAtOptions{.cookie = 5});
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("kprobe_hits") == 6);
    l2.destroy();
}

TEST_CASE("attach_usdt with UsdtOptions carries the cookie like the positional form") {
    auto mod = open_only({"on_tick"});
    mod.load();
    bpf::Link& l = mod.program("on_tick").attach_usdt(getpid(), testing::self_exe(), "parity", "tick",
                                                      bpf::UsdtOptions{.cookie = 0xbeef});
    CHECK_THAT(l.description(), Contains("parity:tick"));
    usdt_fn(1, 2);
    CHECK(mod.global<std::uint64_t>("usdt_sum") == 1 * 2);
    CHECK(mod.global<std::uint64_t>("usdt_cookie") == 0xbeef);
}
