// bpf::EventLoop: one thread serving several RingBuffers and PerfBuffers.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
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
/// The buffers must outlive their time in the loop (the Module owns them) and must not
/// run their own start() loop meanwhile. A callback's exception leaves poll()/run();
/// calling them again continues where it stopped. One thread at a time polls a loop
/// (poll() or run()); a callback must not poll its own loop.
///
/// add() and remove() may be called at any time, from any thread:
/// - from a callback (on the polling thread): the change applies at once; a buffer added
///   is served from the next wake-up on (possibly within the walk under way), a buffer
///   removed gets no further callback, not even for records it already holds;
/// - from another thread: the call waits until the callbacks running at that moment have
///   returned (the loop delivers records holding a lock), then applies the change, so once
///   remove() returns the loop no longer touches the buffer and it may be destroyed. A
///   callback therefore must not wait for a thread that is inside add() or remove().
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

    /// Stops serving `rb`; false when the loop did not serve it.
    bool remove(RingBuffer& rb) { return remove_entry(&rb); }
    /// Stops serving `pb`; false when the loop did not serve it.
    bool remove(PerfBuffer& pb) { return remove_entry(&pb); }

    /// Waits up to `timeout` (negative: forever) and delivers the records of every ready
    /// buffer; returns how many. stop() or an empty timeout returns 0.
    int poll(std::chrono::milliseconds timeout) { return poll_ms(detail::to_timeout_ms(timeout)); }

    /// Polls until stop() or `token` asks to stop. A stop() is consumed by the run() it
    /// ends; one that came while no run() was going ends the next run() at once (so a
    /// thread that stops a loop it has just launched cannot be overtaken by it).
    void run(std::stop_token token = {}) {
        std::stop_callback on_stop(token, [this] { wake_.notify(); });
        running_.store(true, std::memory_order_release);
        struct Ran {
            std::atomic<bool>& running;
            ~Ran() { running.store(false, std::memory_order_release); }
        } ran{running_};
        // The timeout is taken anew each round: a perf buffer added meanwhile (which wakes
        // the loop) needs the flush interval.
        while (!stop_.exchange(false, std::memory_order_acq_rel) && !token.stop_requested())
            poll_ms(has_perf_.load(std::memory_order_acquire) ? flush_ms_ : -1);
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
    [[nodiscard]] std::size_t size() const {
        Access a(*this);
        std::size_t n = 0;
        for (const Entry& e : entries_) n += e.buffer != nullptr;
        return n;
    }

private:
    struct Entry {
        std::uint64_t id;  // the epoll tag: stays valid while other entries come and go
        void* buffer;      // nullptr: removed during a walk, dropped when the walk ends
        int fd;
        int (*consume)(void*);
        bool perf;
    };

    template <class B>
    static int consume_as(void* b) {
        return static_cast<B*>(b)->consume();
    }

    // The loop this thread is delivering records of (its lock held), if any: add() and
    // remove() from a callback find the lock already theirs.
    static inline thread_local const EventLoop* delivering_ = nullptr;

    // Holds the lock of `loop` unless this thread already does (it is in a callback).
    class Access {
    public:
        explicit Access(const EventLoop& loop) : lock_(loop.mu_, std::defer_lock) {
            if (delivering_ != &loop) lock_.lock();
        }

    private:
        std::unique_lock<std::mutex> lock_;
    };

    // Delivers with the lock held; drops the entries removed meanwhile when it ends, also
    // by a callback's exception.
    class Delivery {
    public:
        explicit Delivery(EventLoop& loop) : loop_(loop), lock_(loop.mu_), outer_(delivering_) {
            delivering_ = &loop;
        }
        Delivery(const Delivery&) = delete;
        Delivery& operator=(const Delivery&) = delete;
        ~Delivery() {
            delivering_ = outer_;
            std::erase_if(loop_.entries_, [](const Entry& e) { return e.buffer == nullptr; });
        }

    private:
        EventLoop& loop_;
        std::lock_guard<std::mutex> lock_;
        const EventLoop* outer_;
    };

    EventLoop& add_entry(void* b, int fd, int (*consume)(void*), bool perf) {
        Access a(*this);
        const std::uint64_t id = next_id_++;
        entries_.reserve(entries_.size() + 1);  // before epoll: a failure leaves nothing behind
        epoll_.add(fd, id, "event loop");
        entries_.push_back({id, b, fd, consume, perf});
        // A run() waiting without a timeout must take the flush interval now; a loop in the
        // user's own epoll is not woken for nothing.
        if (perf && !has_perf_.exchange(true, std::memory_order_acq_rel) && running_.load(std::memory_order_acquire))
            wake_.notify();
        return *this;
    }

    bool remove_entry(void* b) {
        Access a(*this);
        for (Entry& e : entries_) {
            if (e.buffer != b) continue;
            epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, e.fd, nullptr);
            e.buffer = nullptr;
            if (delivering_ != this)  // else the walk under way drops it when it ends
                std::erase_if(entries_, [](const Entry& x) { return x.buffer == nullptr; });
            bool perf = false;
            for (const Entry& x : entries_) perf = perf || (x.buffer != nullptr && x.perf);
            has_perf_.store(perf, std::memory_order_release);
            return true;
        }
        return false;
    }

    // Each buffer once. By index, with the entry copied before its callbacks run: they may
    // add (and so reallocate) or remove entries.
    int consume_all() {
        int n = 0;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const Entry e = entries_[i];
            if (e.buffer != nullptr) n += e.consume(e.buffer);
        }
        return n;
    }

    int consume_tag(std::uint64_t id) {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const Entry e = entries_[i];
            if (e.id == id) return e.buffer != nullptr ? e.consume(e.buffer) : 0;
        }
        return 0;  // removed after epoll_wait() reported it
    }

    int poll_ms(int timeout_ms) {
        if (delivering_ == this)
            throw Error(EDEADLK, detail::describe("polling", "event loop",
                                                  "called from one of its own callbacks; return from the "
                                                  "callback and let the loop go on"));
        if (resume_) {
            // The last call ended in a callback's exception: records may be left in
            // buffers whose fd will not report them again until the next wake-up.
            int n = 0;
            {
                Delivery d(*this);  // an exception leaves resume_ set: the walk is made again
                n = consume_all();
            }
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
            Delivery d(*this);
            if (n == 0 && has_perf_.load(std::memory_order_relaxed)) total += consume_all();  // flush batched perf records
            for (int i = 0; i < n; ++i) {
                if (evs[i].data.u64 == detail::Epoll::wake_tag) {
                    wake_.drain();
                    continue;
                }
                total += consume_tag(evs[i].data.u64);
            }
        } catch (...) {
            resume_ = true;
            throw;
        }
        return total;
    }

    detail::Epoll epoll_{"event loop"};
    detail::WakeFd wake_;
    mutable std::mutex mu_;        // entries_ and next_id_; held while delivering
    std::vector<Entry> entries_;
    std::uint64_t next_id_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<bool> has_perf_{false};
    std::atomic<bool> running_{false};  // inside run()
    bool resume_ = false;  // the polling thread's own
    int flush_ms_;
};

}  // namespace bpf
