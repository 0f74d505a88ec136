// Unit: syscall names (x86_64, aarch64) and errno names, and the timestamp helpers.
#include <catch2/catch.hpp>

#include <libbpfcpp/tools/errno_names.hpp>
#include <libbpfcpp/tools/syscalls.hpp>
#include <libbpfcpp/tools/time.hpp>

#include <sys/syscall.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

using bpf::tools::Arch;
using bpf::tools::syscall_name;
using bpf::tools::syscall_number;

TEST_CASE("syscall names of x86_64 by number and back") {
    CHECK(syscall_name(0, Arch::x86_64) == "read");
    CHECK(syscall_name(1, Arch::x86_64) == "write");
    CHECK(syscall_name(39, Arch::x86_64) == "getpid");
    CHECK(syscall_name(59, Arch::x86_64) == "execve");
    CHECK(syscall_name(257, Arch::x86_64) == "openat");
    CHECK(syscall_name(435, Arch::x86_64) == "clone3");
    CHECK(syscall_name(400, Arch::x86_64) == "[unknown: 400]");  // the x32 range
    CHECK(syscall_name(-1, Arch::x86_64) == "[unknown: -1]");
    CHECK(syscall_number("openat", Arch::x86_64) == 257);
    CHECK(syscall_number("no_such_call", Arch::x86_64) == std::nullopt);
}

TEST_CASE("syscall names of aarch64 (the generic table)") {
    CHECK(syscall_name(56, Arch::aarch64) == "openat");
    CHECK(syscall_name(63, Arch::aarch64) == "read");
    CHECK(syscall_name(64, Arch::aarch64) == "write");
    CHECK(syscall_name(79, Arch::aarch64) == "newfstatat");
    CHECK(syscall_name(172, Arch::aarch64) == "getpid");
    CHECK(syscall_name(221, Arch::aarch64) == "execve");
    CHECK(syscall_name(435, Arch::aarch64) == "clone3");
    CHECK(syscall_number("open", Arch::aarch64) == std::nullopt);  // only openat there
}

TEST_CASE("the native table agrees with this machine's <sys/syscall.h>") {
    CHECK(syscall_number("getppid") == SYS_getppid);
    CHECK(syscall_number("openat") == SYS_openat);
    CHECK(syscall_number("bpf") == SYS_bpf);
    CHECK(syscall_name(SYS_perf_event_open) == "perf_event_open");
}

TEST_CASE("errno names") {
    CHECK(bpf::tools::errno_name(EPERM) == "EPERM");
    CHECK(bpf::tools::errno_name(ENOENT) == "ENOENT");
    CHECK(bpf::tools::errno_name(-EACCES) == "EACCES");  // as the kernel returns it
    CHECK(bpf::tools::errno_name(EOPNOTSUPP) == "EOPNOTSUPP");
    CHECK(bpf::tools::errno_name(100000) == "E100000");
}

TEST_CASE("HH:MM:SS of a known time, in the local time zone") {
    const char* old = std::getenv("TZ");
    const std::string saved = old != nullptr ? old : "";
    setenv("TZ", "UTC", 1);
    tzset();
    const auto tp = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000 + 0));  // 22:13:20 UTC
    CHECK(bpf::tools::hms(tp) == "22:13:20");
    setenv("TZ", "IST-5:30", 1);  // UTC+5:30 as a POSIX rule: needs no zoneinfo (the guests have none)
    tzset();
    CHECK(bpf::tools::hms(tp) == "03:43:20");
    if (old != nullptr) setenv("TZ", saved.c_str(), 1); else unsetenv("TZ");
    tzset();
    CHECK(bpf::tools::hms_now().size() == 8);
}

TEST_CASE("a CLOCK_MONOTONIC timestamp converts to the wall clock it was taken at") {
    using namespace std::chrono;
    bpf::tools::KernelClock clock;
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto wall_now = system_clock::now();
    const auto ns = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
    const auto diff = duration_cast<microseconds>(clock.to_wall(ns) - wall_now).count();
    CHECK(std::abs(diff) < 5000);
    // A timestamp one second earlier is one second earlier on the wall.
    CHECK(duration_cast<milliseconds>(clock.to_wall(ns) - clock.to_wall(ns - 1000000000u)).count() == 1000);
    bpf::tools::KernelClock boot(CLOCK_BOOTTIME);
    CHECK(std::abs(duration_cast<milliseconds>(boot.to_wall(boot.now()) - system_clock::now()).count()) < 5);
}
