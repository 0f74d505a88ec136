// A skeleton made from two BPF objects (tally.bpf.c, trace.bpf.c) that the build compiles
// one by one and libbpfcpp-gen links into one: the program of one calls into the other and
// fills its map.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "linked.skel.hpp"

int main() {
    constexpr std::uint64_t n = 12, step = 5;
    int failed = 0;
    try {
        auto opened = linked::Skeleton::open();
        opened.rodata().target_tgid = static_cast<std::uint32_t>(getpid());
        opened.rodata().step = step;
        linked::Skeleton skel = std::move(opened).load();
        try {
            skel.progs.trace_getppid.attach();
        } catch (const bpf::Error& e) {
            std::printf("skipped: tracepoint syscalls:sys_enter_getppid: %s\n", e.what());
            std::printf("libbpfcpp-test-cases: passed=0 failed=0 skipped=1\n");
            return 77;
        }
        for (std::uint64_t i = 0; i < n; ++i) syscall(SYS_getppid);
        const std::uint64_t got = skel.maps.tally.lookup(0).value_or(0);
        const bool ok = got == n * step;
        std::printf("%s: one object's program added to the other's map through its function (got %llu, want %llu)\n",
                    ok ? "ok" : "FAILED", static_cast<unsigned long long>(got),
                    static_cast<unsigned long long>(n * step));
        failed += ok ? 0 : 1;
    } catch (const bpf::Error& e) {
        std::printf("FAILED: %s\n", e.what());
        ++failed;
    }
    std::printf("libbpfcpp-test-cases: passed=%d failed=%d skipped=0\n", failed == 0 ? 1 : 0, failed);
    return failed == 0 ? 0 : 1;
}
