// Pieces shared by PerfBuffer and RingBuffer: record copies, short-record counting, the
// wake-up eventfd, the epoll set and the background poll thread.
#pragma once

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <mutex>
#include <new>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../callbacks.hpp"
#include "../error.hpp"
#include "../log.hpp"
#include "compiled.hpp"
#include "iterations.hpp"
#include "timeout.hpp"

namespace bpf {
namespace detail {

template <std::size_t... I>
inline void copy_words(unsigned char* dst, const std::byte* src, std::index_sequence<I...>) noexcept {
    // Straight-line 8-byte moves (not a loop the compiler would turn back into a call).
    ((std::memcpy(dst + 8 * I, src + 8 * I, 8)), ...);
}

/// memcpy of a record into an event, inlined for events up to 256 bytes: a libc call
/// per event costs the iterators as much as the rest of their work.
template <EventType T>
inline void copy_record(T& out, const std::byte* src) noexcept {
    if constexpr (sizeof(T) <= 256) {
        auto* dst = reinterpret_cast<unsigned char*>(&out);
        constexpr std::size_t words = sizeof(T) / 8;
        copy_words(dst, src, std::make_index_sequence<words>{});
        if constexpr (sizeof(T) % 8 != 0) std::memcpy(dst + 8 * words, src + 8 * words, sizeof(T) % 8);
    } else {
        std::memcpy(&out, src, sizeof(T));
    }
}

/// What an iterator's `*it` returns for the record at `rec`: the record itself when the
/// buffer aligns records at least as T needs (`Align`: ring 8, perf 4), so a large event
/// costs only the lines the loop body reads; otherwise a copy kept here. Either way an
/// input iterator's reference: valid until ++.
template <EventType T, std::size_t Align>
class RecordRef {
public:
    const T& get(const std::byte* rec) const noexcept {
        if constexpr (alignof(T) <= Align) {
            return *std::launder(reinterpret_cast<const T*>(rec));
        } else {
            copy_record(value_, rec);
            return value_;
        }
    }

private:
    struct InPlace {};  // no copy to keep
    [[no_unique_address]] mutable std::conditional_t<(alignof(T) <= Align), InPlace, T> value_{};
};

/// Writes one message through the library's libbpf logger (stderr by default).
inline void log_warning(const std::string& text) { emit(LogLevel::Warn, text); }

/// What a too-short record was short of: a whole event (`const Event&`, or an events<T>()
/// range) or the header of a header-and-tail callback.
enum class RecordShape { Whole, HeaderTail };

/// Counts records too short for the callback's event type; warns once per buffer.
class ShortRecords {
public:
    void report(std::string_view buffer, std::size_t got, std::size_t want,
                RecordShape shape = RecordShape::Whole) noexcept;
    [[nodiscard]] std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> count_{0};
};

// ---- typed callbacks ---------------------------------------------------------------------
// Deferred, so that only the chosen one of the two is formed.
template <class F>
struct HeaderOf { using type = header_event_t<F>; };
template <class F>
struct EventOf { using type = typed_event_t<F>; };

/// How a typed callback takes its record: the event type, whether it is a header with a
/// tail, and the fewest bytes a record needs to be delivered.
template <class F, bool HeaderTail = header_tail_callback<F, std::tuple_size_v<callback_args<F>>>>
struct TypedRecord {
    static constexpr std::size_t arity = std::tuple_size_v<callback_args<F>>;
    static constexpr bool header_tail = HeaderTail;
    using type = typename std::conditional_t<HeaderTail, HeaderOf<F>, EventOf<F>>::type;
    static constexpr std::size_t min_size = sizeof(type);
    static constexpr RecordShape shape = header_tail ? RecordShape::HeaderTail : RecordShape::Whole;
    /// Parameters before the event: 1 for a perf callback's cpu.
    static constexpr std::size_t leading = arity - (header_tail ? 2 : 1);
};

/// Calls typed callback `f` with a record of at least TypedRecord<F>::min_size bytes:
/// `(lead..., const T&)` with the record's first sizeof(T) bytes, or `(lead..., const
/// Header&, tail)` with the header copied and the rest of the record as the tail.
template <class F, class... Lead>
inline void invoke_typed(F& f, std::span<const std::byte> rec, Lead... lead) {
    using R = TypedRecord<F>;
    static_assert(EventType<typename R::type>, "a typed event callback takes (const Event&) or (const Header&, "
                                               "std::span<const std::byte>) of a trivially copyable type");
    typename R::type ev;
    copy_record(ev, rec.data());
    if constexpr (R::header_tail) {
        f(lead..., static_cast<const typename R::type&>(ev), rec.subspan(sizeof ev));
    } else {
        f(lead..., static_cast<const typename R::type&>(ev));
    }
}

// ---- file descriptors ------------------------------------------------------------------
/// An eventfd that interrupts a blocked epoll_wait (stop(), a std::stop_token).
class WakeFd {
public:
    WakeFd() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (fd_ < 0) throw_errno(errno, "creating an eventfd for", "the event loop");
    }
    ~WakeFd() { close(fd_); }
    WakeFd(const WakeFd&) = delete;
    WakeFd& operator=(const WakeFd&) = delete;
    [[nodiscard]] int fd() const noexcept { return fd_; }
    void notify() const noexcept {
        pending_.store(true, std::memory_order_release);
        std::uint64_t one = 1;
        [[maybe_unused]] auto r = write(fd_, &one, sizeof one);
    }
    /// Makes the fd unreadable again; a read() only when a notify() happened, so the hot
    /// path (consume() from the user's own event loop) costs no syscall.
    void drain() const noexcept {
        if (!pending_.exchange(false, std::memory_order_acq_rel)) return;
        std::uint64_t v;
        [[maybe_unused]] auto r = read(fd_, &v, sizeof v);
    }

private:
    int fd_;
    mutable std::atomic<bool> pending_{false};
};

/// Owns an epoll instance.
class Epoll {
public:
    static constexpr std::uint64_t wake_tag = ~std::uint64_t{0};

