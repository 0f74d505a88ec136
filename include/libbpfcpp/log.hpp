// Routing of libbpf's print callback to a C++ logger (libbpfgo's SetLoggerCbs).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cstdarg>
#include <cstdio>
#include <exception>
#include <memory>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/libbpf.h>

namespace bpf {

/// libbpf's three message levels; a logger receives those at or below its threshold
/// (`Off` as a threshold silences libbpf entirely).
///
/// ```cpp
/// bpf::set_log_level(bpf::LogLevel::Debug);   // everything libbpf says, e.g. while debugging a load
/// ```
enum class LogLevel { Off = -1, Warn = LIBBPF_WARN, Info = LIBBPF_INFO, Debug = LIBBPF_DEBUG };

/// Receives one libbpf message at a time, trailing newline included.
using Logger = std::function<void(LogLevel, std::string_view)>;

namespace detail {

/// The logger and its threshold. The mutex is recursive so that a logger may call
/// set_log_level() or set_logger() itself (it is held while a logger runs, so loggers
/// need not be thread-safe); the logger is shared so that replacing it from inside
/// itself does not destroy the one running.
struct LogState {
    std::recursive_mutex mutex;
    std::shared_ptr<const Logger> logger;  // null: write to stderr
    LogLevel threshold = LogLevel::Warn;
};

inline LogState& log_state() {
    static LogState state;
    return state;
}

class LogCapture;

/// While set, every libbpf message of this thread is also recorded there, whatever the
/// threshold: Module::load uses it to recover the verifier log of a rejected program.
inline thread_local LogCapture* log_capture = nullptr;

/// libbpf suggests raising RLIMIT_MEMLOCK on any EPERM; kernels since 5.11 account BPF
/// memory to cgroups instead, so the hint misleads. Drops those lines.
LIBBPFCPP_INLINE std::string without_memlock_hints(std::string_view text);

/// Whether `text` goes to the default logger (stderr) when it stays unclaimed.
LIBBPFCPP_INLINE bool record_for_default_logger(LogCapture& capture, enum libbpf_print_level level,
                                                const std::string& text);

LIBBPFCPP_INLINE int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args);

/// Routes `text` as libbpf's own messages go: into this thread's capture, then to the
/// logger. For what the library tells in libbpf's place (a verifier log it read itself).
LIBBPFCPP_INLINE void route_libbpf_message(enum libbpf_print_level level, const std::string& text);

/// Sends a message to the logger (stderr without one, memlock advice dropped), under the
/// threshold: libbpf's messages (libbpf_print) and this library's own.
LIBBPFCPP_INLINE void emit(LogLevel level, std::string_view text);

/// Installs the router once per process; every Module constructor calls it.
LIBBPFCPP_INLINE void install_print_router();

/// Captures this thread's libbpf messages for the lifetime of the object.
///
/// - `Record`: messages also reach the logger as usual.
/// - `Silent`: they reach no logger (an outcome the caller expects and handles).
/// - `UnlessThrown`: a logger set with set_logger() gets them as usual; the default
///   logger (stderr) gets them when the capture ends normally, and never when it ends by
///   an exception, which carries what they say (a verifier log, the cause of a failed load).
class LogCapture {
public:
    enum Mode { Record, Silent, UnlessThrown };

    explicit LogCapture(Mode mode = Record)
        : previous_(log_capture), mode_(mode), exceptions_(std::uncaught_exceptions()) {
        log_capture = this;
    }
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    [[nodiscard]] const std::string& text() const noexcept { return text_; }

private:
    friend bool record_for_default_logger(LogCapture&, enum libbpf_print_level, const std::string&);
    std::string text_;
    std::string held_;  // UnlessThrown: the default logger's share, printed at the end
    LogCapture* previous_;
    Mode mode_;
    int exceptions_;
};

/// The capture of a call that throws what went wrong: libbpf's messages about a failure
/// are in the Error, so the default logger does not print them a second time.
class QuietLog : public LogCapture {
public:
    QuietLog() : LogCapture(UnlessThrown) {}
};

}  // namespace detail

