// Kernel integration: bpf::RingBuffer against a BPF producer of numbered events, through
// callbacks (bytes and typed), several rings, the iterator, the background loop, and a
// flooded tiny ring whose drops must equal what the producer failed to write.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "stream_util.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using events_test::intact;
using events_test::produce;

namespace {

bpf::Module tiny_ring() {
    return events_test::open_stream([](bpf::Module& m) { m.map("events").set_max_entries(4096); });
}

/// Checks that `seqs` is 0..n-1 in order and `events` are intact.
void check_sequence(const std::vector<stream_event>& events, std::uint32_t first, std::uint32_t n) {
    REQUIRE(events.size() == n);
    std::uint32_t bad = 0;
    for (std::uint32_t i = 0; i < n; ++i)
        if (!intact(events[i], first + i)) ++bad;
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("ring buffer: a byte callback receives every record, in order, intact") {
    auto mod = events_test::open_stream();
    std::vector<stream_event> got;
    std::size_t wrong_size = 0;
    auto& rb = mod.ring_buffer("events", [&](std::span<const std::byte> rec) {
        if (rec.size() != sizeof(stream_event)) ++wrong_size;
        if (auto e = bpf::decode<stream_event>(rec)) got.push_back(*e);
    });
    CHECK(rb.ring_count() == 1);
    CHECK(rb.poll(0ms) == 0);

    produce(mod, 1000, TARGET_RING);
    int total = 0;
    while (got.size() < 1000) {
        int n = rb.poll(1000ms);
        REQUIRE(n > 0);
        total += n;
    }
    CHECK(total == 1000);
    CHECK(wrong_size == 0);
    check_sequence(got, 0, 1000);
    CHECK(rb.drops() == 0);
    CHECK(events_test::global(mod, "failures") == 0);
    CHECK(rb.poll(10ms) == 0);
}

TEST_CASE("ring buffer: a typed callback, consume() and epoll_fd() in the user's own loop") {
    auto mod = events_test::open_stream();
    std::vector<stream_event> got;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) { got.push_back(e); });

    // The user's epoll instance watches the buffer's fd.
    int ep = epoll_create1(EPOLL_CLOEXEC);
    REQUIRE(ep >= 0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, rb.epoll_fd(), &ev) == 0);
    epoll_event out{};
    CHECK(epoll_wait(ep, &out, 1, 0) == 0);  // nothing yet

    produce(mod, 300, TARGET_RING);
    CHECK(epoll_wait(ep, &out, 1, 1000) == 1);
    CHECK(rb.consume() == 300);
    CHECK(rb.consume() == 0);
    CHECK(epoll_wait(ep, &out, 1, 0) == 0);  // drained: not readable any more
    close(ep);
    check_sequence(got, 0, 300);
}

TEST_CASE("ring buffer: add() serves a second ring with its own callback") {
    auto mod = events_test::open_stream();
    std::vector<stream_event> first, second;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) { first.push_back(e); });
    rb.add(mod.map("events2"), [&](const stream_event& e) { second.push_back(e); });
    CHECK(rb.ring_count() == 2);

    produce(mod, 100, TARGET_RING);
    produce(mod, 50, TARGET_RING2);
    produce(mod, 100, TARGET_RING);
    for (int i = 0; i < 50 && first.size() + second.size() < 250; ++i) rb.poll(100ms);
    REQUIRE(first.size() == 200);
    REQUIRE(second.size() == 50);
    for (std::uint32_t i = 0; i < 100; ++i) {
        CHECK(intact(first[i], i));
        CHECK(intact(first[100 + i], 150 + i));
    }
    for (std::uint32_t i = 0; i < 50; ++i) CHECK(intact(second[i], 100 + i));
    for (const auto& e : second) CHECK(e.target == TARGET_RING2);
}

