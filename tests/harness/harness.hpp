// Test harness on Catch2 2.x: skip support, kernel-feature probes, small utilities.
#pragma once

#include <string>

#include "features.hpp"

namespace testing {

/// Marks the running test case as skipped (reported with `reason`); the caller returns.
void skip(const std::string& reason);

/// Number of entries in /proc/self/fd.
int count_open_fds();

}  // namespace testing

/// Skips the current test case with a reason, exit code 77 if every case of the binary skips.
#define SKIP_TEST(reason)          \
    do {                           \
        ::testing::skip(reason);   \
        return;                    \
    } while (0)

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace testing {

/// How many times slower than an ordinary machine this one is taken to be: the number in
/// the environment variable LIBBPFCPP_TEST_TIME_SCALE (1 when unset; values below 1 count
/// as 1). scripts/vm/run.py sets it in the qemu guest under software emulation, and it
/// can be set for a slow host. Upper bounds on durations that a test asserts ("stop()
/// returns within 100 ms") are multiplied by it; lower bounds ("poll() waited for its
/// timeout") are not, and neither are the deadlines of wait_until().
double time_scale();

/// `d` multiplied by time_scale(), e.g. `CHECK(took < testing::scaled(100ms))`.
template <class Rep, class Period>
std::chrono::nanoseconds scaled(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double, std::nano>(d) * time_scale());
}

/// Calls `done` about every millisecond until it returns true or `timeout` has passed;
/// returns its last result. For what the kernel or another process completes after the
/// triggering call returned (packets handled in softirq context, a tool's output), which
/// a slow or emulated machine completes late: wait for it, then assert. The deadline is
/// generous on purpose; it only matters when the test fails.
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

/// Makes `n` real getppid() syscalls (not cached by libc), the tests' trigger.
inline void trigger_getppid(int n) {
    for (int i = 0; i < n; ++i) syscall(SYS_getppid);
}

/// Creates the netkit pair `primary` <-> `peer` (kernel >= 6.7, CONFIG_NETKIT) in the
/// current network namespace over rtnetlink, in L2 mode (Ethernet frames) with both
/// default policies "pass"; returns 0 or the kernel's errno (EOPNOTSUPP: no netkit).
/// iproute2 before 6.7 cannot make one.
int create_netkit(const std::string& primary, const std::string& peer);

/// Building an rtnetlink message in `buf`: appends an rtattr (returns its offset, for
/// nl_close() of a nested one), sets a nested rtattr's length to what follows it, and
/// appends a fixed header such as ifinfomsg, NLMSG_ALIGNed.
std::size_t nl_attr(std::vector<char>& buf, unsigned short type, const void* data, std::size_t len);
void nl_close(std::vector<char>& buf, std::size_t off);
void nl_append(std::vector<char>& buf, const void* p, std::size_t len);

/// The path of the running test executable.
std::string self_exe();

/// The file offset of the code at `addr` in the running executable (for uprobes by offset).
std::uint64_t file_offset_of(const void* addr);

/// A bpffs mounted on a fresh directory for the lifetime of the object.
class TempBpffs {
public:
    TempBpffs();
    ~TempBpffs();
    TempBpffs(const TempBpffs&) = delete;
    TempBpffs& operator=(const TempBpffs&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// Redirects this process's stderr (fd 2) to a temporary file for the lifetime of the
/// object; text() is what was written there so far. For checks on what the default
/// logger prints.
class StderrCapture {
public:
    StderrCapture();
    ~StderrCapture();
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    std::string text() const;

private:
    int saved_ = -1;
    int file_ = -1;
};

/// Everything `fd` gives until end of file (or an error), e.g. a child's pipe.
std::string read_to_end(int fd);

/// Sends the descriptor `fd` over the unix socket `sock` (SCM_RIGHTS); false on failure.
bool send_fd(int sock, int fd);

/// Receives one descriptor sent with send_fd(); -1 when the peer closed or sent none.
int receive_fd(int sock);

/// Moves this process, which must be single-threaded (a forked child), into a new user
/// namespace and a new mount namespace, as root there (uid and gid 0 mapped onto its
/// own): capabilities in those namespaces, none in the initial one. "" or what failed.
std::string enter_user_namespace();

/// Runs `fn` in a forked child; returns what it wrote to the string it was given.
/// Used for tests that change process-wide state (capabilities, mounts).
std::string in_child(void (*fn)(std::string& out));

}  // namespace testing
