// Kernel integration: load, attach to a tracepoint and a raw tracepoint, trigger real
// syscalls, read the results back from maps and global variables.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/btf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attach_all.bpf.hpp"
#include "basic.bpf.hpp"
#include "basic.h"
#include "harness.hpp"
#include "kconfig.bpf.hpp"

using Catch::Matchers::Contains;

namespace {

bpf::Module loaded_basic(std::uint64_t multiplier = 1) {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.set_global("watched_nr", static_cast<std::int64_t>(SYS_getppid));
    mod.set_global("multiplier", multiplier);
    mod.load();
    return mod;
}

std::uint64_t count_of_self(const bpf::Module& mod) {
    return mod.map("counts").lookup<std::uint32_t, std::uint64_t>(static_cast<std::uint32_t>(getpid())).value_or(0);
}

}  // namespace

TEST_CASE("tracepoint program counts real syscalls, per pid, into maps and globals") {
    auto mod = loaded_basic();
    CHECK(mod.loaded());
    auto prog = mod.program("on_getppid");
    CHECK(prog.fd() >= 0);
    bpf::Link& link = prog.attach_tracepoint("syscalls", "sys_enter_getppid");
    CHECK(link.attached());
    CHECK(link.fd() >= 0);
    CHECK_THAT(link.description(), Contains("tracepoint syscalls:sys_enter_getppid"));

    testing::trigger_getppid(7);
    CHECK(count_of_self(mod) == 7);
    CHECK(mod.global<std::uint64_t>("hits") == 7);
    // Other processes' getppid() calls are filtered out by target_pid (.rodata).
    auto pcpu = mod.map("pcpu").lookup_percpu<std::uint32_t, std::uint64_t>(0);
    REQUIRE(pcpu);
    CHECK(pcpu->size() == static_cast<std::size_t>(bpf::num_possible_cpus()));
    std::uint64_t total = 0;
    for (auto v : *pcpu) total += v;
    CHECK(total == 7);
}

TEST_CASE("raw tracepoint program sees the syscall number") {
    auto mod = loaded_basic();
    mod.program("on_sys_enter").attach_raw_tracepoint("sys_enter");
    testing::trigger_getppid(5);
    CHECK(mod.global<std::uint64_t>("raw_hits") == 5);
    CHECK(mod.map("arr").lookup<std::uint32_t, std::uint64_t>(SLOT_LAST_SYSCALL) == SYS_getppid);
}

TEST_CASE("globals change behaviour before and after load") {
    auto mod = loaded_basic(3);  // .data multiplier set before load
    mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
    testing::trigger_getppid(4);
    CHECK(mod.global<std::uint64_t>("hits") == 12);

    mod.set_global("multiplier", std::uint64_t{100});  // .data is mmapable: live change
    CHECK(mod.global<std::uint64_t>("multiplier") == 100);
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("hits") == 212);
    CHECK(count_of_self(mod) == 212);

    mod.set_global("hits", std::uint64_t{0});  // .bss too
    testing::trigger_getppid(1);
    CHECK(mod.global<std::uint64_t>("hits") == 100);

    CHECK(mod.global<std::uint32_t>("target_pid") == static_cast<std::uint32_t>(getpid()));
    try {
        mod.set_global("target_pid", std::uint32_t{1});
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EPERM);
        CHECK_THAT(e.what(), Contains("read-only once loaded; set it before Module::load()"));
    }
}

// The kernel maps a loaded .rodata read-only: a write through section_memory() would be
// a SIGSEGV, so after load the writable overload refuses it and the const one reads it.
TEST_CASE("section_memory: .rodata is writable before load and read-only after") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    const std::uint32_t pid = static_cast<std::uint32_t>(getpid());
    // Before load: libbpf's copy, whose contents become the initial value.
    const std::span<std::byte> initial = mod.section_memory(".rodata");
    REQUIRE(initial.size() >= sizeof pid);
    std::memset(initial.data(), 0, initial.size());
    mod.set_global("target_pid", pid);
    mod.load();

    const std::span<const std::byte> ro = std::as_const(mod).section_memory(".rodata");
    std::uint32_t seen = 0;
    bool found = false;
    for (std::size_t off = 0; off + sizeof seen <= ro.size(); off += sizeof seen) {
        std::memcpy(&seen, ro.data() + off, sizeof seen);
        found = found || seen == pid;
    }
    CHECK(found);
    try {
        (void)mod.section_memory(".rodata");
        FAIL("a writable span over read-only memory");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EPERM);
        CHECK_THAT(e.what(), Contains("'.rodata'") && Contains("read-only") && Contains("const"));
    }
    // .bss stays writable, and a write through the span reaches the program's variables.
    const std::span<std::byte> bss = mod.section_memory(".bss");
    REQUIRE(bss.size() >= sizeof(std::uint64_t));
    std::memset(bss.data(), 0xab, bss.size());
    CHECK(mod.global<std::uint64_t>("hits") == 0xababababababababull);
    CHECK(std::as_const(mod).section_memory(".bss").data() == bss.data());
}

