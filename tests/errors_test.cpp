// Every error the library promises to explain, produced on purpose against the real
// kernel, with its message checked.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "attach_fail.bpf.hpp"
#include "basic.bpf.hpp"
#include "harness.hpp"
#include "lacks.hpp"
#include "map_autocreate.bpf.hpp"
#include "rejected.bpf.hpp"
#include "trampoline.bpf.hpp"

using Catch::Matchers::Contains;

TEST_CASE("a verifier rejection carries the program's verifier log") {
    auto mod = bpf::Module::open_memory(bpf_objects::rejected());
    try {
        mod.load();
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EACCES);
        CHECK_THAT(e.what(), Contains("loading object 'rejected'"));
        CHECK_THAT(e.what(), Contains("the verifier rejected program 'unchecked_deref'"));
        INFO("the verifier log:\n" << e.verifier_log());
        CHECK_THAT(e.what(), Contains("invalid mem access"));  // the log's tail is in what()
        CHECK_THAT(e.verifier_log(), Contains("invalid mem access 'map_value_or_null'"));
        CHECK_THAT(e.verifier_log(), Contains("R0"));
    }
}

TEST_CASE("with kernel_log_level set, the rejection still carries the verifier log, printed once") {
    for (const std::uint32_t level : {1U, 2U}) {
        INFO("kernel_log_level " << level);
        bpf::set_logger({}, bpf::LogLevel::Warn);
        testing::StderrCapture err;
        bpf::OpenOptions o;
        o.kernel_log_level = level;
        auto mod = bpf::Module::open_memory(bpf_objects::rejected(), o);
        try {
            mod.load();
            FAIL("no exception");
        } catch (const bpf::Error& e) {
            CHECK(e.error_number() == EACCES);
            CHECK_THAT(e.what(), Contains("the verifier rejected program 'unchecked_deref'"));
            CHECK_THAT(e.verifier_log(), Contains("invalid mem access 'map_value_or_null'"));
        }
        // The Error carries the log: the default logger does not print it beside.
        CHECK_THAT(err.text(), !Contains("invalid mem access"));
    }
    // A logger of the user's own sees the log of the rejected program once (and, at
    // debug level, the log of the program that loaded before it).
    std::string seen;
    bpf::set_logger([&](bpf::LogLevel, std::string_view msg) { seen += msg; }, bpf::LogLevel::Debug);
    {
        bpf::OpenOptions o;
        o.kernel_log_level = 1;
        auto mod = bpf::Module::open_memory(bpf_objects::rejected(), o);
        CHECK_THROWS_AS(mod.load(), bpf::Error);
    }
    bpf::set_logger({}, bpf::LogLevel::Warn);
    const std::string rejected_log = "prog 'unchecked_deref': -- BEGIN PROG LOAD LOG --";
    const auto first = seen.find(rejected_log);
    REQUIRE(first != std::string::npos);
    CHECK(seen.find(rejected_log, first + 1) == std::string::npos);
    CHECK_THAT(seen, Contains("prog 'fine': -- BEGIN PROG LOAD LOG --"));
}

TEST_CASE("the rejected program can be left out with autoload") {
    auto mod = bpf::Module::open_memory(bpf_objects::rejected());
    mod.program("unchecked_deref").set_autoload(false);
    mod.load();
    CHECK(mod.program("fine").fd() >= 0);
    CHECK(mod.program("unchecked_deref").fd() < 0);
    try {
        mod.program("unchecked_deref").attach_tracepoint("syscalls", "sys_enter_getppid");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("the program is not loaded"));
    }
}

namespace {

void drop_all_capabilities() {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capset, &hdr, data) != 0) throw std::runtime_error("capset failed");
}

void load_without_privileges(std::string& out) {
    drop_all_capabilities();
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.load();
        out = "loaded without privileges";
    } catch (const bpf::Error& e) {
        out = std::to_string(e.error_number()) + "|" + e.what();
    }
}

void attach_without_tracefs(std::string& out) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        out = "SKIP: cannot make a private mount namespace";
        return;
    }
    umount2("/sys/kernel/tracing", MNT_DETACH);
    umount2("/sys/kernel/debug/tracing", MNT_DETACH);
    umount2("/sys/kernel/debug", MNT_DETACH);
    if (bpf::detail::tracefs_root() != nullptr) {
        out = "SKIP: tracefs is still reachable after unmounting it";
        return;
    }
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.load();
        mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
        out = "attached without tracefs";
    } catch (const bpf::Error& e) {
        out = e.what();
    }
}

