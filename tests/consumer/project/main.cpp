// A program that uses libbpfcpp the way a user's tool does: the installed (or subproject)
// headers, its own BPF object compiled and embedded by the build, a tracepoint attached
// and real syscalls counted. Prints what it checked and the case counts; exit 77 when the
// kernel cannot run it (no tracepoint), with the reason.
#include <libbpfcpp/libbpfcpp.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "count.bpf.hpp"
#ifdef CONSUMER_CORE
#include "core.bpf.hpp"
#endif

#ifdef CONSUMER_CXX23
// The make build asks for C++23: libbpfcpp.pc must not turn it back into C++20.
static_assert(__cplusplus > 202002L, "compiled below C++23 although the Makefile asks for -std=c++23");
#endif

#if defined(CONSUMER_COMPILED) && !defined(LIBBPFCPP_COMPILED_LIB)
#error "built as the compiled-mode consumer, but the package did not define LIBBPFCPP_COMPILED_LIB"
#endif

namespace {

int passed = 0, failed = 0;

void check(bool ok, const char* what, unsigned long long got, unsigned long long want) {
    std::printf("%s: %s (got %llu, want %llu)\n", ok ? "ok" : "FAILED", what, got, want);
    ++(ok ? passed : failed);
}

}  // namespace

int main() {
    constexpr std::uint64_t n = 25;
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::count());
        mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
        mod.load();
        try {
            mod.program("count_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
        } catch (const bpf::Error& e) {
            std::printf("skipped: tracepoint syscalls:sys_enter_getppid: %s\n", e.what());
            std::printf("libbpfcpp-test-cases: passed=0 failed=0 skipped=1\n");
            return 77;
        }
        for (std::uint64_t i = 0; i < n; ++i) syscall(SYS_getppid);

        const auto calls = mod.global<std::uint64_t>("calls");
        check(calls == n, "the .bss counter saw every getppid() of this process", calls, n);
        const auto tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
        const auto by_tid = mod.map("calls_by_tid").lookup<std::uint32_t, std::uint64_t>(tid).value_or(0);
        check(by_tid == n, "the hash map holds the same count under this thread's id", by_tid, n);
        std::uint64_t records = 0;
        auto& rb = mod.ring_buffer("tids", [&](const std::uint32_t& t) { records += t == tid; });
        rb.poll(std::chrono::milliseconds(100));
        check(records == n, "the ring buffer (with ringbuf_drops.h's counter) had a record per call", records, n);
        check(rb.drops() == 0, "the BPF side counted no drops", rb.drops(), 0);
#ifdef CONSUMER_CORE
        // The CMake build also compiles a CO-RE object against a generated vmlinux.h.
        auto core = bpf::Module::open_memory(bpf_objects::core());
        core.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
        core.load();
        core.program("read_parent").attach_tracepoint("syscalls", "sys_enter_getppid");
        const auto ppid = static_cast<std::uint32_t>(syscall(SYS_getppid));
        const auto seen = core.global<std::uint32_t>("parent_tgid");
        check(seen == ppid, "a CO-RE read of task->real_parent->tgid equals getppid()", seen, ppid);
#endif
    } catch (const bpf::Error& e) {
        std::printf("FAILED: %s\n", e.what());
        ++failed;
    }
    std::printf("libbpfcpp-test-cases: passed=%d failed=%d skipped=0\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
