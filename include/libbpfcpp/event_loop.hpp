// bpf::EventLoop: one thread serving several RingBuffers and PerfBuffers.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stop_token>
#include <utility>
#include <vector>

#include <sys/epoll.h>

#include "detail/event_common.hpp"
#include "error.hpp"
#include "perf_buffer.hpp"
#include "ring_buffer.hpp"

namespace bpf {

/// Waits on several event buffers at once and runs their callbacks on the calling
/// thread. Its fd() can itself sit in the user's event loop (epoll, asio, libuv): when
/// it is readable, call poll(0ms).
///
/// ```cpp
/// bpf::EventLoop loop;
/// loop.add(mod.ring_buffer("events", on_event)).add(mod.perf_buffer("stats", on_stat));
/// std::jthread t([&](std::stop_token st) { loop.run(st); });   // or loop.poll(100ms)
/// ```
///
/// The buffers must outlive the loop (the Module owns them) and must not run their own
/// start() loop meanwhile. A callback's exception leaves poll()/run(); calling them again
/// continues where it stopped.
class EventLoop {
public:
    /// `flush_interval` bounds how long a record held by perf wake-up batching waits.
    explicit EventLoop(std::chrono::milliseconds flush_interval = std::chrono::milliseconds(100))
        : flush_ms_(detail::to_timeout_ms(flush_interval)) {
        epoll_.add(wake_.fd(), detail::Epoll::wake_tag, "event loop");
    }
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    ~EventLoop() = default;

    /// Serves `rb` from this loop.
    EventLoop& add(RingBuffer& rb) { return add_entry(&rb, rb.epoll_fd(), &consume_as<RingBuffer>, false); }
    /// Serves `pb` from this loop.
    EventLoop& add(PerfBuffer& pb) { return add_entry(&pb, pb.epoll_fd(), &consume_as<PerfBuffer>, true); }

    /// Waits up to `timeout` (negative: forever) and delivers the records of every ready
    /// buffer; returns how many. stop() or an empty timeout returns 0.
    int poll(std::chrono::milliseconds timeout) { return poll_ms(detail::to_timeout_ms(timeout)); }

    /// Polls until stop() or `token` asks to stop. A stop() is consumed by the run() it
    /// ends; one that came while no run() was going ends the next run() at once (so a
    /// thread that stops a loop it has just launched cannot be overtaken by it).
    void run(std::stop_token token = {}) {
        std::stop_callback on_stop(token, [this] { wake_.notify(); });
        const int timeout = has_perf_ ? flush_ms_ : -1;
        while (!stop_.exchange(false, std::memory_order_acq_rel) && !token.stop_requested()) poll_ms(timeout);
    }

    /// Makes run() return (from any thread, or from a callback) and interrupts a poll();
    /// see run() for a stop() made before it.
    void stop() noexcept {
        stop_.store(true, std::memory_order_relaxed);
        wake_.notify();
    }

    /// Delivers what every buffer holds, without waiting; returns how many. (An adaptor
    /// checking for records it may have missed the wake-up of: no syscall when empty.)
    int consume() { return consume_all(); }

    /// An fd readable when one of the buffers has records (or stop() was called).
    [[nodiscard]] int fd() const noexcept { return epoll_.fd(); }

    /// The number of buffers this loop serves.
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct Entry {
        void* buffer;
        int (*consume)(void*);
    };

    template <class B>
    static int consume_as(void* b) {
        return static_cast<B*>(b)->consume();
    }

    EventLoop& add_entry(void* b, int fd, int (*consume)(void*), bool perf) {
        epoll_.add(fd, entries_.size(), "event loop");
        entries_.push_back({b, consume});
        has_perf_ = has_perf_ || perf;
        return *this;
    }

    int consume_all() {
        int n = 0;
        for (auto& e : entries_) n += e.consume(e.buffer);
        return n;
    }

    int poll_ms(int timeout_ms) {
        if (resume_) {
            // The last call ended in a callback's exception: records may be left in
            // buffers whose fd will not report them again until the next wake-up.
            int n = consume_all();
            resume_ = false;
            if (n > 0) return n;
        }
        epoll_event evs[32];
        int n = epoll_wait(epoll_.fd(), evs, 32, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) return 0;
            detail::throw_errno(errno, "polling", "event loop");
        }
        int total = 0;
        try {
            if (n == 0 && has_perf_) total += consume_all();  // flush batched perf records
            for (int i = 0; i < n; ++i) {
                if (evs[i].data.u64 == detail::Epoll::wake_tag) {
                    wake_.drain();
                    continue;
                }
                const Entry& e = entries_[evs[i].data.u64];
                total += e.consume(e.buffer);
            }
        } catch (...) {
            resume_ = true;
            throw;
        }
        return total;
    }

    detail::Epoll epoll_{"event loop"};
    detail::WakeFd wake_;
    std::vector<Entry> entries_;
    std::atomic<bool> stop_{false};
    bool has_perf_ = false;
    bool resume_ = false;
    int flush_ms_;
};

}  // namespace bpf
