// Kernel integration: bpf::PerfBuffer against the BPF producer of numbered events:
// callbacks with the CPU, typed callbacks, lost records counted per CPU and equal to
// what the producer failed to write, wake-up batching with its flush, the background
// loop, the iterator.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sched.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
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

/// Pins the calling thread to one CPU, so that the producer's events land in one ring.
class PinToCpu {
public:
    explicit PinToCpu(int cpu) {
        sched_getaffinity(0, sizeof old_, &old_);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    ~PinToCpu() { sched_setaffinity(0, sizeof old_, &old_); }

private:
    cpu_set_t old_{};
};

}  // namespace

TEST_CASE("perf buffer: a byte callback gets every record with its CPU") {
    auto mod = events_test::open_stream();
    PinToCpu pin(0);
    std::vector<stream_event> got;
    std::vector<int> cpus;
    std::size_t short_spans = 0;
    auto& pb = mod.perf_buffer("perf_events", [&](int cpu, std::span<const std::byte> rec) {
        // The kernel pads a sample to 8 bytes with its 4-byte size: 84 -> 84 + 4 padding.
        if (rec.size() < sizeof(stream_event)) ++short_spans;
        if (auto e = bpf::decode<stream_event>(rec)) got.push_back(*e);
        cpus.push_back(cpu);
    });
    CHECK(pb.buffer_count() == static_cast<std::size_t>(bpf::num_possible_cpus()));
    produce(mod, 200, TARGET_PERF);
    while (got.size() < 200) REQUIRE(pb.poll(1000ms) > 0);
    CHECK(short_spans == 0);
    for (std::uint32_t i = 0; i < 200; ++i) {
        CHECK(intact(got[i], i));
        CHECK(cpus[i] == 0);
        CHECK(got[i].cpu == 0);
    }
    CHECK(pb.lost() == 0);
}

TEST_CASE("perf buffer: typed callbacks, with and without the CPU, and consume()") {
    auto mod = events_test::open_stream();
    PinToCpu pin(bpf::num_possible_cpus() - 1);
    const int cpu = bpf::num_possible_cpus() - 1;
    std::vector<std::uint32_t> seqs;
    int wrong_cpu = 0;
    auto& pb = mod.perf_buffer("perf_events", [&](int c, const stream_event& e) {
        if (c != cpu || static_cast<int>(e.cpu) != cpu) ++wrong_cpu;
        CHECK(intact(e, e.seq));
        seqs.push_back(e.seq);
    });
    produce(mod, 50, TARGET_PERF);
    CHECK(pb.consume() == 50);
    CHECK(wrong_cpu == 0);
    for (std::uint32_t i = 0; i < 50; ++i) CHECK(seqs[i] == i);

    std::vector<std::uint32_t> seqs2;
    auto mod2 = events_test::open_stream();
    auto& pb2 = mod2.perf_buffer("perf_events", [&](const stream_event& e) { seqs2.push_back(e.seq); });
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, pb2.epoll_fd(), &ev) == 0);
    produce(mod2, 7, TARGET_PERF);
    CHECK(epoll_wait(ep, &ev, 1, 1000) == 1);
    close(ep);
    CHECK(pb2.consume() == 7);
    CHECK(seqs2 == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("perf buffer: lost records are reported per CPU and equal the producer's failures") {
    auto mod = events_test::open_stream();
    PinToCpu pin(0);
    std::vector<std::uint32_t> seqs;
    std::uint64_t reported = 0;
    std::vector<int> lost_cpus;
    auto& pb = mod.perf_buffer(
        "perf_events", [&](const stream_event& e) { seqs.push_back(e.seq); },
        [&](int cpu, std::uint64_t n) {
            reported += n;
            lost_cpus.push_back(cpu);
        },
        1);  // one page per CPU: about 40 records
    produce(mod, 1000, TARGET_PERF);
    const std::uint64_t failures = events_test::global(mod, "failures");
    CHECK(failures > 900);
    while (pb.poll(20ms) > 0) {
    }
    // The kernel writes its LOST record once there is room again: one more round.
    produce(mod, 1, TARGET_PERF);
    while (pb.poll(20ms) > 0) {
    }
    CHECK(pb.lost() == failures);
    CHECK(pb.lost(0) == failures);
    CHECK(pb.lost(1) == 0);
    CHECK(reported == failures);
    for (int c : lost_cpus) CHECK(c == 0);
    CHECK(seqs.size() + failures == 1001);
    for (std::size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i] > seqs[i - 1]);
    CHECK(seqs.back() == 1000);
}

