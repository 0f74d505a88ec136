// The events() iterations in progress over one event buffer, so that closing the buffer
// early (Module::close) can end them and wait until none refers to it any more.
#pragma once

#include <algorithm>
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
        std::lock_guard lock(mutex_);
        if (closing_)
            throw Error(EBADF, describe("iterating over", owner, "the buffer is being closed"));
        threads_.push_back(std::this_thread::get_id());
    }

    /// A range of events() is destroyed.
    void end() noexcept {
        std::lock_guard lock(mutex_);
        auto it = std::find(threads_.begin(), threads_.end(), std::this_thread::get_id());
        if (it == threads_.end()) it = threads_.begin();
        if (it != threads_.end()) threads_.erase(it);
        if (threads_.empty()) idle_.notify_all();
    }

    /// Refuses new ranges. Throws (and refuses nothing) when this thread holds a range:
    /// waiting for it would never end.
    void refuse_new(std::string_view owner) {
        std::lock_guard lock(mutex_);
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
        std::unique_lock lock(mutex_);
        while (!idle_.wait_for(lock, std::chrono::milliseconds(50), [&] { return threads_.empty(); })) {
            lock.unlock();
            nudge();
            lock.lock();
        }
    }

private:
    std::mutex mutex_;
    std::condition_variable idle_;
    std::vector<std::thread::id> threads_;  // where each live range was created
    bool closing_ = false;
};

}  // namespace bpf::detail
