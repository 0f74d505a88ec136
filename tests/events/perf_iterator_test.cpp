// Kernel integration: PerfBuffer::events<T>(), whose iterator walks the mapped CPU rings
// itself, record by record: a stop under a flood ends it within 64 events, and a lost
// callback that throws ends a range without losing or repeating anything.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sched.h>

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
using events_test::intact;
using events_test::produce;

namespace {

void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

}  // namespace

TEST_CASE("perf buffer: events<T>() ends within 64 events of a stop while a producer floods the rings") {
    auto mod = events_test::open_stream();
    auto& pb = mod.perf_buffer("perf_events", bpf::PerfBufferOptions{.pages = 256});
    std::atomic<bool> flood{true};
    std::thread producer([&] {
        while (flood.load()) produce(mod, 2000, TARGET_PERF);
    });
    std::stop_source source;
    std::uint64_t n = 0, torn = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (const stream_event& e : pb.events<stream_event>(source.get_token())) {
        if (!intact(e, e.seq)) ++torn;
        if (++n == 20000) {
            source.request_stop();
            t0 = std::chrono::steady_clock::now();
        }
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    flood = false;
    producer.join();
    CHECK(n >= 20000);
    CHECK(n <= 20000 + 64);
    CHECK(torn == 0);
    CHECK(took < testing::scaled(100ms));
}

TEST_CASE("perf buffer: a lost callback that throws ends events<T>(); the next range goes on after that notice") {
    auto mod = events_test::open_stream();
    int calls = 0;
    std::uint64_t reported = 0;
    auto& pb = mod.perf_buffer(
        "perf_events", nullptr,
        [&](int, std::uint64_t count) {
            ++calls;
            reported += count;
            throw std::runtime_error("lost records");
        },
        bpf::PerfBufferOptions{.pages = 1});
    pin_to(0);
    produce(mod, 100, TARGET_PERF);  // 96-byte records: a 4 KiB ring holds 42, the rest are lost
    const std::uint64_t failures = events_test::global(mod, "failures");
    REQUIRE(failures > 0);
    std::vector<std::uint32_t> seqs;
    for (const stream_event& e : pb.events<stream_event>()) {
        REQUIRE(intact(e, e.seq));
        seqs.push_back(e.seq);
        if (seqs.size() == 100 - failures) break;
    }
    produce(mod, 1, TARGET_PERF);  // room again: the kernel writes the LOST notice, then this
    CHECK_THROWS_WITH(
        [&] {
            for (const stream_event& e : pb.events<stream_event>()) seqs.push_back(e.seq);
        }(),
        "lost records");
    CHECK(calls == 1);
    std::stop_source source;
    for (const stream_event& e : pb.events<stream_event>(source.get_token())) {
        seqs.push_back(e.seq);
        source.request_stop();
    }
    CHECK(calls == 1);  // the notice is not reported again
    CHECK(reported == failures);
    REQUIRE(seqs.size() == 100 - failures + 1);
    CHECK(seqs.back() == 100);  // the record after the notice
}