TEST_CASE("ring buffer: a flooded tiny ring reports exactly the drops the producer counted") {
    auto mod = tiny_ring();
    std::vector<std::uint32_t> seqs;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        CHECK(intact(e, e.seq));
        seqs.push_back(e.seq);
    });
    // The consumer sleeps while 1000 events of 96 bytes meet a 4096-byte ring.
    produce(mod, 1000, TARGET_RING);
    const std::uint64_t failures = events_test::global(mod, "failures");
    CHECK(events_test::global(mod, "attempts") == 1000);
    CHECK(failures > 900);
    CHECK(rb.drops() == failures);
    while (rb.poll(10ms) > 0) {
    }
    CHECK(seqs.size() + failures == 1000);
    // What was kept is the first records, in order, with no gap.
    for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == i);

    // After draining, there is room again and the counter only grows by new failures.
    produce(mod, 10, TARGET_RING);
    rb.poll(100ms);
    CHECK(seqs.size() + failures == 1010);
    CHECK(rb.drops() == events_test::global(mod, "failures"));
}

TEST_CASE("ring buffer: a record shorter than the event type is counted and reported once") {
    auto mod = events_test::open_stream();
    std::vector<std::string> logged;
    bpf::set_logger([&](bpf::LogLevel, std::string_view m) { logged.emplace_back(m); });
    int typed_calls = 0;
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { ++typed_calls; });
    std::vector<std::size_t> sizes;
    rb.add(mod.map("events2"), [&](std::span<const std::byte> r) { sizes.push_back(r.size()); });

    produce(mod, 5, TARGET_RING_SHORT);
    produce(mod, 3, TARGET_RING);
    while (rb.poll(50ms) > 0) {
    }
    bpf::set_logger({});
    CHECK(typed_calls == 3);
    CHECK(rb.short_records() == 5);
    REQUIRE(logged.size() == 1);
    CHECK_THAT(logged[0], Contains("12-byte record is shorter than the 84-byte event type"));
    CHECK(sizes.empty());
}

TEST_CASE("ring buffer: a throwing callback ends poll() with its exception; the rest stays queued") {
    auto mod = events_test::open_stream();
    std::vector<std::uint32_t> seqs;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        if (e.seq == 3) throw std::runtime_error("bad event 3");
        seqs.push_back(e.seq);
    });
    produce(mod, 10, TARGET_RING);
    CHECK_THROWS_WITH(rb.poll(1000ms), "bad event 3");
    CHECK(seqs == std::vector<std::uint32_t>{0, 1, 2});
    CHECK(rb.poll(1000ms) == 6);  // record 3 was consumed by the failed call
    CHECK(seqs == std::vector<std::uint32_t>{0, 1, 2, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("ring buffer: start()/stop() deliver everything on a background thread") {
    auto mod = events_test::open_stream();
    std::atomic<std::uint32_t> count{0};
    std::atomic<std::uint32_t> out_of_order{0};
    std::uint32_t expect = 0;  // only touched by the loop thread
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        if (!intact(e, expect)) out_of_order.fetch_add(1);
        expect = e.seq + 1;
        count.fetch_add(1, std::memory_order_release);
    });
    rb.start();
    CHECK(rb.running());
    CHECK_THROWS_WITH(rb.start(), Contains("already running"));
    CHECK_THROWS_WITH(rb.poll(0ms), Contains("background loop is running"));
    // Chunks that fit the ring, each produced once the loop caught up: nothing is dropped
    // even when the loop thread is descheduled for a while on a busy machine.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (std::uint32_t i = 1; i <= 20; ++i) {
        produce(mod, 500, TARGET_RING);
        while (count.load(std::memory_order_acquire) < 500 * i && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(100us);
    }
    rb.stop();
    CHECK(rb.drops() == 0);
    CHECK_FALSE(rb.running());
    CHECK(count.load() == 10000);
    CHECK(out_of_order.load() == 0);
    rb.stop();  // twice: nothing happens
    // After stop() the buffer polls in the foreground again.
    produce(mod, 5, TARGET_RING);
    CHECK(rb.poll(1000ms) == 5);
    CHECK(count.load() == 10005);
}