TEST_CASE("perf buffer: lost() counts records dropped at the end of a burst, which no later write reports") {
    // The kernel writes a LOST record only at its next successful write to the ring; the
    // perf event's own counter (PERF_FORMAT_LOST, 6.0+) counts every drop at once.
    auto mod = events_test::open_stream();
    PinToCpu pin(0);
    std::uint64_t delivered = 0, reported = 0;
    auto& pb = mod.perf_buffer(
        "perf_events", [&](const stream_event&) { ++delivered; }, [&](int, std::uint64_t n) { reported += n; }, 1);
    produce(mod, 1000, TARGET_PERF);
    const std::uint64_t failures = events_test::global(mod, "failures");
    REQUIRE(failures > 900);
    while (pb.poll(20ms) > 0) {
    }
    CHECK(delivered + failures == 1000);
    CHECK(reported == 0);  // nothing was written after the drops
    if (testing::feature(testing::Feature::PerfLostCounter).available) {
        CHECK(pb.lost() == failures);
        CHECK(pb.lost(0) == failures);
    } else {
        INFO("no PERF_FORMAT_LOST on this kernel: only LOST records count");
        CHECK(pb.lost() <= failures);
    }
    CHECK(pb.lost(1) == 0);
    // Still exact after the kernel's LOST record arrived: no drop is counted twice.
    produce(mod, 1, TARGET_PERF);
    while (pb.poll(20ms) > 0) {
    }
    CHECK(reported == failures);
    CHECK(pb.lost() == failures);
}

TEST_CASE("perf buffer: wake-up batching holds records until the batch fills or poll() times out") {
    auto mod = events_test::open_stream();
    PinToCpu pin(0);
    std::vector<std::uint32_t> seqs;
    bpf::PerfBufferOptions o;
    o.pages = 8;
    o.wakeup_events = 64;
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event& e) { seqs.push_back(e.seq); }, nullptr, o);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, pb.epoll_fd(), &ev) == 0);

    produce(mod, 10, TARGET_PERF);
    CHECK(epoll_wait(ep, &ev, 1, 50) == 0);  // no wake-up for 10 < 64 records
    auto t0 = std::chrono::steady_clock::now();
    CHECK(pb.poll(100ms) == 10);             // the timeout flushes them
    CHECK(std::chrono::steady_clock::now() - t0 >= 90ms);

    produce(mod, 64, TARGET_PERF);
    CHECK(epoll_wait(ep, &ev, 1, 1000) == 1);  // a full batch wakes
    CHECK(pb.poll(1000ms) == 64);
    close(ep);
    REQUIRE(seqs.size() == 74);
    for (std::uint32_t i = 0; i < 74; ++i) CHECK(seqs[i] == i);
}

TEST_CASE("perf buffer: background loop with batching delivers within the flush interval") {
    auto mod = events_test::open_stream();
    std::atomic<std::uint32_t> count{0};
    bpf::PerfBufferOptions o;
    o.wakeup_events = 1000;
    o.flush_interval = 20ms;
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event&) { count.fetch_add(1); }, nullptr, o);
    pb.start();
    produce(mod, 5, TARGET_PERF);
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (count.load() < 5 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK(count.load() == 5);
    pb.stop();
    pb.stop();
}

TEST_CASE("perf buffer: stop() during a flood, from a callback, and a callback's exception") {
    auto mod = events_test::open_stream();
    std::atomic<std::uint64_t> count{0};
    bpf::PerfBuffer* self = nullptr;
    std::atomic<bool> stop_in_callback{false};
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event&) {
        count.fetch_add(1, std::memory_order_relaxed);
        if (stop_in_callback.load()) self->stop();
    });
    self = &pb;
    std::atomic<bool> flood{true};
    std::thread producer([&] {
        while (flood.load()) produce(mod, 2000, TARGET_PERF);
    });
    pb.start();
    CHECK(testing::wait_until([&] { return count.load() > 0; }));  // the flood reaches the loop
    std::this_thread::sleep_for(100ms);
    auto t0 = std::chrono::steady_clock::now();
    pb.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < testing::scaled(100ms));
    CHECK(count.load() > 0);

    stop_in_callback = true;
    pb.start();
    CHECK(testing::wait_until([&] { return !pb.running(); }));  // a callback stopped it
    pb.stop();
    flood = false;
    producer.join();

    auto mod2 = events_test::open_stream();
    auto& bad = mod2.perf_buffer("perf_events", [](const stream_event& e) {
        if (e.seq == 1) throw std::runtime_error("perf callback failed");
    });
    PinToCpu pin(0);
    produce(mod2, 3, TARGET_PERF);
    CHECK_THROWS_WITH(bad.poll(1000ms), "perf callback failed");
    CHECK(bad.poll(1000ms) == 1);  // seq 2 is still there
}

