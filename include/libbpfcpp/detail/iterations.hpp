// The events() ranges and views alive over one event buffer, so that closing the buffer
// early (Module::close) can end them and wait until none refers to it any more.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "../error.hpp"

namespace bpf::detail {

class Iterations {
public:
    /// A range or view is made; refused once the buffer closes.
    void begin(std::string_view owner) {
        count_.fetch_add(1, std::memory_order_seq_cst);
        if (closing_.load(std::memory_order_seq_cst)) [[unlikely]] {
            end();
            refused(owner);
        }
    }
    /// A range or view is destroyed.
    void end() noexcept {
        if (count_.fetch_sub(1, std::memory_order_seq_cst) == 1 && closing_.load(std::memory_order_seq_cst)) [[unlikely]]
            wake();
    }
    /// Refuses new ranges and views. (Module::close() refuses to close a buffer the calling
    /// thread reads, a range or view of it included, before this: see prepare_close().)
    void refuse_new() noexcept { closing_.store(true, std::memory_order_seq_cst); }
    /// Waits until every range and view is gone (the caller has asked them to stop).
    /// `nudge` asks again every 50 ms, in case another thread cleared the request
    /// meanwhile (a poll() or events() call that starts while the buffer closes).
    template <class Nudge>
    void wait_idle(Nudge nudge) {
        std::unique_lock lock(wait_mutex_);
        while (!idle_.wait_for(lock, std::chrono::milliseconds(50),
                               [&] { return count_.load(std::memory_order_seq_cst) == 0; })) {
            lock.unlock();
            nudge();
            lock.lock();
        }
    }

private:
    // begin() and end() run once per range or view, often on caches the drain before
    // filled: two atomic operations and no call. The counter and the flag are paired with
    // sequentially consistent operations, so a begin() either sees the buffer closing or
    // is counted before wait_idle() looks.
    [[noreturn, gnu::cold, gnu::noinline]] static void refused(std::string_view owner) {
        throw Error(EBADF, describe("iterating over", owner, "the buffer is being closed"));
    }
    [[gnu::cold, gnu::noinline]] void wake() noexcept {
        std::lock_guard lock(wait_mutex_);  // wait_idle() checks the count under it
        idle_.notify_all();
    }

    std::atomic<std::uint32_t> count_{0};
    std::atomic<bool> closing_{false};
    std::mutex wait_mutex_;
    std::condition_variable idle_;
};

}  // namespace bpf::detail