TEST_CASE("a program for another pid sees nothing") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.set_global("target_pid", std::uint32_t{1});  // init, which is not us
    mod.load();
    mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
    testing::trigger_getppid(5);
    CHECK(mod.global<std::uint64_t>("hits") == 0);
}

TEST_CASE("ignoring the attach result keeps the program attached; destroy detaches early") {
    auto mod = loaded_basic();
    mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");  // result dropped
    testing::trigger_getppid(3);
    CHECK(mod.global<std::uint64_t>("hits") == 3);

    bpf::Link& raw = mod.program("on_sys_enter").attach_raw_tracepoint("sys_enter");
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("raw_hits") == 2);
    raw.destroy();
    CHECK_FALSE(raw.attached());
    CHECK(raw.fd() == -1);
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("raw_hits") == 2);  // detached
    CHECK(mod.global<std::uint64_t>("hits") == 7);      // still attached
    CHECK_THROWS_WITH(raw.pin("/sys/fs/bpf/x"), Contains("the link was destroyed"));
}

TEST_CASE("a released link outlives the module's ownership") {
    auto mod = loaded_basic();
    bpf_link* raw = mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid").release();
    REQUIRE(raw != nullptr);
    mod.detach_all();  // the released link is not the module's any more
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("hits") == 2);
    bpf_link__destroy(raw);
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("hits") == 2);
}

TEST_CASE("attach_all attaches by section and detach_all detaches") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.set_global("watched_nr", static_cast<std::int64_t>(SYS_getppid));
    // Programs whose section names no target are skipped by attach_all; kprobes would fail here.
    mod.program("on_kprobe").set_autoload(false);
    mod.program("on_kretprobe").set_autoload(false);
    mod.program("on_perf_event").set_autoattach(false);
    CHECK_FALSE(mod.program("on_perf_event").autoattach());
    mod.load();
    CHECK(mod.program("on_kprobe").fd() < 0);  // not loaded
    mod.attach_all();
    testing::trigger_getppid(4);
    CHECK(mod.global<std::uint64_t>("hits") == 4);
    CHECK(mod.global<std::uint64_t>("raw_hits") == 4);
    mod.detach_all();
    testing::trigger_getppid(4);
    CHECK(mod.global<std::uint64_t>("hits") == 4);
    CHECK(mod.global<std::uint64_t>("raw_hits") == 4);
}

TEST_CASE("attach_all: a kprobe it cannot attach fails the call; a section naming no attach point is passed over and logged") {
    auto mod = bpf::Module::open_memory(bpf_objects::attach_all());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.load();
    CHECK(mod.program("kp_getppid").section_names_attach_point());
    CHECK(mod.program("tp_getppid").section_names_attach_point());
    CHECK_FALSE(mod.program("up_unnamed").section_names_attach_point());

    std::vector<std::string> infos;
    bpf::set_logger([&](bpf::LogLevel level, std::string_view msg) {
        if (level == bpf::LogLevel::Info && msg.find("attach_all()") != std::string_view::npos) infos.emplace_back(msg);
    }, bpf::LogLevel::Info);
    struct RestoreLogger {
        ~RestoreLogger() { bpf::set_logger({}, bpf::LogLevel::Warn); }
    } restore;

    if (testing::feature(testing::Feature::Kprobes).available) {
        mod.attach_all();
        testing::trigger_getppid(3);
        CHECK(mod.global<std::uint64_t>("kprobe_hits") == 3);
        CHECK(mod.global<std::uint64_t>("tp_hits") == 3);
        mod.detach_all();
    } else {
        try {
            mod.attach_all();
            FAIL("attach_all() passed over a kprobe it could not attach");
        } catch (const bpf::Error& e) {
            CHECK(e.error_number() == EOPNOTSUPP);
            CHECK_THAT(e.what(), Contains("attaching program 'kp_getppid'"));
            CHECK_THAT(e.what(), Contains("CONFIG_KPROBES"));
        }
        testing::trigger_getppid(3);
        CHECK(mod.global<std::uint64_t>("tp_hits") == 0);  // rolled back
        CHECK(infos.empty());                               // a failed call reports nothing passed over
    }

    // Without the kprobe: the tracepoint is attached, the bare uprobe passed over and named.
    infos.clear();
    mod.program("kp_getppid").set_autoattach(false);
    mod.attach_all();
    const auto before = mod.global<std::uint64_t>("tp_hits");
    testing::trigger_getppid(4);
    CHECK(mod.global<std::uint64_t>("tp_hits") == before + 4);
    REQUIRE(infos.size() == 1);
    CHECK_THAT(infos[0], Contains("passed over program 'up_unnamed' (section 'uprobe')"));
}

TEST_CASE("generic attach uses the SEC() name") {
    auto mod = loaded_basic();
    bpf::Link& l = mod.program("on_getppid").attach();
    CHECK_THAT(l.description(), Contains("tracepoint syscalls:sys_enter_getppid (prog 'on_getppid')"));
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("hits") == 2);
}

