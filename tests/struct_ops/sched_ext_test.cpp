// sched_ext end to end with the FIFO scheduler of bpf/scx_fifo.bpf.c, through its
// skeleton and bpf::scx: on a kernel with sched_ext (the 7.x guest) it runs a CPU-bound
// workload and is ejected on demand; elsewhere the error names what is missing.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/sched_ext.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "features.hpp"
#include "harness.hpp"
#include "scx_fifo.skel.hpp"

using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {

/// Sum over CPUs of the scheduler's statistics.
scx_fifo::scx_fifo_stats totals(scx_fifo::Skeleton& skel) {
    scx_fifo::scx_fifo_stats t{};
    for (const auto& s : skel.maps.stats.lookup(0).value_or(std::vector<scx_fifo::scx_fifo_stats>{})) {
        t.enqueued += s.enqueued;
        t.direct += s.direct;
        t.dispatched += s.dispatched;
    }
    return t;
}

/// Forks `n` processes that each spin for `work` of CPU time and waits for them all
/// (bounded by `deadline`); returns how many exited 0.
int run_cpu_bound(int n, std::chrono::milliseconds work, std::chrono::seconds deadline) {
    std::vector<pid_t> kids;
    for (int i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            timespec start{}, now{};
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
            volatile std::uint64_t x = 0;
            do {
                for (int k = 0; k < 100000; ++k) x = x + 1;
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
            } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < work.count());
            _exit(0);
        }
        REQUIRE(pid > 0);
        kids.push_back(pid);
    }
    int ok = 0;
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (pid_t pid : kids) {
        int status = 0;
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > end) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++ok;
    }
    return ok;
}

scx_fifo::Skeleton load_fifo() {
    auto open = scx_fifo::Skeleton::open();
    open.rodata().slice_ns = 5'000'000;
    return std::move(open).load();
}

}  // namespace

TEST_CASE("sched_ext: without it, the probe, the load and attach name what is missing") {
    const bpf::scx::Support s = bpf::scx::probe();
    if (s || s.error == EBUSY) SKIP_TEST("this kernel has sched_ext; the positive cases cover it");
    INFO(s.reason);
    CHECK(s.error == EOPNOTSUPP);
    CHECK_THAT(s.reason, Contains("CONFIG_SCHED_CLASS_EXT") || Contains("6.13"));
    CHECK_THROWS_WITH(bpf::scx::require_support(), Contains("checking for sched_ext") && Contains(s.reason));
    CHECK_THROWS_WITH(bpf::scx::kernel_state(), Contains("/sys/kernel/sched_ext/state"));
    try {
        auto skel = load_fifo();
        FAIL("the scheduler loaded on a kernel without sched_ext");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EOPNOTSUPP);
        CHECK_THAT(e.what(), Contains("'fifo_ops' implements struct sched_ext_ops") &&
                                 Contains("CONFIG_SCHED_CLASS_EXT"));
    }
}

TEST_CASE("sched_ext: the FIFO scheduler runs a CPU-bound workload, then unloads to the default scheduler") {
    REQUIRE_FEATURE(SchedExt);
    const auto before = bpf::scx::kernel_state();
    CHECK(before.state == "disabled");
    CHECK(before.ops.empty());

    auto skel = load_fifo();
    auto sched = bpf::scx::Scheduler::attach(skel.module());
    CHECK(sched.map_name() == "fifo_ops");
    CHECK(sched.link().attached());

    const auto running = bpf::scx::kernel_state();
    CHECK(running.state == "enabled");
    CHECK(running.ops == "scx_fifo");
    CHECK(running.enable_seq == before.enable_seq + 1);
    CHECK(running.switch_all);  // no SCX_OPS_SWITCH_PARTIAL: every normal task is ours

    const auto start = totals(skel);
    const int cpus = static_cast<int>(std::thread::hardware_concurrency());
    const int procs = 2 * cpus + 2;  // more runnable processes than CPUs: they must queue
    CHECK(run_cpu_bound(procs, 200ms, std::chrono::seconds(static_cast<int>(120 * testing::time_scale()))) == procs);
    const auto done = totals(skel);
    INFO("dispatched " << done.dispatched - start.dispatched << ", enqueued " << done.enqueued - start.enqueued
                       << ", direct " << done.direct - start.direct << " for " << procs << " processes");
    // The figures, for the record of a run (the assertions follow).
    std::printf("sched_ext workload: %d processes on %d CPUs: dispatched %llu, enqueued %llu, direct %llu\n", procs,
                cpus, static_cast<unsigned long long>(done.dispatched - start.dispatched),
                static_cast<unsigned long long>(done.enqueued - start.enqueued),
                static_cast<unsigned long long>(done.direct - start.direct));
    CHECK(done.enqueued - start.enqueued >= static_cast<std::uint64_t>(procs));  // preempted and queued again
    CHECK(done.dispatched - start.dispatched >= static_cast<std::uint64_t>(procs));
    CHECK_FALSE(sched.wait_exit(0ms).has_value());  // still running

    const auto exit = sched.detach();
    REQUIRE(exit.has_value());
    CHECK(exit->kind == bpf::scx::ExitKind::Unregistered);
    CHECK_FALSE(exit->error());
    const auto after = bpf::scx::kernel_state();
    CHECK(after.state == "disabled");
    CHECK(after.ops.empty());
}

