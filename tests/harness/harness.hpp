// Test harness on Catch2 2.x: skip support, kernel-feature probes, small utilities.
#pragma once

#include <string>

namespace testing {

/// Marks the running test case as skipped (reported with `reason`); the caller returns.
void skip(const std::string& reason);

/// True when the kernel has kprobes (perf PMU or tracefs kprobe_events).
bool have_kprobes();

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

#include <cstdint>
#include <string>

namespace testing {

/// Makes `n` real getppid() syscalls (not cached by libc), the tests' trigger.
inline void trigger_getppid(int n) {
    for (int i = 0; i < n; ++i) syscall(SYS_getppid);
}

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

/// Runs `fn` in a forked child; returns what it wrote to the string it was given.
/// Used for tests that change process-wide state (capabilities, mounts).
std::string in_child(void (*fn)(std::string& out));

}  // namespace testing
