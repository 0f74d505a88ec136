// A tool on libbpfcpp's asio adaptor, built the way a user builds one (installed headers,
// pkg-config or the CMake package, standalone asio): a coroutine receives the records of
// the ring buffer as typed batches while this process makes the syscalls the BPF side
// counts. Prints what it checked and the case counts; exit 77 without the tracepoint.
#include <libbpfcpp/asio.hpp>
#include <libbpfcpp/libbpfcpp.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>

#include "count.bpf.hpp"

int main() {
    constexpr std::uint64_t n = 25;
    int passed = 0, failed = 0;
    auto check = [&](bool ok, const char* what, unsigned long long got, unsigned long long want) {
        std::printf("%s: %s (got %llu, want %llu)\n", ok ? "ok" : "FAILED", what, got, want);
        ++(ok ? passed : failed);
    };
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
        bpf::asio::Collector<std::uint32_t> tids;
        auto& rb = mod.ring_buffer("tids", tids.callback());
        asio::io_context io;
        bpf::asio::RingSource source(io, rb);
        const auto tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
        std::uint64_t mine = 0;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                while (mine < n) {
                    auto got = co_await source.async_receive(tids, asio::use_awaitable);
                    for (std::uint32_t t : got.events) mine += t == tid;
                }
            },
            [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        for (std::uint64_t i = 0; i < n; ++i) syscall(SYS_getppid);
        io.run();
        check(mine == n, "a coroutine received a record per getppid() through bpf::asio::RingSource", mine, n);
        check(rb.drops() == 0, "the BPF side counted no drops", rb.drops(), 0);
    } catch (const std::exception& e) {
        std::printf("FAILED: %s\n", e.what());
        ++failed;
    }
    std::printf("libbpfcpp-test-cases: passed=%d failed=%d skipped=0\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