TEST_CASE("ring buffer: stop() from a callback ends the loop after that record") {
    auto mod = events_test::open_stream();
    std::vector<std::uint32_t> seqs;
    bpf::RingBuffer* self = nullptr;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        seqs.push_back(e.seq);
        if (e.seq == 4) self->stop();
    });
    self = &rb;
    produce(mod, 20, TARGET_RING);
    rb.start();
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (rb.running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK_FALSE(rb.running());
    rb.stop();  // joins the finished thread
    REQUIRE(seqs.size() == 5);
    CHECK(seqs.back() == 4);
    // Foreground: stop() from the callback ends that poll() early too.
    CHECK(rb.poll(1000ms) == 15);  // the foreground poll() takes the rest
}

TEST_CASE("ring buffer: stop() returns promptly while a producer floods the ring") {
    auto mod = events_test::open_stream();
    std::atomic<std::uint64_t> count{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { count.fetch_add(1, std::memory_order_relaxed); });
    std::atomic<bool> flood{true};
    std::thread producer([&] {
        while (flood.load()) produce(mod, 5000, TARGET_RING);
    });
    rb.start();
    CHECK(testing::wait_until([&] { return count.load() > 0; }));  // the flood reaches the loop
    std::this_thread::sleep_for(100ms);
    auto t0 = std::chrono::steady_clock::now();
    rb.stop();
    auto took = std::chrono::steady_clock::now() - t0;
    flood = false;
    producer.join();
    CHECK(count.load() > 0);
    CHECK(took < testing::scaled(100ms));
    CHECK_FALSE(rb.running());
}

TEST_CASE("ring buffer: an exception on the background thread ends the loop; stop() rethrows it") {
    auto mod = events_test::open_stream();
    std::atomic<int> calls{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        calls.fetch_add(1);
        if (e.seq == 2) throw std::runtime_error("callback failed at 2");
    });
    rb.start();
    produce(mod, 10, TARGET_RING);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (rb.running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK_FALSE(rb.running());
    CHECK(calls.load() == 3);
    CHECK_THROWS_WITH(rb.stop(), "callback failed at 2");
    rb.stop();  // the exception is reported once
    // The rest is still there for the next consumer.
    CHECK(rb.poll(1000ms) == 7);
}

TEST_CASE("ring buffer: destroying the module while the loop runs and events flow") {
    const int fds_before = testing::count_open_fds();
    std::atomic<std::uint64_t> count{0};
    std::atomic<bool> flood{true};
    {
        auto mod = events_test::open_stream();
        auto& rb = mod.ring_buffer("events", [&](const stream_event&) { count.fetch_add(1); });
        rb.start();
        std::thread producer([&] {
            while (flood.load()) produce(mod, 2000, TARGET_RING);
        });
        std::this_thread::sleep_for(100ms);
        flood = false;
        producer.join();
        // A loop that ended with an exception nobody collected: logged, not thrown.
        auto& rb2 = mod.ring_buffer("events2", [](const stream_event&) { throw std::runtime_error("x"); });
        rb2.start();
        produce(mod, 1, TARGET_RING2);
        std::this_thread::sleep_for(50ms);
        bpf::set_logger([](bpf::LogLevel, std::string_view) {});
    }  // ~Module: stops both loops, unmaps, frees
    bpf::set_logger({});
    CHECK(count.load() > 0);
    CHECK(testing::count_open_fds() == fds_before);
}

// A ring buffer's records carry no CPU; a perf buffer's iterator tells it.
template <class It>
concept tells_cpu = requires(It it) { it.cpu(); };
static_assert(!tells_cpu<bpf::RingBuffer::EventRange<stream_event>::iterator>);
static_assert(tells_cpu<bpf::PerfBuffer::EventRange<stream_event>::iterator>);
static_assert(std::input_iterator<bpf::RingBuffer::EventRange<stream_event>::iterator>);

