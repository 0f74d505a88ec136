// The events() ranges and views alive over one event buffer, so that closing the buffer
// early (Module::close) can end them and wait until none refers to it any more.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "../error.hpp"

namespace bpf::detail {

class Iterations {
public:
    /// A range or view is made; refused once the buffer closes.
    [[gnu::always_inline]] void begin(const std::string& owner) {  // by reference: the name is read only for the error
        count_.fetch_add(1, std::memory_order_seq_cst);
        if (closing_.load(std::memory_order_seq_cst)) [[unlikely]] {
            end();
            refused(owner);
        }
    }
    /// A range or view is destroyed.
    [[gnu::always_inline]] void end() noexcept {
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
        std::unique_lock lock(wait_mutex());
        while (!idle().wait_for(lock, std::chrono::milliseconds(50),
                                [&] { return count_.load(std::memory_order_seq_cst) == 0; })) {
            lock.unlock();
            nudge();
            lock.lock();
        }
    }

private:
    // begin() and end() run once per range or view, often on caches the drain before
    // filled: two atomic operations and no call, on a line the buffer shares with the
    // rest of what a range reads first (see PerfBuffer's members). The counter and the
    // flag are paired with sequentially consistent operations, so a begin() either sees
    // the buffer closing or is counted before wait_idle() looks.
    [[noreturn, gnu::cold, gnu::noinline]] static void refused(const std::string& owner) {
        throw Error(EBADF, describe("iterating over", owner, "the buffer is being closed"));
    }
    [[gnu::cold, gnu::noinline]] static void wake() noexcept {
        std::lock_guard lock(wait_mutex());  // wait_idle() checks the count under it
        idle().notify_all();
    }
    // One mutex and condition variable for every buffer's close(): waiting is rare and a
    // waiter rechecks its own count, and they would take 88 bytes of each buffer's
    // hot cache line.
    static std::mutex& wait_mutex() noexcept {
        static std::mutex m;
        return m;
    }
    static std::condition_variable& idle() noexcept {
        static std::condition_variable cv;
        return cv;
    }

    std::atomic<std::uint32_t> count_{0};
    std::atomic<bool> closing_{false};
};

}  // namespace bpf::detail
