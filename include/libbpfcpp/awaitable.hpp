// bpf::Readiness: a C++20 awaitable for "this buffer has records", for any coroutine framework.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

#include <sys/epoll.h>
#include <unistd.h>

#include "detail/event_common.hpp"
#include "error.hpp"
#include "event_loop.hpp"
#include "perf_buffer.hpp"
#include "ring_buffer.hpp"

namespace bpf {

/// Readiness of an event buffer (or an EventLoop) as something a coroutine can
/// `co_await`, without asio: the awaiting coroutine is resumed when records are there,
/// or when its std::stop_token asks to stop. After a ready, read with consume() or
/// consume_n() (an EventLoop: consume()), which read the rings whether or not their fd
/// still reports readiness (looking at a perf fd uses up its report).
///
/// ```cpp
/// bpf::Readiness ready(rb);
/// while (co_await ready.wait(token)) rb.consume_n(256);   // false: stop requested
/// ```
///
/// A coroutine that must wait is resumed on this object's thread (made on the first wait
/// that suspends, one per Readiness); a framework with its own scheduler moves back to it
/// after the co_await (e.g. `co_await scheduler.schedule()`). When records are already
/// there the coroutine does not suspend. One coroutine awaits at a time. Destroying the
/// Readiness resumes a coroutine that still waits with false, on that thread, and joins it
/// (so not from a coroutine it resumed). The buffer must outlive the Readiness.
class Readiness {
public:
    /// Readiness of a ring buffer (its epoll set).
    explicit Readiness(const RingBuffer& b) : Readiness(b.epoll_fd()) {}
    /// Readiness of a perf buffer (its epoll set).
    explicit Readiness(const PerfBuffer& b) : Readiness(b.epoll_fd()) {}
    /// Readiness of any buffer of an EventLoop.
    explicit Readiness(const EventLoop& l) : Readiness(l.fd()) {}
    Readiness(const Readiness&) = delete;
    Readiness& operator=(const Readiness&) = delete;
    ~Readiness() {
        {
            std::lock_guard lock(mutex_);
            shutdown_ = true;
        }
        cv_.notify_one();
        wake_.notify();
        if (thread_.joinable()) thread_.join();
    }

    /// What wait() returns; `co_await` it for a bool.
    class Awaiter {
    public:
        /// An await on `r` that `token` can end early.
        Awaiter(Readiness& r, std::stop_token token) : r_(&r), token_(std::move(token)) {}
        Awaiter(const Awaiter&) = delete;
        Awaiter& operator=(const Awaiter&) = delete;

        /// True (no suspension) when records are there or a stop was requested.
        bool await_ready() {
            if (token_.stop_requested()) return true;
            // epoll_wait, not poll(): it puts the buffer's level-triggered entries back on
            // its ready list, so a record the kernel did not signal (one committed while
            // the last read was publishing its position) is seen by the next look.
            epoll_event ev;
            ready_ = epoll_wait(r_->fd_, &ev, 1, 0) > 0;
            return ready_;
        }
        /// Hands the coroutine to the Readiness's thread, which resumes it on readiness or stop.
        void await_suspend(std::coroutine_handle<> h) {
            // Before the hand-over: once the thread has it, it may resume at any moment.
            on_stop_.emplace(token_, Notify{r_});
            r_->park(h, this);
        }
        /// True when records are ready, false when the token (or the Readiness's end) stopped the wait.
        bool await_resume() {
            on_stop_.reset();
            return ready_ && !token_.stop_requested();
        }

    private:
        friend class Readiness;
        struct Notify {
            Readiness* r;
            void operator()() const noexcept { r->wake_.notify(); }
        };
        Readiness* r_;
        std::stop_token token_;
        std::optional<std::stop_callback<Notify>> on_stop_;
        bool ready_ = false;
    };

    /// An awaitable for the next readiness, or a stop request on `token`.
    [[nodiscard]] Awaiter wait(std::stop_token token = {}) { return Awaiter(*this, std::move(token)); }

private:
    void park(std::coroutine_handle<> h, Awaiter* a) {
        {
            std::lock_guard lock(mutex_);
            if (parked_) throw Error(EBUSY, detail::describe("waiting on", "a Readiness", "another coroutine waits on it"));
            parked_ = h;
            awaiter_ = a;
            if (!thread_.joinable()) thread_ = std::thread([this] { watch(); });
        }
        cv_.notify_one();
    }

    // The thread: waits for a parked coroutine, then for its readiness or stop, resumes it.
    void watch() {
        for (;;) {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return parked_ || shutdown_; });
            if (!parked_) return;
            Awaiter* a = awaiter_;
            lock.unlock();
            bool ready = false;
            for (;;) {
                epoll_event evs[2];
                const int n = epoll_wait(epoll_.fd(), evs, 2, -1);
                if (n < 0 && errno != EINTR) break;  // not expected with our own epoll set; the waiter sees false
                for (int i = 0; i < n; ++i) {
                    if (evs[i].data.u64 == detail::Epoll::wake_tag) {
                        wake_.drain();
                    } else {
                        ready = true;
                    }
                }
                lock.lock();
                const bool stop = shutdown_ || a->token_.stop_requested();
                lock.unlock();
                if (ready || stop) break;
            }
            a->ready_ = ready;
            lock.lock();
            auto h = std::exchange(parked_, nullptr);
            awaiter_ = nullptr;
            lock.unlock();
            h.resume();
        }
    }

    explicit Readiness(int epoll_fd) : fd_(epoll_fd) {
        epoll_.add(epoll_fd, 0, "a Readiness");
        epoll_.add(wake_.fd(), detail::Epoll::wake_tag, "a Readiness");
    }

    int fd_;  // the buffer's (or loop's) epoll set
    detail::Epoll epoll_{"a Readiness"};
    detail::WakeFd wake_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::coroutine_handle<> parked_;  // under mutex_
    Awaiter* awaiter_ = nullptr;      // under mutex_
    bool shutdown_ = false;           // under mutex_
    std::thread thread_;
};

}  // namespace bpf