TEST_CASE("ring buffer: events<T>() yields in order and ends on a stop_token or stop()") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    produce(mod, 100, TARGET_RING);

    std::stop_source source;
    std::vector<stream_event> got;
    std::thread producer([&] {
        for (int i = 0; i < 9; ++i) {
            std::this_thread::sleep_for(5ms);
            produce(mod, 100, TARGET_RING);
        }
    });
    for (const stream_event& e : rb.events<stream_event>(source.get_token())) {
        got.push_back(e);
        if (got.size() == 1000) source.request_stop();
    }
    producer.join();
    check_sequence(got, 0, 1000);

    // A token stopped from another thread wakes a waiting iteration.
    std::stop_source later;
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        later.request_stop();
    });
    int n = 0;
    for (const stream_event& e : rb.events<stream_event>(later.get_token())) n += static_cast<int>(e.seq != 0);
    stopper.join();
    CHECK(n == 0);

    // So does stop(), once the iteration has taken the three records.
    std::atomic<std::size_t> taken{0};
    std::thread stopper2([&] {
        testing::wait_until([&] { return taken.load() == 3; });
        std::this_thread::sleep_for(50ms);
        rb.stop();
    });
    produce(mod, 3, TARGET_RING);
    std::vector<std::uint32_t> seqs;
    for (const stream_event& e : rb.events<stream_event>()) {
        seqs.push_back(e.seq);
        taken.store(seqs.size());
    }
    stopper2.join();
    CHECK(seqs == std::vector<std::uint32_t>{1000, 1001, 1002});
}

TEST_CASE("ring buffer: events<T>() ends promptly on its token while a producer floods the ring") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    std::atomic<bool> flood{true};
    std::thread producer([&] {
        while (flood.load()) produce(mod, 2000, TARGET_RING);
    });
    std::stop_source source;
    std::uint64_t n = 0;
    std::int64_t last = -1;
    std::uint64_t disorder = 0;
    auto t0 = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration took{};
    for (const stream_event& e : rb.events<stream_event>(source.get_token())) {
        if (static_cast<std::int64_t>(e.seq) <= last) ++disorder;
        last = e.seq;
        if (++n == 20000) {
            source.request_stop();
            t0 = std::chrono::steady_clock::now();
        }
    }
    took = std::chrono::steady_clock::now() - t0;
    flood = false;
    producer.join();
    CHECK(n >= 20000);
    CHECK(n < 20000 + 64);  // at most the rest of the batch in hand (events<T>() takes 64 at a time)
    CHECK(disorder == 0);
    CHECK(took < testing::scaled(100ms));
}

TEST_CASE("ring buffer: a second consumer of a map starts where the first one stopped") {
    auto mod = events_test::open_stream();
    std::vector<std::uint32_t> first, second;
    {
        bpf::RingBuffer rb(mod.map("events"), [&](const stream_event& e) { first.push_back(e.seq); });
        produce(mod, 10, TARGET_RING);
        CHECK(rb.poll(1000ms) == 10);
    }
    bpf::RingBuffer rb2(mod.map("events"), [&](const stream_event& e) { second.push_back(e.seq); });
    CHECK(rb2.poll(50ms) == 0);  // nothing new: the first consumer's records are not replayed
    produce(mod, 3, TARGET_RING);
    CHECK(rb2.poll(1000ms) == 3);
    CHECK(first.size() == 10);
    CHECK(second == std::vector<std::uint32_t>{10, 11, 12});
}

TEST_CASE("ring buffer: errors say what to do") {
    auto mod = events_test::open_stream();
    CHECK_THROWS_WITH(mod.ring_buffer("perf_events", [](std::span<const std::byte>) {}),
                      Contains("not a BPF_MAP_TYPE_RINGBUF (use PerfBuffer"));
    CHECK_THROWS_WITH(mod.ring_buffer("nope", [](std::span<const std::byte>) {}),
                      Contains("maps in this object"));
    auto unloaded = bpf::Module::open_memory(bpf_objects::stream());
    CHECK_THROWS_WITH(unloaded.ring_buffer("events", [](std::span<const std::byte>) {}),
                      Contains("call Module::load() first"));
    auto& it = mod.ring_buffer("events2");
    CHECK_THROWS_WITH(it.start(), Contains("has no callback; read it with events<T>()"));
}