    explicit Epoll(std::string_view owner) : fd_(epoll_create1(EPOLL_CLOEXEC)) {
        if (fd_ < 0) throw_errno(errno, "creating the epoll instance of", owner);
    }
    ~Epoll() { close(fd_); }
    Epoll(const Epoll&) = delete;
    Epoll& operator=(const Epoll&) = delete;
    [[nodiscard]] int fd() const noexcept { return fd_; }

    void add(int fd, std::uint64_t tag, std::string_view owner) const;

private:
    int fd_;
};

// ---- background loop ------------------------------------------------------------------
class LoopControl;

/// One thread at a time reads a buffer's rings (their positions are plain members, and
/// two readers would hand the same record out twice or skip some): poll(), consume() and
/// the iterator hold a ReadScope for as long as they read. Empty when the calling thread
/// already reads (a callback calling consume()) or is the background loop.
class ReadScope {
public:
    ReadScope() = default;
    explicit ReadScope(std::atomic<std::thread::id>* reader) noexcept : reader_(reader) {}
    ReadScope(ReadScope&& o) noexcept : reader_(std::exchange(o.reader_, nullptr)) {}
    ReadScope& operator=(ReadScope&&) = delete;
    ~ReadScope() {
        if (reader_ != nullptr) reader_->store(std::thread::id{}, std::memory_order_release);
    }
    /// False for a nested call on the thread that already reads.
    [[nodiscard]] bool owns() const noexcept { return reader_ != nullptr; }

private:
    std::atomic<std::thread::id>* reader_ = nullptr;
};

/// The start()/stop() machinery: a thread that calls `poll_once` until stopped or until
/// a callback throws. The exception ends the loop and is rethrown by the next stop()
/// (or start()); the destructor stops the loop and logs an exception nobody collected.
///
/// start(), stop() and shutdown() serialize on one mutex, and the stop request is made
/// under it, so a start() on another thread cannot clear a stop() that is about to join.
/// The loop thread's id is forgotten when the loop ends: the C library hands a joined
/// thread's id to the next thread it creates, which must not pass for the loop.
class LoopControl {
public:
    LoopControl() = default;
    LoopControl(const LoopControl&) = delete;
    LoopControl& operator=(const LoopControl&) = delete;
    ~LoopControl() = default;

    /// Set by stop(); the drain loops read it after every record.
    [[nodiscard]] const std::atomic<bool>& stop_flag() const noexcept { return stop_; }
    [[nodiscard]] bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }
    void clear_stop() noexcept { stop_.store(false, std::memory_order_relaxed); }
    [[nodiscard]] bool running() const noexcept { return running_.load(std::memory_order_acquire); }
    /// The calling thread is the buffer's reader now (poll(), consume(), a range, a view).
    [[nodiscard]] bool read_by_this_thread() const noexcept {
        return reader_.load(std::memory_order_acquire) == std::this_thread::get_id();
    }
    [[nodiscard]] bool on_loop_thread() const noexcept {
        return loop_id_.load(std::memory_order_acquire) == std::this_thread::get_id();
    }

