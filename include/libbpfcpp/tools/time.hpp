// Timestamps as tracers print them: the wall-clock HH:MM:SS of a line, and the wall-clock
// time of a bpf_ktime_get_ns() (CLOCK_MONOTONIC) or bpf_ktime_get_boot_ns()
// (CLOCK_BOOTTIME) value taken in the kernel.
#pragma once

#include "../detail/cxx20.hpp"

#include <time.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace bpf::tools {

/// `tp` as local time "HH:MM:SS" (strftime's %H:%M:%S; TZ applies), what the C tools
/// print in their TIME column.
[[nodiscard]] inline std::string hms(std::chrono::system_clock::time_point tp) {
    const time_t t = std::chrono::system_clock::to_time_t(tp);
    tm local{};
    localtime_r(&t, &local);
    char buf[16];
    return std::string(buf, strftime(buf, sizeof buf, "%H:%M:%S", &local));
}

/// The current local time as "HH:MM:SS".
[[nodiscard]] inline std::string hms_now() { return hms(std::chrono::system_clock::now()); }

/// Converts kernel timestamps of one clock to wall-clock time. The offset between the
/// two clocks is measured once, when the converter is made (the tightest of a few
/// samples), so a tool converts every event the same way; make a new one after the wall
/// clock was set.
///
/// ```cpp
/// bpf::tools::KernelClock clock;                       // bpf_ktime_get_ns()
/// std::puts(bpf::tools::hms(clock.to_wall(e.ts)).c_str());
/// ```
class KernelClock {
public:
    /// CLOCK_MONOTONIC (bpf_ktime_get_ns) by default; CLOCK_BOOTTIME for
    /// bpf_ktime_get_boot_ns.
    explicit KernelClock(clockid_t kernel_clock = CLOCK_MONOTONIC) : clock_(kernel_clock) {
        std::int64_t best_span = INT64_MAX;
        for (int i = 0; i < 5; ++i) {
            const std::int64_t a = now_ns(CLOCK_REALTIME);
            const std::int64_t k = now_ns(clock_);
            const std::int64_t b = now_ns(CLOCK_REALTIME);
            if (b - a < best_span) {
                best_span = b - a;
                offset_ns_ = a + (b - a) / 2 - k;
            }
        }
    }

    /// The wall-clock time of kernel timestamp `ns`.
    [[nodiscard]] std::chrono::system_clock::time_point to_wall(std::uint64_t ns) const {
        const std::chrono::nanoseconds wall(static_cast<std::int64_t>(ns) + offset_ns_);
        return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(wall));
    }

    /// The kernel clock now, in nanoseconds (what the BPF helper would return).
    [[nodiscard]] std::uint64_t now() const { return static_cast<std::uint64_t>(now_ns(clock_)); }

    /// Wall clock minus kernel clock, in nanoseconds.
    [[nodiscard]] std::int64_t offset_ns() const noexcept { return offset_ns_; }

private:
    static std::int64_t now_ns(clockid_t c) {
        timespec ts{};
        clock_gettime(c, &ts);
        return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }

    clockid_t clock_;
    std::int64_t offset_ns_ = 0;
};

}  // namespace bpf::tools