TEST_CASE("ring buffer: a live producer on another CPU wraps a small ring thousands of times") {
    // Exercises the consumer's memory ordering: a record read before the kernel made it
    // visible, or a position published before the record was read, shows up as a torn
    // or repeated event here (check, payload and sequence are verified for each one).
    if (bpf::num_possible_cpus() < 2) SKIP_TEST("needs two CPUs for producer and consumer");
    auto mod = events_test::open_stream([](bpf::Module& m) { m.map("events").set_max_entries(16384); });
    std::atomic<std::uint64_t> count{0};
    std::uint64_t torn = 0, disorder = 0;
    std::int64_t last = -1;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        if (!intact(e, e.seq)) ++torn;
        if (static_cast<std::int64_t>(e.seq) <= last) ++disorder;
        last = e.seq;
        count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    });
    std::atomic<bool> producing{true};
    std::thread producer([&] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(1, &set);
        sched_setaffinity(0, sizeof set, &set);
        // Stay at most about two chunks ahead of the consumer (whatever the machine's
        // load), so the ring keeps wrapping with both sides busy at the same time.
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        for (std::uint64_t i = 0; i < 3200; ++i) {
            produce(mod, 64, TARGET_RING);
            while (64 * (i + 1) > count.load(std::memory_order_acquire) + events_test::global(mod, "failures") + 128 &&
                   std::chrono::steady_clock::now() < deadline)
                std::this_thread::yield();
        }
        producing = false;
    });
    while (producing.load()) rb.poll(10ms);
    producer.join();
    while (rb.poll(10ms) > 0) {
    }
    const std::uint64_t failures = events_test::global(mod, "failures");
    CHECK(torn == 0);
    CHECK(disorder == 0);
    CHECK(count.load() + failures == 3200 * 64);
    CHECK(rb.drops() == failures);
    CHECK(count.load() > 16384 / 96 * 100);  // the ring wrapped at least a hundred times
}

TEST_CASE("ring buffer: min_wakeup_interval reads a lone record at once and paces the ones after it") {
    auto mod = events_test::open_stream();
    std::vector<stream_event> got;
    // 300 ms on an ordinary machine; the bounds below are fractions of it, so a slow
    // machine stretches the whole case instead of blurring "at once" and "paused".
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(testing::scaled(300ms));
    bpf::RingBufferOptions o;
    o.min_wakeup_interval = interval;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) { got.push_back(e); }, o);
    using Clock = std::chrono::steady_clock;

    // After a quiet period the first record is delivered without a pause.
    produce(mod, 1, TARGET_RING);
    auto t0 = Clock::now();
    CHECK(rb.poll(interval * 20) == 1);
    CHECK(Clock::now() - t0 < interval / 2);

    // Records that follow wait out the interval, then arrive together in one pass.
    produce(mod, 10, TARGET_RING);
    produce(mod, 10, TARGET_RING);
    t0 = Clock::now();
    CHECK(rb.poll(interval * 20) == 20);
    const auto paused = Clock::now() - t0;
    CHECK(paused >= interval * 5 / 6);
    CHECK(paused < interval * 6);
    check_sequence(got, 0, 21);

    // The pause counts against poll()'s timeout and goes on in the next poll().
    produce(mod, 1, TARGET_RING);
    t0 = Clock::now();
    CHECK(rb.poll(interval / 6) == 0);
    CHECK(rb.poll(0ms) == 0);
    CHECK(Clock::now() - t0 < interval * 5 / 6);
    CHECK(rb.poll(interval * 20) == 1);
    CHECK(Clock::now() - t0 >= interval * 5 / 6);
    // consume() never pauses.
    produce(mod, 2, TARGET_RING);
    t0 = Clock::now();
    CHECK(rb.consume() == 2);
    CHECK(Clock::now() - t0 < interval / 2);
    check_sequence(got, 0, 24);
    CHECK(rb.drops() == 0);

    bpf::RingBufferOptions bad;
    bad.min_wakeup_interval = -1ms;
    CHECK_THROWS_WITH(mod.ring_buffer("events2", bad), Contains("min_wakeup_interval is negative"));
}

