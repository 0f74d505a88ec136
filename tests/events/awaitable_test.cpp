// Kernel integration: bpf::Readiness, the framework-free awaitable, resumes a coroutine
// when a ring buffer, perf buffer or EventLoop has records, and when its stop_token stops.
#include <catch2/catch.hpp>

#include <libbpfcpp/awaitable.hpp>
#include <libbpfcpp/libbpfcpp.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <exception>
#include <future>
#include <stop_token>
#include <thread>

#include "harness.hpp"
#include "stream_util.hpp"

using namespace std::chrono_literals;
using events_test::produce;

namespace {

// The smallest coroutine type: runs at once, frees itself at the end, and reports the
// thread it ended on through a promise.
struct Task {
    struct promise_type {
        Task get_return_object() { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() { std::terminate(); }
    };
};

template <class Buffer>
Task serve(bpf::Readiness& ready, Buffer& b, std::stop_token token, int want, std::promise<int>& done,
           std::atomic<std::thread::id>& resumed_on) {
    int n = 0;
    while (n < want) {
        // Not `n < want && co_await ...`: GCC 12 evaluates a co_await in a short-circuit
        // operand even when the left side is false.
        if (!co_await ready.wait(token)) break;
        resumed_on = std::this_thread::get_id();
        n += b.consume();
    }
    done.set_value(n);
}

}  // namespace

TEST_CASE("awaitable: a ring buffer's records resume the coroutine on the Readiness's thread") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events", [](const stream_event&) {});
    bpf::Readiness ready(rb);
    std::promise<int> done;
    auto result = done.get_future();
    std::atomic<std::thread::id> resumed_on{};

    produce(mod, 5, TARGET_RING);  // there before the first wait: no suspension
    serve(ready, rb, {}, 25, done, resumed_on);
    CHECK(resumed_on.load() == std::this_thread::get_id());
    CHECK(result.wait_for(20ms) == std::future_status::timeout);
    produce(mod, 20, TARGET_RING);
    REQUIRE(result.wait_for(testing::scaled(5s)) == std::future_status::ready);
    CHECK(result.get() == 25);
    CHECK(resumed_on.load() != std::this_thread::get_id());
}

TEST_CASE("awaitable: a stop_token ends the wait of a perf buffer from another thread") {
    auto mod = events_test::open_stream();
    auto& pb = mod.perf_buffer("perf_events", [](const stream_event&) {});
    bpf::Readiness ready(pb);
    std::promise<int> done;
    auto result = done.get_future();
    std::atomic<std::thread::id> resumed_on{};
    std::stop_source stop;
    serve(ready, pb, stop.get_token(), 1000, done, resumed_on);
    produce(mod, 3, TARGET_PERF);
    REQUIRE(testing::wait_until([&] { return resumed_on.load() != std::thread::id{}; }));
    std::thread([&] { stop.request_stop(); }).join();
    REQUIRE(result.wait_for(testing::scaled(5s)) == std::future_status::ready);
    CHECK(result.get() == 3);
}

TEST_CASE("awaitable: an EventLoop's readiness, and a Readiness destroyed while a coroutine waits") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events", [](const stream_event&) {});
    bpf::EventLoop loop;
    loop.add(rb);
    std::promise<int> done;
    auto result = done.get_future();
    std::atomic<std::thread::id> resumed_on{};
    {
        bpf::Readiness ready(loop);
        serve(ready, loop, {}, 1000, done, resumed_on);
        produce(mod, 7, TARGET_RING);
        REQUIRE(testing::wait_until([&] { return resumed_on.load() != std::thread::id{}; }));
    }  // the coroutine waits again: it is resumed with false
    REQUIRE(result.wait_for(0s) == std::future_status::ready);
    CHECK(result.get() == 7);
}