TEST_CASE("perf buffer: events<T>() with the CPU, ending on a stop_token") {
    auto mod = events_test::open_stream();
    auto& pb = mod.perf_buffer("perf_events");
    PinToCpu pin(0);
    produce(mod, 300, TARGET_PERF);
    std::stop_source source;
    std::vector<std::uint32_t> seqs;
    auto range = pb.events<stream_event>(source.get_token());
    for (auto it = range.begin(); it != range.end(); ++it) {
        CHECK(it.cpu() == 0);
        CHECK(intact(*it, it->seq));
        seqs.push_back(it->seq);
        if (seqs.size() == 300) source.request_stop();
    }
    REQUIRE(seqs.size() == 300);
    for (std::uint32_t i = 0; i < 300; ++i) CHECK(seqs[i] == i);

    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        pb.stop();
    });
    int n = 0;
    for (const stream_event& e : pb.events<stream_event>()) {
        (void)e;
        ++n;
    }
    stopper.join();
    CHECK(n == 0);
}

TEST_CASE("perf buffer: the iterator reads wrapped rings and reports lost records") {
    auto mod = events_test::open_stream();
    std::uint64_t reported = 0;
    auto& pb = mod.perf_buffer("perf_events", nullptr, [&](int, std::uint64_t n) { reported += n; },
                               bpf::PerfBufferOptions{.pages = 1});
    PinToCpu pin(0);
    std::vector<std::uint32_t> seqs;
    for (int round = 0; round < 20; ++round) {  // 20 x 30 records of 96 bytes wrap a 4 KiB ring
        produce(mod, 30, TARGET_PERF);
        std::stop_source source;
        for (const stream_event& e : pb.events<stream_event>(source.get_token())) {
            CHECK(intact(e, e.seq));
            seqs.push_back(e.seq);
            if (seqs.size() % 30 == 0) source.request_stop();
        }
    }
    REQUIRE(seqs.size() == 600);
    for (std::uint32_t i = 0; i < 600; ++i) CHECK(seqs[i] == i);

    produce(mod, 1000, TARGET_PERF);  // flood the sleeping consumer
    const std::uint64_t failures = events_test::global(mod, "failures");
    CHECK(failures > 900);
    // Each iteration ends by itself once it has what is expected; the guard only turns
    // a bug into a failure instead of a hang.
    auto read = [&](std::size_t want) {
        std::stop_source source;
        std::size_t got = 0;
        std::jthread guard([&](std::stop_token st) {
            for (int i = 0; i < 200 && !st.stop_requested(); ++i) std::this_thread::sleep_for(10ms);
            source.request_stop();
        });
        for (const stream_event& e : pb.events<stream_event>(source.get_token())) {
            CHECK(intact(e, e.seq));
            if (++got == want) source.request_stop();
        }
        return got;
    };
    CHECK(read(1000 - failures) == 1000 - failures);
    produce(mod, 1, TARGET_PERF);  // room again: the kernel writes the LOST record, then this
    CHECK(read(1) == 1);
    CHECK(pb.lost() == failures);
    CHECK(pb.lost(0) == failures);
    CHECK(reported == failures);
}

TEST_CASE("perf buffer: callbacks read wrapped rings in order, one ring's worth per call at most") {
    auto mod = events_test::open_stream();
    std::vector<std::uint32_t> seqs;
    bool bad = false;
    auto& pb = mod.perf_buffer(
        "perf_events",
        [&](int cpu, const stream_event& e) {
            if (cpu != 0 || !intact(e, e.seq)) bad = true;
            seqs.push_back(e.seq);
        },
        nullptr, bpf::PerfBufferOptions{.pages = 1});
    PinToCpu pin(0);
    for (int round = 0; round < 20; ++round) {  // 20 x 30 records of 96 bytes wrap a 4 KiB ring
        produce(mod, 30, TARGET_PERF);
        CHECK(pb.consume() == 30);
    }
    CHECK_FALSE(bad);
    REQUIRE(seqs.size() == 600);
    for (std::uint32_t i = 0; i < 600; ++i) CHECK(seqs[i] == i);
    CHECK(pb.lost() == 0);
    CHECK(pb.consume() == 0);
}

