// Kernel integration: uprobes and uretprobes on a function of this test binary, by symbol
// name and by file offset, with cookies; arguments and return values read back.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include "basic.bpf.hpp"
#include "basic.h"
#include "harness.hpp"

using Catch::Matchers::Contains;

// The probed function: not inlined, not optimised away, with a stable symbol name.
extern "C" __attribute__((noinline, used)) int libbpfcpp_test_add(int a, int b) {
    asm volatile("" ::: "memory");
    return a + b;
}

namespace {

// Calls through a volatile pointer so the compiler cannot fold the call.
int (*volatile add_fn)(int, int) = libbpfcpp_test_add;

std::int64_t slot(const bpf::Module& mod, std::uint32_t s) {
    return static_cast<std::int64_t>(mod.map("arr").lookup<std::uint32_t, std::uint64_t>(s).value_or(0));
}

bpf::Module loaded() {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.load();
    return mod;
}

}  // namespace

TEST_CASE("uprobe by symbol captures the arguments") {
    auto mod = loaded();
    mod.program("on_add").attach_uprobe(0, testing::self_exe(), "libbpfcpp_test_add");
    CHECK(add_fn(20, 22) == 42);
    CHECK(slot(mod, SLOT_UPROBE_A) == 20);
    CHECK(slot(mod, SLOT_UPROBE_B) == 22);
    CHECK(add_fn(-5, 3) == -2);
    CHECK(slot(mod, SLOT_UPROBE_A) == -5);
    CHECK(slot(mod, SLOT_UPROBE_HITS) == 2);
}

TEST_CASE("uretprobe by symbol captures the return value") {
    auto mod = loaded();
    mod.program("on_add_ret").attach_uretprobe(0, testing::self_exe(), "libbpfcpp_test_add");
    CHECK(add_fn(1000, 234) == 1234);
    CHECK(slot(mod, SLOT_URETPROBE_RET) == 1234);
    CHECK(add_fn(-100, 1) == -99);
    CHECK(slot(mod, SLOT_URETPROBE_RET) == -99);
}

TEST_CASE("uprobe and uretprobe by file offset") {
    auto mod = loaded();
    const std::uint64_t off = testing::file_offset_of(reinterpret_cast<const void*>(&libbpfcpp_test_add));
    mod.program("on_add").attach_uprobe(0, testing::self_exe(), off);
    mod.program("on_add_ret").attach_uretprobe(0, testing::self_exe(), off);
    CHECK(add_fn(7, 8) == 15);
    CHECK(slot(mod, SLOT_UPROBE_A) == 7);
    CHECK(slot(mod, SLOT_UPROBE_B) == 8);
    CHECK(slot(mod, SLOT_URETPROBE_RET) == 15);
}

TEST_CASE("uprobe cookie reaches the program") {
    REQUIRE_FEATURE(BpfCookie);
    auto mod = loaded();
    bpf::UprobeOptions o;
    o.cookie = 0xC00C1E;
    mod.program("on_add").attach_uprobe(0, testing::self_exe(), "libbpfcpp_test_add", o);
    add_fn(1, 1);
    CHECK(slot(mod, SLOT_UPROBE_COOKIE) == 0xC00C1E);
}

TEST_CASE("uprobe on another pid does not fire for this process") {
    auto mod = loaded();
    mod.program("on_add").attach_uprobe(1, testing::self_exe(), "libbpfcpp_test_add");
    add_fn(3, 4);
    CHECK(slot(mod, SLOT_UPROBE_HITS) == 0);
}

TEST_CASE("destroying the uprobe link stops the counting") {
    auto mod = loaded();
    bpf::Link& l = mod.program("on_add").attach_uprobe(-1, testing::self_exe(), "libbpfcpp_test_add");
    add_fn(1, 2);
    CHECK(slot(mod, SLOT_UPROBE_HITS) == 1);
    l.destroy();
    add_fn(1, 2);
    CHECK(slot(mod, SLOT_UPROBE_HITS) == 1);
}

extern "C" int libbpfcpp_test_getpid_wrapper() { return static_cast<int>(getpid()); }

TEST_CASE("a library named without a path is found through the search path") {
    std::ifstream maps("/proc/self/maps");
    std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
    if (text.find("libc.so.6") == std::string::npos) SKIP_TEST("statically linked: this process maps no libc.so.6");
    auto mod = loaded();
    // getpid lives in libc; libbpf resolves "libc.so.6" like the dynamic loader would.
    bpf::Link& l = mod.program("on_add").attach_uprobe(0, "libc.so.6", "getpid");
    CHECK(l.attached());
    libbpfcpp_test_getpid_wrapper();
    CHECK(slot(mod, SLOT_UPROBE_HITS) >= 1);
}

TEST_CASE("uprobe errors name the symbol and the binary") {
    auto mod = loaded();
    try {
        mod.program("on_add").attach_uprobe(0, testing::self_exe(), "no_such_function_xyz");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("attaching program 'on_add'"));
        CHECK_THAT(e.what(), Contains("no_such_function_xyz"));
    }
    try {
        mod.program("on_add").attach_uprobe(0, "/nonexistent/binary", "main");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == ENOENT);
        CHECK_THAT(e.what(), Contains("cannot read '/nonexistent/binary'"));
    }
}

TEST_CASE("uprobe errors name a process that is gone and a file that is not ELF") {
    auto mod = loaded();
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(0);
    REQUIRE(waitpid(child, nullptr, 0) == child);  // reaped: nothing has this pid now
    try {
        mod.program("on_add").attach_uprobe(child, testing::self_exe(), "libbpfcpp_test_add");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == ESRCH);
        CHECK_THAT(e.what(), Contains("no process with pid " + std::to_string(child)));
        CHECK_THAT(e.what(), !Contains("section"));
    }
    // A text file (in memory: the qemu guests have no /etc to speak of).
    const int text = memfd_create("not-elf", MFD_CLOEXEC);
    REQUIRE(text >= 0);
    const std::string words = "just some words, not an executable\n";
    REQUIRE(write(text, words.data(), words.size()) == static_cast<ssize_t>(words.size()));
    const std::string path = "/proc/self/fd/" + std::to_string(text);
    try {
        mod.program("on_add").attach_uprobe(0, path, "main");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("'" + path + "' is not an ELF executable or shared library"));
        CHECK_THAT(e.what(), !Contains("BPF object format"));
    }
    close(text);
}