/// Sends libbpf's messages at or below `threshold` to `logger` (an empty logger means
/// stderr). The default is stderr, warnings only.
///
/// ```cpp
/// bpf::set_logger([](bpf::LogLevel lvl, std::string_view msg) { my_log(lvl, msg); },
///                 bpf::LogLevel::Info);
/// ```
LIBBPFCPP_INLINE void set_logger(Logger logger, LogLevel threshold = LogLevel::Warn);

/// Changes only the threshold; e.g. `bpf::set_log_level(bpf::LogLevel::Debug)`.
LIBBPFCPP_INLINE void set_log_level(LogLevel threshold);

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE std::string detail::without_memlock_hints(std::string_view text) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        auto end = nl == std::string_view::npos ? text.size() : nl + 1;
        std::string_view line = text.substr(start, end - start);
        if (line.find("ulimit -l") == std::string_view::npos && line.find("RLIMIT_MEMLOCK") == std::string_view::npos)
            out.append(line);
        start = end;
    }
    return out;
}

LIBBPFCPP_INLINE int detail::libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
    va_list copy;
    va_copy(copy, args);
    char small[512];
    int n = std::vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0) return 0;
    std::string text;
    if (static_cast<size_t>(n) < sizeof small) {
        text.assign(small, static_cast<size_t>(n));
    } else {
        text.resize(static_cast<size_t>(n) + 1);
        std::vsnprintf(text.data(), text.size(), fmt, args);
        text.resize(static_cast<size_t>(n));
    }
    route_libbpf_message(level, text);
    return 0;
}

LIBBPFCPP_INLINE void detail::route_libbpf_message(enum libbpf_print_level level, const std::string& text) {
    if (log_capture != nullptr && !record_for_default_logger(*log_capture, level, text)) return;
    emit(static_cast<LogLevel>(level), text);
}

LIBBPFCPP_INLINE void detail::emit(LogLevel level, std::string_view text) {
    auto& st = log_state();
    std::lock_guard lock(st.mutex);
    if (static_cast<int>(level) > static_cast<int>(st.threshold)) return;
    if (auto logger = st.logger) {  // shared: the logger may replace itself
        (*logger)(level, text);
    } else {
        const std::string shown = without_memlock_hints(text);
        std::fwrite(shown.data(), 1, shown.size(), stderr);
    }
}

LIBBPFCPP_INLINE void detail::install_print_router() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(&libbpf_print); });
}

LIBBPFCPP_INLINE detail::LogCapture::~LogCapture() {
    log_capture = previous_;
    if (!held_.empty() && std::uncaught_exceptions() <= exceptions_) {
        auto& st = log_state();
        std::lock_guard lock(st.mutex);
        std::fputs(without_memlock_hints(held_).c_str(), stderr);
    }
}

LIBBPFCPP_INLINE bool detail::record_for_default_logger(LogCapture& capture, enum libbpf_print_level level,
                                                        const std::string& text) {
    capture.text_.append(text);
    if (capture.mode_ == LogCapture::Silent) return false;
    if (capture.mode_ == LogCapture::Record) return true;
    auto& st = log_state();
    std::lock_guard lock(st.mutex);
    if (st.logger || static_cast<int>(level) > static_cast<int>(st.threshold)) return true;
    capture.held_.append(text);
    return false;
}

LIBBPFCPP_INLINE void set_logger(Logger logger, LogLevel threshold) {
    detail::install_print_router();
    auto& st = detail::log_state();
    auto next = logger ? std::make_shared<const Logger>(std::move(logger)) : nullptr;
    std::lock_guard lock(st.mutex);
    st.logger = std::move(next);
    st.threshold = threshold;
}

LIBBPFCPP_INLINE void set_log_level(LogLevel threshold) {
    detail::install_print_router();
    auto& st = detail::log_state();
    std::lock_guard lock(st.mutex);
    st.threshold = threshold;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