TEST_CASE("handles stay valid after the Module is moved") {
    auto mod = loaded_basic();
    auto counts = mod.map("counts");
    auto prog = mod.program("on_getppid");
    bpf::Module moved = std::move(mod);
    prog.attach_tracepoint("syscalls", "sys_enter_getppid");
    testing::trigger_getppid(3);
    CHECK(counts.lookup<std::uint32_t, std::uint64_t>(static_cast<std::uint32_t>(getpid())) == 3);
    CHECK(moved.global<std::uint64_t>("hits") == 3);
}

TEST_CASE("perf_event program runs on a software perf event") {
    auto mod = loaded_basic();
    perf_event_attr attr{};
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = 100000;  // every 100 us of CPU time of this task
    int pfd = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
    REQUIRE(pfd >= 0);
    bpf::Link& l = mod.program("on_perf_event").attach_perf_event(pfd);
    CHECK(l.attached());
    volatile std::uint64_t spin = 0;
    for (int i = 0; i < 20'000'000; ++i) spin = spin + 1;
    auto hits = mod.map("arr").lookup<std::uint32_t, std::uint64_t>(SLOT_PERF_EVENT_HITS);
    CHECK(hits.value_or(0) > 0);
}

TEST_CASE("kernel_log_level gives the verifier log of programs that load") {
    std::string logs;
    bpf::set_logger([&](bpf::LogLevel, std::string_view m) { logs.append(m); }, bpf::LogLevel::Debug);
    {
        bpf::OpenOptions o;
        o.kernel_log_level = 1;
        auto mod = bpf::Module::open_memory(bpf_objects::basic(), o);
        mod.load();
    }
    bpf::set_logger({}, bpf::LogLevel::Warn);
    CHECK_THAT(logs, Contains("prog 'on_getppid': -- BEGIN PROG LOAD LOG --"));
    CHECK_THAT(logs, Contains("processed"));
}

TEST_CASE("kconfig option sets __kconfig externs") {
    bpf::OpenOptions o;
    o.kconfig = "CONFIG_LIBBPFCPP_TEST_VALUE=4242";
    auto mod = bpf::Module::open_memory(bpf_objects::kconfig(), o);
    mod.load();
    mod.program("read_kconfig").attach_tracepoint("syscalls", "sys_enter_getppid");
    testing::trigger_getppid(1);
    CHECK(mod.global<std::int32_t>("seen_value") == 4242);
    CHECK(mod.global<std::int32_t>("CONFIG_LIBBPFCPP_TEST_VALUE") == 4242);
}

TEST_CASE("btf_path uses the given BTF for CO-RE") {
    bpf::OpenOptions o;
    o.btf_path = "/sys/kernel/btf/vmlinux";
    auto mod = bpf::Module::open_memory(bpf_objects::basic(), o);
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.load();
    mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
    testing::trigger_getppid(2);
    CHECK(mod.global<std::uint64_t>("hits") == 2);
}

TEST_CASE("btf_fd and get() expose the raw objects") {
    auto mod = loaded_basic();
    CHECK(mod.btf_fd() >= 0);
    CHECK(mod.get() != nullptr);
    CHECK(bpf_object__name(mod.get()) == std::string("basic"));
    CHECK(mod.map("counts").get() == bpf_object__find_map_by_name(mod.get(), "counts"));
}

TEST_CASE("loading twice is refused") {
    auto mod = loaded_basic();
    CHECK_THROWS_WITH(mod.load(), Contains("already loaded"));
}

TEST_CASE("configuring after load says to configure before") {
    auto mod = loaded_basic();
    CHECK_THROWS_WITH(mod.map("counts").set_max_entries(10), Contains("configure maps before Module::load()"));
    CHECK_THROWS_WITH(mod.program("on_getppid").set_type(BPF_PROG_TYPE_KPROBE),
                      Contains("configure programs before Module::load()"));
}

TEST_CASE("a global whose BTF offset lies outside its section is refused and never written") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    // Damage the object as a corrupt file would: move "multiplier" far past .data's end.
    const btf* b = bpf_object__btf(mod.get());
    REQUIRE(b != nullptr);
    bool moved = false;
    for (unsigned id = 1; id < btf__type_cnt(b); ++id) {
        const btf_type* t = btf__type_by_id(b, id);
        if (!btf_is_datasec(t)) continue;
        auto* vs = const_cast<btf_var_secinfo*>(btf_var_secinfos(t));
        for (unsigned i = 0; i < btf_vlen(t); ++i) {
            const btf_type* var = btf__type_by_id(b, vs[i].type);
            if (std::string_view(btf__name_by_offset(b, var->name_off)) != "multiplier") continue;
            vs[i].offset = 1u << 20;
            moved = true;
        }
    }
    REQUIRE(moved);
    CHECK_THROWS_WITH(mod.set_global("multiplier", std::uint64_t{5}),
                      Contains("places the variable at bytes 1048576..1048584 of .data") &&
                          Contains("the object file is damaged"));
    CHECK_THROWS_WITH(mod.global<std::uint64_t>("multiplier"), Contains("the object file is damaged"));
    mod.set_global("hits", std::uint64_t{3});  // the others are unharmed
    CHECK(mod.global<std::uint64_t>("hits") == 3);
}