void load_with_few_descriptors(std::string& out) {
    rlimit saved{};
    getrlimit(RLIMIT_NOFILE, &saved);
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(testing::count_open_fds() + 6);
    setrlimit(RLIMIT_NOFILE, &low);
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.load();
        out = "loaded with " + std::to_string(low.rlim_cur) + " descriptors";
    } catch (const bpf::Error& e) {
        out = std::to_string(e.error_number()) + "|" + e.what();
    }
    setrlimit(RLIMIT_NOFILE, &saved);
    // With the limit back, loading works: the refused load left libbpf's feature cache alone.
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.load();
        out += "|then loaded";
    } catch (const bpf::Error& e) {
        out += std::string("|then failed: ") + e.what();
    }
}

}  // namespace

TEST_CASE("too few file descriptors are named with what to raise; a later load works") {
    std::string out = testing::in_child(load_with_few_descriptors);
    // libbpf >= 1.4 takes a descriptor per map at open, so the limit is hit there.
    const char* phase = bpf::libbpf_at_least(1, 4) ? "opening BPF object 'basic'" : "loading object 'basic'";
    CHECK_THAT(out, Contains(std::to_string(EMFILE) + "|" + phase + ": too many open files"));
    CHECK_THAT(out, Contains("raise RLIMIT_NOFILE (ulimit -n"));
    CHECK_THAT(out, Contains("|then loaded"));
}

TEST_CASE("missing privileges are named") {
    std::string out = testing::in_child(load_without_privileges);
    CHECK_THAT(out, Contains(std::to_string(EPERM) + "|"));
    CHECK_THAT(out, Contains("loading object 'basic'"));
    CHECK_THAT(out, Contains("needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"));
}

TEST_CASE("tracefs not mounted is named with the mount command") {
    std::string out = testing::in_child(attach_without_tracefs);
    if (out.rfind("SKIP: ", 0) == 0) SKIP_TEST(out.substr(6));
    CHECK_THAT(out, Contains("attaching program 'on_getppid'"));
    CHECK_THAT(out, Contains("tracefs is not mounted"));
    CHECK_THAT(out, Contains("mount -t tracefs nodev /sys/kernel/tracing"));
}

TEST_CASE("a kernel without kprobes says so") {
    REQUIRE_MISSING_FEATURE(Kprobes);
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.load();
    try {
        mod.program("on_kprobe").attach_kprobe("do_nanosleep");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EOPNOTSUPP);
        CHECK_THAT(e.what(), Contains("attaching program 'on_kprobe'"));
        CHECK_THAT(e.what(), Contains("kprobe do_nanosleep"));
        CHECK_THAT(e.what(), Contains("kprobes are not available in this kernel (CONFIG_KPROBES"));
        REQUIRE(e.missing());
        CHECK(*e.missing() == bpf::Missing{"kprobes", bpf::Missing::Kernel, "", "CONFIG_KPROBES"});
    }
    CHECK_THROWS_MATCHES(mod.program("on_kretprobe").attach_kretprobe("do_nanosleep"), bpf::Error,
                         testing::lacks_kernel("kprobes"));
}

TEST_CASE("an unknown tracepoint or raw tracepoint is named") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.load();
    try {
        mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_no_such_call");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == ENOENT);
        CHECK_THAT(e.what(), Contains("tracepoint syscalls:sys_enter_no_such_call does not exist in this kernel"));
    }
    try {
        mod.program("on_sys_enter").attach_raw_tracepoint("no_such_raw_tp");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("attaching program 'on_sys_enter'"));
        CHECK_THAT(e.what(), Contains("raw tracepoint no_such_raw_tp"));
    }
}

TEST_CASE("attaching before load says to load first") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    try {
        mod.program("on_sys_enter").attach_raw_tracepoint("sys_enter");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("the program is not loaded (call Module::load() first"));
    }
}

TEST_CASE("attach_all fails as a whole and rolls back") {
    auto mod = bpf::Module::open_memory(bpf_objects::attach_fail());
    mod.load();
    try {
        mod.attach_all();
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("attaching program 'bad'"));
        CHECK_THAT(e.what(), Contains("libbpfcpp_none:no_such_tracepoint"));
    }
    // Other processes' getppid calls may count while the good link is briefly attached;
    // once it is undone nothing counts any more.
    const auto after_rollback = mod.global<std::uint64_t>("good_hits");
    testing::trigger_getppid(3);
    CHECK(mod.global<std::uint64_t>("good_hits") == after_rollback);  // the good link was undone
    mod.program("bad").set_autoattach(false);
    mod.attach_all();
    testing::trigger_getppid(3);
    CHECK(mod.global<std::uint64_t>("good_hits") >= 3);  // every process's getppid counts
}