    /// Makes the calling thread the buffer's reader for the scope's lifetime. `what` and
    /// `kind` ("polling", "ring buffer") and `owner` name the call in the EBUSY error
    /// thrown when the background loop runs or another thread reads (built only then:
    /// poll() and consume() are hot paths).
    [[nodiscard]] ReadScope enter(std::string_view what, std::string_view kind, std::string_view owner) {
        const auto self = std::this_thread::get_id();
        if (loop_id_.load(std::memory_order_acquire) == self) return {};  // on_loop_thread()
        auto holder = std::thread::id{};
        if (!reader_.compare_exchange_strong(holder, self, std::memory_order_acq_rel)) [[unlikely]] {
            if (holder == self) return {};  // from a callback of this thread's poll()
            refuse_reader(what, kind, owner);
        }
        ReadScope scope(&reader_);
        // Paired with start(): it marks the loop running, then looks for a reader.
        if (running_.load(std::memory_order_seq_cst)) [[unlikely]] refuse_running(what, kind, owner);
        return scope;
    }

    template <class PollOnce>
    void start(std::string_view owner, PollOnce poll_once) {
        if (on_loop_thread())
            throw Error(EBUSY, describe("starting the poll loop of", owner, "it is already running"));
        std::lock_guard lock(mutex_);
        if (running()) throw Error(EBUSY, describe("starting the poll loop of", owner, "it is already running"));
        if (thread_.joinable()) thread_.join();
        rethrow_pending();
        running_.store(true, std::memory_order_seq_cst);
        if (reader_.load(std::memory_order_seq_cst) != std::thread::id{}) {
            running_.store(false, std::memory_order_release);
            throw Error(EBUSY, describe("starting the poll loop of", owner,
                                        "another thread is polling it; start() when that poll() returned"));
        }
        stop_.store(false, std::memory_order_relaxed);
        try {
            thread_ = std::thread([this, poll_once]() mutable {
                loop_id_.store(std::this_thread::get_id(), std::memory_order_release);
                try {
                    while (!stop_.load(std::memory_order_relaxed)) poll_once();
                } catch (...) {
                    std::lock_guard err_lock(error_mutex_);
                    error_ = std::current_exception();
                }
                loop_id_.store(std::thread::id{}, std::memory_order_release);
                running_.store(false, std::memory_order_release);
            });
        } catch (const std::system_error& e) {
            running_.store(false, std::memory_order_release);
            throw Error(e.code().value(), describe("starting the poll loop of", owner, e.what()));
        }
    }

    /// Requests the stop, wakes the loop and, unless called from the loop itself,
    /// joins it; then rethrows an exception a callback threw.
    void stop(const WakeFd& wake);

    /// stop() for destructors: never throws, logs an uncollected callback exception.
    void shutdown(const WakeFd& wake, std::string_view owner) noexcept;

private:
    void request_stop(const WakeFd& wake) noexcept {
        stop_.store(true, std::memory_order_relaxed);
        wake.notify();
    }

    void rethrow_pending();
    // enter()'s EBUSY errors, out of line: enter() runs once per poll(), range and view,
    // where the messages' code would only spread the hot path over more cache lines.
    [[noreturn, gnu::cold, gnu::noinline]] static void refuse_reader(std::string_view what, std::string_view kind,
                                                                     std::string_view owner) {
        throw Error(EBUSY, describe(std::string(what) + " " + std::string(kind), owner,
                                    "another thread is reading it; read a buffer from one thread "
                                    "at a time (or give each thread its own buffer)"));
    }
    [[noreturn, gnu::cold, gnu::noinline]] static void refuse_running(std::string_view what, std::string_view kind,
                                                                      std::string_view owner) {
        throw Error(EBUSY, describe(std::string(what) + " " + std::string(kind), owner,
                                    "the background loop is running; stop() it first"));
    }

    std::atomic<bool> stop_{false};
    std::atomic<bool> running_{false};
    std::atomic<std::thread::id> loop_id_{};  // the loop thread while it runs, else none
    std::atomic<std::thread::id> reader_{};   // the thread in poll()/consume()/an iteration
    std::mutex mutex_;  // thread_: start/stop/shutdown
    std::mutex error_mutex_;
    std::exception_ptr error_;
    std::thread thread_;
};

