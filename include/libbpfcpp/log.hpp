// Routing of libbpf's print callback to a C++ logger (libbpfgo's SetLoggerCbs).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <functional>
#include <memory>
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

/// Hands one message to the logger (or stderr) when `level` is within the threshold.
inline void emit_log(LogLevel level, const std::string& text) {
    auto& st = log_state();
    std::lock_guard lock(st.mutex);
    if (static_cast<int>(level) > static_cast<int>(st.threshold)) return;
    if (auto logger = st.logger) {
        (*logger)(level, text);
    } else {
        std::fputs(text.c_str(), stderr);
    }
}

/// While set, every libbpf message of this thread is also appended here, whatever the
/// threshold: Module::load uses it to recover the verifier log of a rejected program.
inline thread_local std::string* log_capture = nullptr;

inline int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
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
    if (log_capture != nullptr) log_capture->append(text);
    emit_log(static_cast<LogLevel>(level), text);
    return 0;
}

/// Installs the router once per process; every Module constructor calls it.
inline void install_print_router() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(&libbpf_print); });
}

/// Captures this thread's libbpf messages for the lifetime of the object.
class LogCapture {
public:
    LogCapture() : previous_(log_capture) { log_capture = &text_; }
    ~LogCapture() { log_capture = previous_; }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    [[nodiscard]] const std::string& text() const noexcept { return text_; }

private:
    std::string text_;
    std::string* previous_;
};

}  // namespace detail

/// Sends libbpf's messages at or below `threshold` to `logger` (an empty logger means
/// stderr). The default is stderr, warnings only.
///
/// ```cpp
/// bpf::set_logger([](bpf::LogLevel lvl, std::string_view msg) { my_log(lvl, msg); },
///                 bpf::LogLevel::Info);
/// ```
inline void set_logger(Logger logger, LogLevel threshold = LogLevel::Warn) {
    detail::install_print_router();
    auto& st = detail::log_state();
    auto next = logger ? std::make_shared<const Logger>(std::move(logger)) : nullptr;
    std::lock_guard lock(st.mutex);
    st.logger = std::move(next);
    st.threshold = threshold;
}

/// Changes only the threshold; e.g. `bpf::set_log_level(bpf::LogLevel::Debug)`.
inline void set_log_level(LogLevel threshold) {
    detail::install_print_router();
    auto& st = detail::log_state();
    std::lock_guard lock(st.mutex);
    st.threshold = threshold;
}

}  // namespace bpf