TEST_CASE("a kernel refusing fentry programs is named, without memlock advice") {
    REQUIRE_MISSING_FEATURE(Fentry);
    auto mod = bpf::Module::open_memory(bpf_objects::trampoline());
    try {
        mod.load();
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EPERM);
        CHECK_THAT(e.what(), Contains("the kernel refused program 'on_nanosleep' (section 'fentry/do_nanosleep')"));
        CHECK_THAT(e.what(), Contains("does not allow BPF trampoline programs"));
        CHECK_THAT(e.what(), !Contains("ulimit"));
    }
}

namespace {

void load_without_privileges_quietly(std::string& out) {
    drop_all_capabilities();
    testing::StderrCapture err;
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::basic());
        mod.load();
        out = "loaded without privileges";
    } catch (const bpf::Error& e) {
        out = "stderr:" + err.text() + "|what:" + e.what();
    }
}

}  // namespace

TEST_CASE("the default logger prints neither the verifier log an Error carries nor memlock advice") {
    bpf::set_logger({}, bpf::LogLevel::Warn);
    {
        testing::StderrCapture err;
        auto mod = bpf::Module::open_memory(bpf_objects::rejected());
        try {
            mod.load();
            FAIL("no exception");
        } catch (const bpf::Error& e) {
            CHECK_THAT(e.verifier_log(), Contains("invalid mem access"));
        }
        const std::string printed = err.text();
        CHECK_THAT(printed, !Contains("BEGIN PROG LOAD LOG"));
        CHECK_THAT(printed, !Contains("invalid mem access"));
    }
    {
        // A logger of the user's own still receives everything libbpf says.
        std::string seen;
        bpf::set_logger([&](bpf::LogLevel, std::string_view msg) { seen += msg; });
        auto mod = bpf::Module::open_memory(bpf_objects::rejected());
        CHECK_THROWS_AS(mod.load(), bpf::Error);
        bpf::set_logger({}, bpf::LogLevel::Warn);
        CHECK_THAT(seen, Contains("BEGIN PROG LOAD LOG"));
    }
    {
        // A load that succeeds still prints libbpf's warnings (here: a program left out).
        testing::StderrCapture err;
        bpf::set_log_level(bpf::LogLevel::Debug);
        auto mod = bpf::Module::open_memory(bpf_objects::rejected());
        mod.program("unchecked_deref").set_autoload(false);
        mod.load();
        bpf::set_log_level(bpf::LogLevel::Warn);
        CHECK_THAT(err.text(), Contains("libbpf: "));
    }
    {
        // Nor the cause of a failed attach, which the Error names.
        testing::StderrCapture err;
        auto mod = bpf::Module::open_memory(bpf_objects::attach_fail());
        mod.load();
        CHECK_THROWS_WITH(mod.program("bad").attach(), Contains("libbpfcpp_none:no_such_tracepoint"));
        CHECK_THAT(err.text(), !Contains("no_such_tracepoint"));
    }
    std::string out = testing::in_child(load_without_privileges_quietly);
    CHECK_THAT(out, Contains("needs CAP_BPF"));
    CHECK_THAT(out, !Contains("RLIMIT_MEMLOCK"));
    CHECK_THAT(out, !Contains("ulimit"));
}

TEST_CASE("opening a directory is refused and leaks no descriptor") {
    const int before = testing::count_open_fds();
    for (int i = 0; i < 20; ++i)
        CHECK_THROWS_WITH(bpf::Module::open_file("/"), Contains("opening BPF object '/': it is a directory"));
    CHECK_THROWS_WITH(bpf::Module::open_file("/dev/null"), Contains("not a regular file"));
    CHECK(testing::count_open_fds() == before);
}

TEST_CASE("a map or program name with an embedded NUL matches nothing") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    REQUIRE(mod.find_map("counts"));
    REQUIRE(mod.find_program("on_getppid"));
    using namespace std::string_view_literals;
    CHECK_FALSE(mod.find_map("counts\0junk"sv));
    CHECK_FALSE(mod.find_program("on_getppid\0junk"sv));
    CHECK_THROWS_WITH(mod.map("counts\0"sv), Contains("map 'counts\\0' not found"));
    CHECK_THROWS_WITH(mod.program("on_getppid\0x"sv), Contains("program 'on_getppid\\0x' not found"));
}