TEST_CASE("sched_ext: scx_bpf_error() ejects the scheduler and user space gets the reason and the message") {
    REQUIRE_FEATURE(SchedExt);
    auto skel = load_fifo();
    auto sched = bpf::scx::Scheduler::attach(skel.module());
    REQUIRE(bpf::scx::kernel_state().enabled());
    skel.bss().fail_request = 7;  // the next enqueue calls scx_bpf_error()

    // Tasks get enqueued all the time; the wait sleeps on the exit ring until ops.exit ran.
    std::optional<bpf::scx::ExitInfo> exit;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(60 * testing::time_scale()));
    while (!exit && std::chrono::steady_clock::now() < deadline) exit = sched.wait_exit(1s);
    REQUIRE(exit.has_value());
    INFO(exit->describe());
    CHECK(exit->kind == bpf::scx::ExitKind::ErrorBpf);
    CHECK(exit->error());
    CHECK_THAT(exit->reason, Contains("scx_bpf_error"));
    CHECK(exit->message == "failure requested by user space (request 7)");
    CHECK_THAT(exit->describe(), Contains("scx_bpf_error (1025)") && Contains("request 7"));
    // The kernel disabled it; unregistering is left to the Module (or detach()).
    CHECK(testing::wait_until([] { return bpf::scx::kernel_state().state == "disabled"; }));
}

TEST_CASE("sched_ext: the stall watchdog ejects a scheduler that loses tasks, and user space learns it") {
    REQUIRE_FEATURE(SchedExt);
    auto skel = load_fifo();
    auto sched = bpf::scx::Scheduler::attach(skel.module());
    skel.bss().stall_request = 1;  // enqueue drops what it is given from now on
    const pid_t spinner = fork();  // runs out of its slice, is enqueued, and is lost
    REQUIRE(spinner >= 0);
    if (spinner == 0) {
        volatile std::uint64_t x = 0;
        for (;;) x = x + 1;
    }
    // timeout_ms is 5 s; the watchdog checks every half of it.
    auto exit = sched.wait_exit(std::chrono::seconds(static_cast<int>(30 * testing::time_scale())));
    kill(spinner, SIGKILL);
    waitpid(spinner, nullptr, 0);
    REQUIRE(exit.has_value());
    INFO(exit->describe());
    CHECK(exit->kind == bpf::scx::ExitKind::ErrorStall);
    CHECK(exit->error());
    CHECK_THAT(exit->reason, Contains("stall"));
    // "... failed to run for N s", or "watchdog failed to check in" when the lost task
    // was the watchdog's own worker.
    CHECK_THAT(exit->message, Contains("failed to"));
}

TEST_CASE("sched_ext: SysRq-S ejects the scheduler and user space learns it") {
    REQUIRE_FEATURE(SchedExt);
    std::ofstream sysrq("/proc/sysrq-trigger");
    if (!sysrq) SKIP_TEST("/proc/sysrq-trigger cannot be opened (CONFIG_MAGIC_SYSRQ)");
    auto skel = load_fifo();
    auto sched = bpf::scx::Scheduler::attach(skel.module());
    sysrq << 'S' << std::flush;
    auto exit = sched.wait_exit(std::chrono::seconds(static_cast<int>(30 * testing::time_scale())));
    REQUIRE(exit.has_value());
    INFO(exit->describe());
    CHECK(exit->kind == bpf::scx::ExitKind::SysRq);
    CHECK_FALSE(exit->error());
}

TEST_CASE("sched_ext: a second scheduler is refused while the first runs") {
    REQUIRE_FEATURE(SchedExt);
    auto first = load_fifo();
    auto sched = bpf::scx::Scheduler::attach(first.module());
    REQUIRE(bpf::scx::kernel_state().enabled());

    const bpf::scx::Support s = bpf::scx::probe();
    CHECK(s.error == EBUSY);
    CHECK_THAT(s.reason, Contains("another sched_ext scheduler ('scx_fifo') is enabled"));

    auto second = load_fifo();
    try {
        (void)bpf::scx::Scheduler::attach(second.module());
        FAIL("a second scheduler was attached");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EBUSY);
        CHECK_THAT(e.what(), Contains("attaching sched_ext scheduler 'fifo_ops'") && Contains("('scx_fifo') is enabled"));
    }
    // The kernel refuses it too when asked directly.
    try {
        second.maps.fifo_ops.attach_struct_ops();
        FAIL("the kernel registered a second scheduler");
    } catch (const bpf::Error& e) {
        INFO(e.what());
        CHECK((e.error_number() == EBUSY || e.error_number() == EEXIST));
    }
    CHECK(bpf::scx::kernel_state().ops == "scx_fifo");
    CHECK_FALSE(sched.wait_exit(0ms).has_value());  // the first was not disturbed
}