TEST_CASE("ring buffer: stop() cuts a min_wakeup_interval pause short, in start() and in events()") {
    auto mod = events_test::open_stream();
    bpf::RingBufferOptions o;
    o.min_wakeup_interval = std::chrono::minutes(10);  // far beyond any scaled bound below
    std::atomic<std::uint32_t> count{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { count.fetch_add(1); }, o);
    rb.start();
    produce(mod, 1, TARGET_RING);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (count.load() < 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    REQUIRE(count.load() == 1);  // the loop now pauses for 10 min
    // ... once its pass over the ring has ended: records written while the pass that
    // delivered the first one still runs are read in that pass (seen under emulation).
    std::this_thread::sleep_for(testing::scaled(20ms));
    produce(mod, 5, TARGET_RING);
    std::this_thread::sleep_for(50ms);
    CHECK(count.load() == 1);  // still paused: the five wait
    auto t0 = std::chrono::steady_clock::now();
    rb.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < testing::scaled(1s));
    CHECK(rb.consume() == 5);  // nothing was lost
    CHECK(count.load() == 6);

    auto& it = mod.ring_buffer("events2", o);
    produce(mod, 1, TARGET_RING2);
    std::stop_source source;
    std::vector<std::uint32_t> seqs;
    std::thread stopper;
    t0 = std::chrono::steady_clock::now();
    for (const stream_event& e : it.events<stream_event>(source.get_token())) {
        seqs.push_back(e.seq);
        if (seqs.size() == 1) {  // the iterator pauses for 10 min before waiting again
            t0 = std::chrono::steady_clock::now();
            stopper = std::thread([&] {
                std::this_thread::sleep_for(100ms);
                source.request_stop();
            });
        }
    }
    stopper.join();
    CHECK(seqs.size() == 1);
    CHECK(std::chrono::steady_clock::now() - t0 < testing::scaled(2s));
}

TEST_CASE("ring buffer: with min_wakeup_interval a live producer's events all arrive, in order, in fewer passes") {
    if (bpf::num_possible_cpus() < 2) SKIP_TEST("needs two CPUs for producer and consumer");
    auto mod = events_test::open_stream([](bpf::Module& m) { m.map("events").set_max_entries(4u << 20); });
    bpf::RingBufferOptions o;
    o.min_wakeup_interval = 2ms;
    std::atomic<std::uint64_t> count{0};
    std::uint64_t torn = 0, disorder = 0;
    std::int64_t last = -1;
    auto& rb = mod.ring_buffer(
        "events",
        [&](const stream_event& e) {
            if (!intact(e, e.seq)) ++torn;
            if (static_cast<std::int64_t>(e.seq) <= last) ++disorder;
            last = e.seq;
            count.fetch_add(1, std::memory_order_relaxed);
        },
        o);
    std::atomic<bool> producing{true};
    std::thread producer([&] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(1, &set);
        sched_setaffinity(0, sizeof set, &set);
        for (int i = 0; i < 400; ++i) {  // 400 x 100 events, about 10 us apart in bursts
            produce(mod, 100, TARGET_RING);
            std::this_thread::sleep_for(200us);
        }
        producing = false;
    });
    std::uint64_t passes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    while (producing.load()) passes += static_cast<std::uint64_t>(rb.poll(10ms) > 0);
    producer.join();
    while (rb.poll(10ms) > 0) ++passes;
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    CHECK(torn == 0);
    CHECK(disorder == 0);
    CHECK(count.load() == 40000);
    CHECK(rb.drops() == 0);
    CHECK(events_test::global(mod, "failures") == 0);
    // Passes that found records are at least 2 ms apart (a consumer reading each burst as
    // it comes makes ~400 passes in ~150 ms).
    INFO("passes " << passes << " in " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
    CHECK(passes <= static_cast<std::uint64_t>(elapsed / 2ms) + 1);
}

// ---- threads ---------------------------------------------------------------------------