TEST_CASE("a verifier log in Linux 7.x's form keeps the error line in the message") {
    // 7.x ends the log with a long explanation; its tail alone lost the error line
    // ("invalid mem access") from what() on the 7.3 guest.
    const std::string log =
        "6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1)\n"
        "7: (79) r1 = *(u64 *)(r0 +0)\n"
        "R0 invalid mem access 'map_value_or_null'\n"
        "\n"
        "Verification failed: Register Type Safety: Invalid dereference\n"
        "\n"
        "Reason:\n"
        "    R0 may be NULL here (a nullable map value pointer).\n"
        "\n"
        "At:\n"
        "    unchecked_deref @ rejected.bpf.c:25:12\n"
        "    Instruction context:\n"
        "    >>>  7 | (79) r1 = *(u64 *)(r0 +0)\n"
        "\n"
        "Suggestion:\n"
        "    Add a NULL check before the access.\n"
        "\n"
        "processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0\n";
    const std::string summary = bpf::detail::verifier_summary(log);
    CHECK_THAT(summary, Contains("R0 invalid mem access 'map_value_or_null'"));
    CHECK_THAT(summary, Contains("7: (79) r1 = *(u64 *)(r0 +0)"));
    CHECK_THAT(summary, Contains("Verification failed: Register Type Safety"));
    CHECK_THAT(summary, Contains("R0 may be NULL here"));
    CHECK_THAT(summary, !Contains("Suggestion:"));
    // The older form: the last lines, as before.
    CHECK(bpf::detail::verifier_summary("a\nb\nR0 invalid mem access\nprocessed 7 insns\n") ==
          "a\nb\nR0 invalid mem access\nprocessed 7 insns");
}

TEST_CASE("a map type this build cannot represent is refused at load") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    // What a damaged object would carry; set through a signature that takes the raw
    // number, because no bpf_map_type may hold it.
    auto set_raw_type = reinterpret_cast<int (*)(bpf_map*, unsigned)>(&bpf_map__set_type);
    REQUIRE(set_raw_type(mod.map("counts").get(), 1000) == 0);
    CHECK_THROWS_WITH(mod.load(), Contains("map 'counts' has type 1000") && Contains("the object file is damaged"));
}

// libbpfgo's selftest map-autocreate: a map of a type no kernel knows (__uint(type, ~0U))
// must not stop the object from opening; load() fails while the map is to be created and
// succeeds once set_autocreate(false) leaves it out.
TEST_CASE("a map of a type no kernel knows opens, fails to load, and loads without autocreate") {
    {
        auto mod = bpf::Module::open_file(TEST_BPF_DIR "/map_autocreate.bpf.o");
        const bpf::Map tester = mod.map("tester");
        CHECK(tester.autocreate());
        CHECK(tester.raw_type() == 0xffffffffu);
        CHECK(tester.type() == BPF_MAP_TYPE_UNSPEC);  // no bpf_map_type holds ~0U
        CHECK_FALSE(tester.per_cpu());
        CHECK(mod.map("calls").raw_type() == BPF_MAP_TYPE_ARRAY);
        try {
            mod.load();
            FAIL("loaded");
        } catch (const bpf::Error& e) {
            CHECK(e.error_number() == EINVAL);
            CHECK_THAT(e.what(), Contains("map 'tester' has type 4294967295") && Contains("set_autocreate(false)"));
        }
    }
    auto mod = bpf::Module::open_memory(bpf_objects::map_autocreate());
    mod.map("tester").set_autocreate(false);
    CHECK_FALSE(mod.map("tester").autocreate());
    mod.load();
    CHECK(mod.map("tester").fd() < 0);
    mod.program("count_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
    testing::trigger_getppid(3);
    CHECK(mod.map("calls").lookup<std::uint32_t, std::uint64_t>(0).value_or(0) >= 3);
}

TEST_CASE("a logger may change the log level and the logger from inside itself") {
    std::atomic<int> calls{0};
    std::atomic<bool> done{false};
    std::thread t([&] {
        bpf::set_logger(
            [&](bpf::LogLevel, std::string_view) {
                calls.fetch_add(1);
                bpf::set_log_level(bpf::LogLevel::Warn);  // deadlocked here before
                bpf::set_logger([&](bpf::LogLevel, std::string_view) { calls.fetch_add(1); });
            },
            bpf::LogLevel::Debug);
        const std::vector<std::byte> garbage(64, std::byte{0x7f});
        CHECK_THROWS(bpf::Module::open_memory(garbage));  // libbpf complains about the ELF
        CHECK_THROWS(bpf::Module::open_memory(garbage));
        done = true;
    });
    const bool returned = testing::wait_until([&] { return done.load(); }, std::chrono::seconds(20));
    if (!returned) {
        FAIL_CHECK("a logger calling set_log_level() deadlocked");
        std::_Exit(1);  // the blocked thread cannot be joined
    }
    t.join();
    bpf::set_logger({});
    CHECK(calls.load() >= 2);
}
