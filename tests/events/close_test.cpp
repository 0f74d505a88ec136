// Kernel integration: Module::close() frees an event buffer early (libbpfgo's Close),
// with its background loop running, with an events() loop in progress on another
// thread, and refuses where freeing would pull the buffer from under its caller.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>

#include "harness.hpp"
#include "stream_util.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using events_test::produce;

TEST_CASE("close: a ring buffer with its loop running is freed; the module and its map live on") {
    auto mod = events_test::open_stream();
    std::atomic<int> first{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { ++first; });
    rb.start();
    produce(mod, 10, TARGET_RING);
    REQUIRE(testing::wait_until([&] { return first.load() == 10; }));
    mod.close(rb);
    produce(mod, 5, TARGET_RING);
    std::this_thread::sleep_for(20ms);
    CHECK(first.load() == 10);  // nothing reads for the closed buffer

    // The map is the module's: a new consumer gets the records written since.
    int second = 0;
    auto& again = mod.ring_buffer("events", [&](const stream_event& e) {
        CHECK(events_test::intact(e, static_cast<std::uint32_t>(10 + second)));
        ++second;
    });
    CHECK(again.poll(1000ms) == 5);
    CHECK(second == 5);

    // A buffer of another module is not this one's to close.
    auto other = events_test::open_stream();
    auto& theirs = other.ring_buffer("events", [](std::span<const std::byte>) {});
    CHECK_THROWS_WITH(mod.close(theirs), Contains("this module does not own it"));
    CHECK_NOTHROW(other.close(theirs));
}

TEST_CASE("close: an events() loop in progress on another thread ends, and close() waits for it") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    std::atomic<int> seen{0};
    std::atomic<bool> loop_done{false};
    std::thread reader([&] {
        for (const stream_event& e : rb.events<stream_event>()) {
            if (events_test::intact(e, static_cast<std::uint32_t>(seen.load()))) ++seen;
        }
        loop_done = true;
    });
    produce(mod, 3, TARGET_RING);
    REQUIRE(testing::wait_until([&] { return seen.load() == 3; }));
    mod.close(rb);  // the reader is blocked waiting for a 4th event
    reader.join();
    CHECK(loop_done.load());
    CHECK(seen.load() == 3);
}

TEST_CASE("close: refused from inside the buffer's own events() loop and from its callback") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    produce(mod, 2, TARGET_RING);
    bool refused = false;
    for (const stream_event& e : rb.events<stream_event>()) {
        (void)e;
        try {
            mod.close(rb);
        } catch (const bpf::Error& err) {
            refused = err.error_number() == EBUSY &&
                      std::string(err.what()).find("this thread is still reading it (in a loop over its events()") != std::string::npos;
        }
        rb.stop();
    }
    CHECK(refused);
    CHECK_NOTHROW(mod.close(rb));  // after the loop, from the same thread

    std::atomic<int> from_callback{0};
    bpf::PerfBuffer* self = nullptr;
    auto& pb = mod.perf_buffer("perf_events", [&](int, std::span<const std::byte>) {
        try {
            mod.close(*self);
        } catch (const bpf::Error& err) {
            if (err.error_number() == EDEADLK) from_callback = 1;
        }
    });
    self = &pb;
    pb.start();
    produce(mod, 1, TARGET_PERF);
    REQUIRE(testing::wait_until([&] { return from_callback.load() == 1; }));
    CHECK(pb.running());  // still alive and running
    mod.close(pb);
}

TEST_CASE("close: a perf buffer whose callback threw is freed, and close() rethrows the exception") {
    auto mod = events_test::open_stream();
    std::atomic<int> calls{0};
    auto& pb = mod.perf_buffer("perf_events", [&](int, const stream_event&) {
        ++calls;
        throw std::runtime_error("callback failed");
    });
    pb.start();
    produce(mod, 1, TARGET_PERF);
    REQUIRE(testing::wait_until([&] { return calls.load() == 1 && !pb.running(); }));
    CHECK_THROWS_WITH(mod.close(pb), "callback failed");
    CHECK_THROWS_WITH(mod.close(pb), Contains("this module does not own it"));  // freed all the same
}

TEST_CASE("close: refused from a callback of the caller's own poll(), and from inside a view") {
    // The callback runs inside poll() on this thread: freeing the buffer there would pull
    // it from under the poll() that called the callback.
    auto mod = events_test::open_stream();
    bpf::RingBuffer* self = nullptr;
    int refused = 0, calls = 0;
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) {
        ++calls;
        try {
            mod.close(*self);
        } catch (const bpf::Error& err) {
            if (err.error_number() == EBUSY && std::string(err.what()).find("this thread is still reading it") != std::string::npos)
                ++refused;
        }
    });
    self = &rb;
    produce(mod, 2, TARGET_RING);
    CHECK(rb.poll(1000ms) == 2);
    CHECK(calls == 2);
    CHECK(refused == 2);
    produce(mod, 1, TARGET_RING);  // still alive and readable
    CHECK(rb.poll(1000ms) == 1);

    auto& rb2 = mod.ring_buffer("events2");
    produce(mod, 1, TARGET_RING2);
    {
        auto view = rb2.view<stream_event>();
        REQUIRE(view.size() == 1);
        CHECK_THROWS_WITH(mod.close(rb2), Contains("this thread is still reading it"));
        CHECK(view[0].seq == 3);
    }
    CHECK_NOTHROW(mod.close(rb2));
    CHECK_NOTHROW(mod.close(rb));  // after the poll, from the same thread
}