TEST_CASE("perf buffer: errors say what to do") {
    auto mod = events_test::open_stream();
    CHECK_THROWS_WITH(mod.perf_buffer("events", [](int, std::span<const std::byte>) {}),
                      Contains("not a BPF_MAP_TYPE_PERF_EVENT_ARRAY (use RingBuffer"));
    CHECK_THROWS_WITH(mod.perf_buffer("perf_events", [](int, std::span<const std::byte>) {}, nullptr, 3),
                      Contains("pages must be a power of two, got 3"));
}

TEST_CASE("perf buffer: a live producer on another CPU wraps a one-page ring thousands of times") {
    // The reader's memory ordering: a record read before the kernel made it visible, or
    // data_tail published before the record was read, shows up here as a torn, repeated
    // or missing event (check, payload and sequence are verified for each one).
    if (bpf::num_possible_cpus() < 2) SKIP_TEST("needs two CPUs for producer and consumer");
    auto mod = events_test::open_stream();
    std::atomic<std::uint64_t> count{0};
    std::uint64_t torn = 0, disorder = 0, wrong_cpu = 0;
    std::int64_t last = -1;
    auto& pb = mod.perf_buffer(
        "perf_events",
        [&](int cpu, const stream_event& e) {
            if (!intact(e, e.seq)) ++torn;
            if (cpu != 1 || e.cpu != 1) ++wrong_cpu;
            if (static_cast<std::int64_t>(e.seq) <= last) ++disorder;
            last = e.seq;
            count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        },
        nullptr, 1);
    PinToCpu pin(0);
    std::atomic<bool> producing{true};
    std::thread producer([&] {
        PinToCpu on(1);
        // At most about two chunks ahead of the consumer (one page holds ~40 records), so
        // the ring keeps wrapping with both sides busy; lost records keep the count going.
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        for (std::uint64_t i = 0; i < 2000; ++i) {
            produce(mod, 16, TARGET_PERF);
            while (16 * (i + 1) > count.load(std::memory_order_acquire) + events_test::global(mod, "failures") + 32 &&
                   std::chrono::steady_clock::now() < deadline)
                std::this_thread::yield();
        }
        producing = false;
    });
    while (producing.load()) pb.poll(10ms);
    producer.join();
    while (pb.poll(10ms) > 0) {
    }
    const std::uint64_t failures = events_test::global(mod, "failures");
    CHECK(torn == 0);
    CHECK(disorder == 0);
    CHECK(wrong_cpu == 0);
    CHECK(count.load() + failures == 2000 * 16);
    if (testing::feature(testing::Feature::PerfLostCounter).available) {
        CHECK(pb.lost() == failures);
        CHECK(pb.lost(1) == failures);
    } else {
        // Records lost after the producer's last successful write are never reported.
        INFO("no PERF_FORMAT_LOST on this kernel: only LOST records count");
        CHECK(pb.lost() <= failures);
        CHECK(pb.lost(1) <= failures);
    }
    CHECK(count.load() > 4096 / 96 * 100);  // the ring wrapped at least a hundred times
}

TEST_CASE("perf buffer: a range left by a break gives back the records it took and did not yield") {
    auto mod = events_test::open_stream();
    auto& pb = mod.perf_buffer("perf_events", nullptr, nullptr, bpf::PerfBufferOptions{.pages = 4});
    {
        PinToCpu pin(0);
        produce(mod, 100, TARGET_PERF);
    }
    std::vector<std::uint32_t> seqs;
    for (int range = 0; range < 10; ++range) {
        for (const stream_event& e : pb.events<stream_event>()) {
            REQUIRE(intact(e, e.seq));
            seqs.push_back(e.seq);
            if (seqs.size() % 10 == 0) break;
        }
    }
    REQUIRE(seqs.size() == 100);
    for (std::uint32_t i = 0; i < 100; ++i) CHECK(seqs[i] == i);
    // A poll() after the last range finds nothing left over.
    CHECK(pb.consume() == 0);
}
