// Kernel integration: kprobes and kretprobes by symbol and by offset. This needs a kernel
// with CONFIG_KPROBES; elsewhere every case skips with the reason.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <unistd.h>

#include <cstdint>

#include "basic.bpf.hpp"
#include "basic.h"
#include "harness.hpp"

namespace {

#if defined(__x86_64__)
constexpr const char* getppid_function = "__x64_sys_getppid";
#elif defined(__aarch64__)
constexpr const char* getppid_function = "__arm64_sys_getppid";
#else
constexpr const char* getppid_function = nullptr;
#endif

bpf::Module loaded() {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    mod.set_global("target_pid", static_cast<std::uint32_t>(getpid()));
    mod.load();
    return mod;
}

std::uint64_t slot(const bpf::Module& mod, std::uint32_t s) {
    return mod.map("arr").lookup<std::uint32_t, std::uint64_t>(s).value_or(0);
}

}  // namespace

TEST_CASE("kprobe and kretprobe by symbol count real syscalls") {
    REQUIRE_FEATURE(Kprobes);
    if (getppid_function == nullptr) SKIP_TEST("no syscall symbol name known for this architecture");
    auto mod = loaded();
    mod.program("on_kprobe").attach_kprobe(getppid_function);
    mod.program("on_kretprobe").attach_kretprobe(getppid_function);
    testing::trigger_getppid(6);
    CHECK(slot(mod, SLOT_KPROBE_HITS) == 6);
    CHECK(slot(mod, SLOT_KRETPROBE_HITS) == 6);
}

TEST_CASE("kprobe by offset inside the function") {
    REQUIRE_FEATURE(Kprobes);
    if (getppid_function == nullptr) SKIP_TEST("no syscall symbol name known for this architecture");
    auto mod = loaded();
    // The first instruction boundary after the entry depends on the kernel's build
    // (endbr64 with IBT: 4; a 5-byte fentry nop without: 5; both: 9).
    bool attached = false;
    std::string errors;
    for (std::uint64_t off : {4, 5, 9}) {
        try {
            bpf::KprobeOptions o;
            o.offset = off;
            mod.program("on_kprobe").attach_kprobe(getppid_function, o);
            attached = true;
            break;
        } catch (const bpf::Error& e) {
            errors += std::string(e.what()) + "\n";
        }
    }
    INFO(errors);
    REQUIRE(attached);
    testing::trigger_getppid(4);
    CHECK(slot(mod, SLOT_KPROBE_HITS) == 4);
}

TEST_CASE("an unknown kernel function is named") {
    REQUIRE_FEATURE(Kprobes);
    auto mod = loaded();
    CHECK_THROWS_WITH(mod.program("on_kprobe").attach_kprobe("libbpfcpp_no_such_function"),
                      Catch::Matchers::Contains("libbpfcpp_no_such_function"));
}
