// The events() iterations in progress over one event buffer, so that closing the buffer
// early (Module::close) can end them and wait until none refers to it any more.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../error.hpp"

namespace bpf::detail {

class Iterations {
public:
    /// A range of events() is created (on this thread); refused once the buffer closes.
    void begin(std::string_view owner) {
        Locked lock(*this);
        if (closing_)
            throw Error(EBADF, describe("iterating over", owner, "the buffer is being closed"));
        threads_.push_back(std::this_thread::get_id());
    }
    /// A range of events() is destroyed.
    void end() noexcept {
        bool wake = false;
        {
            Locked lock(*this);
            auto it = std::find(threads_.begin(), threads_.end(), std::this_thread::get_id());
            if (it == threads_.end()) it = threads_.begin();
            if (it != threads_.end()) threads_.erase(it);
            wake = threads_.empty() && closing_;
        }
        if (wake) {  // only a closing buffer has a waiter
            std::lock_guard lock(wait_mutex_);
            idle_.notify_all();
        }
    }
    /// Refuses new ranges. Throws (and refuses nothing) when this thread holds a range:
    /// waiting for it would never end.
    void refuse_new(std::string_view owner) {
        Locked lock(*this);
        if (std::find(threads_.begin(), threads_.end(), std::this_thread::get_id()) != threads_.end())
            throw Error(EBUSY, describe("closing", owner,
                                        "this thread is still in a loop over its events(); close it after "
                                        "that loop (and its range) ended, or from another thread"));
        closing_ = true;
    }
    /// Waits until every range is gone (the caller has asked them to stop). `nudge` asks
    /// again every 50 ms, in case another thread cleared the request meanwhile (a poll()
    /// or events() call that starts while the buffer closes).
    template <class Nudge>
    void wait_idle(Nudge nudge) {
        std::unique_lock lock(wait_mutex_);
        while (!idle_.wait_for(lock, std::chrono::milliseconds(50), [&] { return idle(); })) {
            lock.unlock();
            nudge();
            lock.lock();
        }
    }

private:
    // begin() and end() run once per events() range or view, often on caches the drain
    // before has filled: a flag taken with one exchange costs a drain of a few records
    // about a microsecond less than std::mutex and a condition variable notified every time
    // (their code is out of line, in the C and C++ runtimes). Held for a few instructions;
    // contended only while the buffer closes.
    class Locked {
    public:
        explicit Locked(Iterations& it) noexcept : flag_(it.locked_) {
            while (flag_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
        }
        Locked(const Locked&) = delete;
        Locked& operator=(const Locked&) = delete;
        ~Locked() { flag_.store(false, std::memory_order_release); }

    private:
        std::atomic<bool>& flag_;
    };
    bool idle() noexcept {
        Locked lock(*this);
        return threads_.empty();
    }

    std::atomic<bool> locked_{false};     // guards threads_ and closing_
    std::vector<std::thread::id> threads_;  // where each live range was created
    bool closing_ = false;
    std::mutex wait_mutex_;  // wait_idle()'s, and end()'s when it wakes it
    std::condition_variable idle_;
};

}  // namespace bpf::detail