TEST_CASE("ring buffer: a thread created after start and stop is not the old loop thread") {
    // The C library gives a new thread the id of the one just joined: after stop() the
    // buffer must not take a new thread for its loop (which skips the checks of poll()
    // and keeps the stop request, so a poll() delivered one record instead of five).
    auto mod = events_test::open_stream();
    std::atomic<std::uint32_t> count{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { count.fetch_add(1); });
    for (int round = 0; round < 5; ++round) {
        rb.start();
        rb.stop();
        int n = -1;
        std::thread([&] {
            produce(mod, 5, TARGET_RING);
            n = rb.poll(1000ms);
        }).join();
        CHECK(n == 5);
    }
    CHECK(count.load() == 25);
    // Destroying the buffer from such a thread is not "destroyed by its own callback".
    auto other = events_test::open_stream();
    auto& rb2 = other.ring_buffer("events", [](const stream_event&) {});
    rb2.start();
    rb2.stop();
    std::thread([m = std::move(other)]() mutable { bpf::Module gone = std::move(m); }).join();
}

TEST_CASE("ring buffer: start and stop racing on four threads never hang") {
    // Three threads start() the loop again and again, one stop()s it: a start() that
    // slipped between a stop()'s request and its join left that stop() joining a loop
    // nobody would stop again.
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events", [](const stream_event&) {});
    std::atomic<int> finished{0};
    std::atomic<int> started{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20000; ++i) {
                try {
                    if (t < 3) {
                        rb.start();
                        started.fetch_add(1);
                    } else {
                        rb.stop();
                    }
                } catch (const bpf::Error& e) {
                    if (e.code().value() != EBUSY) throw;  // "already running"
                }
            }
            finished.fetch_add(1);
        });
    const bool done = testing::wait_until([&] { return finished.load() == 4; }, 60s);
    if (!done) {
        FAIL_CHECK("start()/stop() on four threads hung");
        std::_Exit(1);  // the hung threads cannot be joined
    }
    for (auto& t : threads) t.join();
    rb.stop();
    CHECK_FALSE(rb.running());
    CHECK(started.load() > 0);
    INFO("loops started: " << started.load());
    produce(mod, 3, TARGET_RING);
    CHECK(rb.poll(1000ms) == 3);
}

TEST_CASE("ring buffer: while one thread reads another thread's poll and consume are refused") {
    auto mod = events_test::open_stream();
    std::atomic<bool> inside{false};
    std::atomic<bool> release{false};
    std::atomic<std::uint32_t> count{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) {
        count.fetch_add(1);
        inside = true;
        while (!release.load()) std::this_thread::sleep_for(1ms);
    });
    produce(mod, 4, TARGET_RING);
    int first = -1;
    std::thread reader([&] { first = rb.poll(1000ms); });
    REQUIRE(testing::wait_until([&] { return inside.load(); }));
    CHECK_THROWS_WITH(rb.poll(0ms), Contains("polling ring buffer 'events': another thread is reading it"));
    CHECK_THROWS_WITH(rb.consume(), Contains("another thread is reading it"));
    try {
        (void)rb.consume();
    } catch (const bpf::Error& e) {
        CHECK(e.code().value() == EBUSY);
    }
    CHECK_THROWS_WITH(rb.start(), Contains("another thread is polling it"));
    CHECK_FALSE(rb.running());
    release = true;
    reader.join();
    CHECK(first == 4);
    CHECK(count.load() == 4);
    // The reader is gone: this thread may read now.
    produce(mod, 2, TARGET_RING);
    CHECK(rb.poll(1000ms) == 2);
}

TEST_CASE("ring buffer: a range left by a break gives back the records it took and did not yield") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    produce(mod, 100, TARGET_RING);
    std::vector<std::uint32_t> seqs;
    // Each range takes up to 32 records at a time; breaking after 10 must not lose the other 22.
    for (int range = 0; range < 10; ++range) {
        for (const stream_event& e : rb.events<stream_event>()) {
            REQUIRE(intact(e, e.seq));
            seqs.push_back(e.seq);
            if (seqs.size() % 10 == 0) break;
        }
    }
    REQUIRE(seqs.size() == 100);
    for (std::uint32_t i = 0; i < 100; ++i) CHECK(seqs[i] == i);
}