/// Module::close() of an event buffer: ends its background loop and every events() range
/// in progress; the Module frees the buffer afterwards. Returns what a callback threw, for
/// close() to rethrow.
LIBBPFCPP_INLINE std::exception_ptr prepare_close(LoopControl& loop, Iterations& iterations, const WakeFd& wake,
                                        const std::string& owner);

}  // namespace detail
}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void detail::ShortRecords::report(std::string_view buffer, std::size_t got, std::size_t want,
                                                   RecordShape shape) noexcept {
    if (count_.fetch_add(1, std::memory_order_relaxed) != 0) return;
    try {
        const std::string what = shape == RecordShape::HeaderTail ? "-byte header type of the callback"
                                                                   : "-byte event type";
        const std::string advice =
            shape == RecordShape::HeaderTail
                ? "make the C++ header struct match the fixed part the BPF program submits"
                : "if the BPF program submits records of varying length (a fixed header and only the "
                  "used part of a variable tail), take (const Header&, std::span<const std::byte> tail) "
                  "in the callback; otherwise make the C++ struct match the one the BPF program submits";
        log_warning("libbpfcpp: buffer '" + std::string(buffer) + "': a " + std::to_string(got) +
                    "-byte record is shorter than the " + std::to_string(want) + what + ", so it was skipped; " +
                    advice + " (further short records are only counted, see short_records())\n");
    } catch (...) {  // logging must not break the poll loop
    }
}

LIBBPFCPP_INLINE void detail::Epoll::add(int fd, std::uint64_t tag, std::string_view owner) const {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno(errno, "adding a descriptor to the epoll set of", owner);
}

LIBBPFCPP_INLINE void detail::LoopControl::stop(const WakeFd& wake) {
    if (on_loop_thread()) {  // the loop ends when this callback returns
        request_stop(wake);
        return;
    }
    std::lock_guard lock(mutex_);
    request_stop(wake);
    if (thread_.joinable()) thread_.join();
    rethrow_pending();
}

LIBBPFCPP_INLINE void detail::LoopControl::shutdown(const WakeFd& wake, std::string_view owner) noexcept {
    if (on_loop_thread()) {
        // The callback would return into a destroyed buffer: fail loudly instead.
        log_warning("libbpfcpp: '" + std::string(owner) +
                    "' was destroyed by its own callback; call stop() there and destroy it "
                    "from another thread\n");
        std::abort();
    }
    std::lock_guard lock(mutex_);
    request_stop(wake);
    if (thread_.joinable()) thread_.join();
    std::lock_guard err_lock(error_mutex_);
    if (error_) {
        try {
            std::rethrow_exception(std::exchange(error_, nullptr));
        } catch (const std::exception& e) {
            log_warning("libbpfcpp: '" + std::string(owner) + "': a callback threw, the poll loop ended: " +
                        e.what() + "\n");
        } catch (...) {
            log_warning("libbpfcpp: '" + std::string(owner) + "': a callback threw, the poll loop ended\n");
        }
    }
}

LIBBPFCPP_INLINE void detail::LoopControl::rethrow_pending() {
    std::exception_ptr e;
    {
        std::lock_guard err_lock(error_mutex_);
        e = std::exchange(error_, nullptr);
    }
    if (e) std::rethrow_exception(e);
}

LIBBPFCPP_INLINE std::exception_ptr detail::prepare_close(LoopControl& loop, Iterations& iterations,
                                                          const WakeFd& wake, const std::string& owner) {
    if (loop.on_loop_thread())
        throw Error(EDEADLK, describe("closing", owner,
                                      "called from its own callback; call stop() there and close "
                                      "it from another thread"));
    if (loop.read_by_this_thread())  // waiting for its own loop to end would never return
        throw Error(EBUSY, describe("closing", owner,
                                    "this thread is still reading it (in a loop over its events(), a view "
                                    "or a callback of its poll() or consume()); close it after that ended, "
                                    "or from another thread"));
    iterations.refuse_new();
    std::exception_ptr error;
    try {
        loop.stop(wake);
    } catch (...) {
        error = std::current_exception();
    }
    iterations.wait_idle([&] {
        try {
            loop.stop(wake);
        } catch (...) {  // the first stop() above already took what a callback threw
        }
    });
    return error;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
