// The consumer's tool again, through the typed skeleton the build generates with the
// installed (or subproject) libbpfcpp-gen: globals, maps and programs by C++ name.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "count.skel.hpp"

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
        auto opened = count::Skeleton::open();
        opened.rodata().target_tgid = static_cast<std::uint32_t>(getpid());
        count::Skeleton skel = std::move(opened).load();
        try {
            skel.progs.count_getppid.attach();
        } catch (const bpf::Error& e) {
            std::printf("skipped: tracepoint syscalls:sys_enter_getppid: %s\n", e.what());
            std::printf("libbpfcpp-test-cases: passed=0 failed=0 skipped=1\n");
            return 77;
        }
        for (std::uint64_t i = 0; i < n; ++i) syscall(SYS_getppid);
        check(skel.bss().calls == n, "the mapped .bss counter saw every getppid()", skel.bss().calls, n);
        const auto tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
        const std::uint64_t by_tid = skel.maps.calls_by_tid.lookup(tid).value_or(0);
        check(by_tid == n, "the typed map holds the same count under this thread's id", by_tid, n);
    } catch (const bpf::Error& e) {
        std::printf("FAILED: %s\n", e.what());
        ++failed;
    }
    std::printf("libbpfcpp-test-cases: passed=%d failed=%d skipped=0\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
