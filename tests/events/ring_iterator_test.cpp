// Kernel integration: RingBuffer::events<T>(), whose iterator walks the mapped ring itself,
// record by record: discarded and short records between full ones, a range left by a
// break in the middle of such a run, and a small ring a live producer wraps while the
// iterator reads it.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stop_token>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "stream_util.hpp"

using namespace std::chrono_literals;
using events_test::intact;
using events_test::produce;

TEST_CASE("ring buffer: events<T>() skips discarded and short records and yields the rest in order") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    // seq 0-2 full, 3-4 discarded, 5-6 short, 7 full, 8-9 discarded, 10-11 full.
    produce(mod, 3, TARGET_RING);
    produce(mod, 2, TARGET_RING_DISCARD);
    produce(mod, 2, TARGET_RING_SHORT);
    produce(mod, 1, TARGET_RING);
    produce(mod, 2, TARGET_RING_DISCARD);
    produce(mod, 2, TARGET_RING);
    std::vector<std::uint32_t> seqs;
    std::uint32_t torn = 0;
    // A break right before the discarded run, then one after a record that follows one.
    for (const stream_event& e : rb.events<stream_event>()) {
        if (!intact(e, e.seq)) ++torn;
        seqs.push_back(e.seq);
        if (e.seq == 2) break;
    }
    for (const stream_event& e : rb.events<stream_event>()) {
        if (!intact(e, e.seq)) ++torn;
        seqs.push_back(e.seq);
        if (e.seq == 7) break;
    }
    std::stop_source stop;
    for (const stream_event& e : rb.events<stream_event>(stop.get_token())) {
        if (!intact(e, e.seq)) ++torn;
        seqs.push_back(e.seq);
        if (e.seq == 11) stop.request_stop();
    }
    CHECK(torn == 0);
    CHECK(seqs == std::vector<std::uint32_t>{0, 1, 2, 7, 10, 11});
    CHECK(rb.short_records() == 2);
    // Everything read was handed back to the producer: a new consumer of the map (which
    // starts at the published position) sees only what comes next.
    std::vector<std::uint32_t> after;
    bpf::RingBuffer second(mod.map("events"), [&](const stream_event& e) { after.push_back(e.seq); });
    CHECK(second.poll(50ms) == 0);
    produce(mod, 1, TARGET_RING);
    CHECK(second.poll(1000ms) == 1);
    CHECK(after == std::vector<std::uint32_t>{12});
}

TEST_CASE("ring buffer: events<T>() reads a small ring a live producer on another CPU wraps thousands of times") {
    // The iterator's memory ordering and its hand-back of space: a record read before the
    // kernel made it visible, or space handed back before its record was read, shows up
    // as a torn or repeated event (check, payload and sequence are verified for each).
    if (bpf::num_possible_cpus() < 2) SKIP_TEST("needs two CPUs for producer and consumer");
    auto mod = events_test::open_stream([](bpf::Module& m) { m.map("events").set_max_entries(16384); });
    auto& rb = mod.ring_buffer("events");
    std::atomic<std::uint64_t> count{0};
    std::stop_source stop;
    std::thread producer([&] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(1, &set);
        sched_setaffinity(0, sizeof set, &set);
        // At most about two chunks ahead of the consumer, so the ring keeps wrapping with
        // both sides busy at the same time.
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        for (std::uint64_t i = 0; i < 3200; ++i) {
            produce(mod, 64, TARGET_RING);
            while (64 * (i + 1) > count.load(std::memory_order_acquire) + events_test::global(mod, "failures") + 128 &&
                   std::chrono::steady_clock::now() < deadline)
                std::this_thread::yield();
        }
        while (count.load(std::memory_order_acquire) + events_test::global(mod, "failures") < 3200 * 64 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        stop.request_stop();
    });
    std::uint64_t torn = 0, disorder = 0;
    std::int64_t last = -1;
    for (const stream_event& e : rb.events<stream_event>(stop.get_token())) {
        if (!intact(e, e.seq)) ++torn;
        if (static_cast<std::int64_t>(e.seq) <= last) ++disorder;
        last = e.seq;
        count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    producer.join();
    const std::uint64_t failures = events_test::global(mod, "failures");
    CHECK(torn == 0);
    CHECK(disorder == 0);
    CHECK(count.load() + failures == 3200 * 64);
    CHECK(rb.drops() == failures);
    CHECK(count.load() > 16384 / 96 * 100);  // the ring wrapped at least a hundred times
}
