// Kernel integration: RingBuffer::view<T>() and PerfBuffer::view<T>(), records read in
// place and handed back to the producer when the view ends; and the events<T>() iterator
// reading in place where the buffer aligns records for T.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "stream_util.hpp"

using namespace std::chrono_literals;
using events_test::intact;
using events_test::produce;

namespace {

// A ring record of stream_event: 8-byte header + 84 bytes, rounded up to 8.
constexpr std::ptrdiff_t ring_record = 96;
// A perf sample of it: 8-byte header + 4-byte size + 84 bytes, rounded up to 8.
constexpr std::ptrdiff_t perf_record = 96;

std::ptrdiff_t distance(const void* a, const void* b) {
    return static_cast<const std::byte*>(b) - static_cast<const std::byte*>(a);
}

/// The consumer position the kernel sees: the ring map's first page, mapped again.
class PublishedPosition {
public:
    explicit PublishedPosition(int map_fd) : page_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))) {
        void* p = mmap(nullptr, page_, PROT_READ, MAP_SHARED, map_fd, 0);
        REQUIRE(p != MAP_FAILED);
        pos_ = static_cast<const unsigned long*>(p);
    }
    ~PublishedPosition() { munmap(const_cast<unsigned long*>(pos_), page_); }
    unsigned long get() const { return std::atomic_ref(*const_cast<unsigned long*>(pos_)).load(std::memory_order_acquire); }

private:
    std::size_t page_;
    const unsigned long* pos_ = nullptr;
};

/// Runs `f` on this thread pinned to `cpu`, then restores the affinity.
template <class F>
void on_cpu(int cpu, F&& f) {
    cpu_set_t old, one;
    REQUIRE(sched_getaffinity(0, sizeof old, &old) == 0);
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    f();
    sched_setaffinity(0, sizeof old, &old);
}

}  // namespace

TEST_CASE("ring buffer view: records in place, in order, intact, handed back when the view ends") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    PublishedPosition published(mod.map("events").fd());
    const unsigned long start = published.get();
    produce(mod, 100, TARGET_RING);
    {
        auto view = rb.view<stream_event, 64>();
        REQUIRE(view.size() == 64);
        std::uint32_t bad = 0, seq = 0;
        for (const stream_event& e : view)
            if (!intact(e, seq++)) ++bad;
        CHECK(bad == 0);
        // In place: consecutive records one ring record apart, 8-aligned, not copies.
        for (std::size_t i = 1; i < view.size(); ++i) REQUIRE(distance(&view[i - 1], &view[i]) == ring_record);
        CHECK(reinterpret_cast<std::uintptr_t>(&view[0]) % 8 == 0);
        // Nothing handed back while the view holds the records.
        CHECK(published.get() == start);
    }
    CHECK(published.get() == start + 64 * ring_record);
    {
        auto view = rb.view<stream_event>();
        REQUIRE(view.size() == 36);
        CHECK(intact(view[0], 64));
        CHECK(intact(view[35], 99));
    }
    CHECK(published.get() == start + 100 * ring_record);
    auto empty = rb.view<stream_event>();
    CHECK(empty.empty());
    CHECK(empty.begin() == empty.end());
}

TEST_CASE("ring buffer view: N bounds the batch, and a view waits for its first record") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    produce(mod, 10, TARGET_RING);
    {
        auto view = rb.view<stream_event, 4>();
        REQUIRE(view.size() == 4);
        CHECK(intact(view[3], 3));
    }
    {
        auto view = rb.view<stream_event, 4>();
        REQUIRE(view.size() == 4);
        CHECK(intact(view[0], 4));
    }
    {
        auto view = rb.view<stream_event>();
        REQUIRE(view.size() == 2);
        CHECK(intact(view[1], 9));
    }
    std::thread later([&] {
        std::this_thread::sleep_for(50ms);
        produce(mod, 1, TARGET_RING);
    });
    {
        auto view = rb.view<stream_event>(5s);
        later.join();
        REQUIRE(view.size() == 1);
        CHECK(intact(view[0], 10));
    }
    // Without N, a view takes up to 256 records.
    produce(mod, 300, TARGET_RING);
    {
        auto view = rb.view<stream_event>();
        REQUIRE(view.size() == 256);
        CHECK(intact(view[0], 11));
        CHECK(intact(view[255], 266));
    }
    {
        auto view = rb.view<stream_event>();
        REQUIRE(view.size() == 44);
        CHECK(intact(view[43], 310));
    }
}

TEST_CASE("ring buffer view: another thread's read waits for the view to end") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events", [](const stream_event&) {});
    produce(mod, 3, TARGET_RING);
    auto view = rb.view<stream_event>();
    REQUIRE(view.size() == 3);
    std::thread other([&] { CHECK_THROWS_WITH(rb.consume(), Catch::Matchers::Contains("another thread is reading it")); });
    other.join();
}

TEST_CASE("ring buffer view: a live producer on another thread, every record once, in order") {
    // Room for every record: a consumer the machine keeps from running must not make the
    // producer drop (what this checks is the view's hand-back, not the ring's size).
    auto mod = events_test::open_stream([](bpf::Module& m) { m.map("events").set_max_entries(4u << 20); });
    auto& rb = mod.ring_buffer("events");
    constexpr std::uint32_t total = 20000;
    std::thread producer([&] {
        for (std::uint32_t done = 0; done < total; done += 500) {
            produce(mod, 500, TARGET_RING);
            std::this_thread::yield();
        }
    });
    std::uint32_t next = 0, bad = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (next < total && std::chrono::steady_clock::now() < deadline) {
        auto view = rb.view<stream_event>(100ms);
        for (const stream_event& e : view)
            if (!intact(e, next++)) ++bad;
    }
    producer.join();
    CHECK(next == total);
    CHECK(bad == 0);
    CHECK(events_test::global(mod, "failures") == 0);
}

TEST_CASE("ring buffer view: discarded records skipped, the view ends before a short one, which the next view reports") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    PublishedPosition published(mod.map("events").fd());
    const unsigned long start = published.get();
    // seq 0-2 full, 3-4 discarded, 5 full, 6-7 short (12 bytes: 24 in the ring), 8-9 full.
    produce(mod, 3, TARGET_RING);
    produce(mod, 2, TARGET_RING_DISCARD);
    produce(mod, 1, TARGET_RING);
    produce(mod, 2, TARGET_RING_SHORT);
    produce(mod, 2, TARGET_RING);
    {
        auto view = rb.view<stream_event>();
        std::vector<std::uint32_t> seqs, again;
        for (const stream_event& e : view) {
            CHECK(intact(e, e.seq));
            seqs.push_back(e.seq);
        }
        CHECK(seqs == std::vector<std::uint32_t>{0, 1, 2, 5});
        for (const stream_event& e : view) again.push_back(e.seq);  // a view may be walked again
        CHECK(again == seqs);
        REQUIRE(view.size() == 4);
        CHECK(view[3].seq == 5);
        CHECK(rb.short_records() == 0);  // not reached yet
        CHECK(published.get() == start);
    }
    CHECK(published.get() == start + 6 * ring_record);  // up to the first short record
    {
        auto view = rb.view<stream_event>();
        CHECK(rb.short_records() == 2);
        REQUIRE(view.size() == 2);
        CHECK(intact(view[0], 8));
        CHECK(intact(view[1], 9));
    }
    CHECK(published.get() == start + 8 * ring_record + 2 * 24);
    CHECK(rb.short_records() == 2);  // reported once
}

TEST_CASE("ring buffer view: left after one record, or never iterated, it consumes all its records") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    PublishedPosition published(mod.map("events").fd());
    const unsigned long start = published.get();
    produce(mod, 10, TARGET_RING);
    {
        auto view = rb.view<stream_event, 4>();
        for (const stream_event& e : view) {
            CHECK(intact(e, 0));
            break;
        }
    }
    CHECK(published.get() == start + 4 * ring_record);
    { auto view = rb.view<stream_event, 3>(); }  // not looked at
    CHECK(published.get() == start + 7 * ring_record);
    {
        auto view = rb.view<stream_event>();
        REQUIRE(view.size() == 3);  // indexed before the loop, then walked
        std::uint32_t seq = 7, bad = 0;
        for (auto it = view.begin(); it != view.end(); ++it)
            if (!intact(*it, seq++)) ++bad;
        CHECK(bad == 0);
        CHECK(seq == 10);
    }
    CHECK(published.get() == start + 10 * ring_record);
}

TEST_CASE("perf buffer view: a lost-record notice ends the view before it; the next view reports it, then reads on") {
    auto mod = events_test::open_stream();
    int calls = 0;
    std::uint64_t reported = 0;
    auto& pb = mod.perf_buffer(
        "perf_events", nullptr,
        [&](int, std::uint64_t count) {
            ++calls;
            reported += count;
        },
        bpf::PerfBufferOptions{.pages = 1});
    on_cpu(0, [&] { produce(mod, 100, TARGET_PERF); });  // 96-byte records: a 4 KiB ring holds 42
    const std::uint64_t failures = events_test::global(mod, "failures");
    REQUIRE(failures > 0);
    const auto kept = static_cast<std::uint32_t>(100 - failures);
    {
        auto view = pb.view<stream_event, 10>();
        REQUIRE(view.size() == 10);
        CHECK(intact(view[9], 9));
    }
    // Room for the kernel's notice of the lost records, then 5 more: the ring now holds
    // kept - 10 old records, the notice and the 5 new ones.
    on_cpu(0, [&] { produce(mod, 5, TARGET_PERF); });
    REQUIRE(events_test::global(mod, "failures") == failures);
    {
        auto view = pb.view<stream_event, 64>();
        std::uint32_t seq = 10, bad = 0;
        for (const stream_event& e : view)
            if (!intact(e, seq++)) ++bad;
        CHECK(bad == 0);
        CHECK(seq == kept);  // the old records, and not past the notice
        CHECK(view.size() == kept - 10);
        CHECK(calls == 0);
    }
    {
        auto view = pb.view<stream_event, 64>();
        CHECK(calls == 1);
        CHECK(reported == failures);
        REQUIRE(view.size() == 5);
        CHECK(intact(view[0], 100));
        CHECK(intact(view[4], 104));
    }
    CHECK(pb.view<stream_event>().empty());
    CHECK(calls == 1);
}

TEST_CASE("perf buffer view: samples in place (4-aligned), with their CPU, handed back when the view ends") {
    auto mod = events_test::open_stream();
    bpf::PerfBufferOptions o;
    o.pages = 64;
    auto& pb = mod.perf_buffer("perf_events", o);
    on_cpu(0, [&] { produce(mod, 100, TARGET_PERF); });
    {
        auto view = pb.view<stream_event, 64>();
        REQUIRE(view.size() == 64);
        std::uint32_t bad = 0, seq = 0;
        for (auto it = view.begin(); it != view.end(); ++it) {
            if (!intact(*it, seq++)) ++bad;
            if (it.cpu() != 0) ++bad;
        }
        CHECK(bad == 0);
        for (std::size_t i = 1; i < view.size(); ++i) REQUIRE(distance(&view[i - 1], &view[i]) == perf_record);
        CHECK(reinterpret_cast<std::uintptr_t>(&view[0]) % 4 == 0);
    }
    {
        auto view = pb.view<stream_event>();
        REQUIRE(view.size() == 36);
        CHECK(intact(view[0], 64));
        CHECK(intact(view[35], 99));
    }
    // What the views took is gone: a callback-less consume() finds nothing of it, and
    // the next view starts at the next record written.
    on_cpu(0, [&] { produce(mod, 1, TARGET_PERF); });
    auto view = pb.view<stream_event>();
    REQUIRE(view.size() == 1);
    CHECK(intact(view[0], 100));
}

TEST_CASE("perf buffer view: a live producer on another thread, every record once, in order") {
    auto mod = events_test::open_stream();
    bpf::PerfBufferOptions o;
    o.pages = 1024;  // 4 MiB: room for every record, as in the ring buffer's test
    auto& pb = mod.perf_buffer("perf_events", o);
    constexpr std::uint32_t total = 20000;
    std::thread producer([&] {
        on_cpu(0, [&] {
            for (std::uint32_t done = 0; done < total; done += 500) produce(mod, 500, TARGET_PERF);
        });
    });
    std::uint32_t next = 0, bad = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (next < total && std::chrono::steady_clock::now() < deadline) {
        auto view = pb.view<stream_event>(100ms);
        for (const stream_event& e : view)
            if (!intact(e, next++)) ++bad;
    }
    producer.join();
    CHECK(pb.lost() == 0);
    CHECK(next == total);
    CHECK(bad == 0);
}

TEST_CASE("iterator: events<T>() reads ring records in place") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events");
    produce(mod, 10, TARGET_RING);
    std::vector<const stream_event*> seen;
    std::uint32_t bad = 0, seq = 0;
    for (const stream_event& e : rb.events<stream_event>()) {
        if (!intact(e, seq++)) ++bad;
        seen.push_back(&e);
        if (seq == 10) break;
    }
    CHECK(bad == 0);
    REQUIRE(seen.size() == 10);
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(distance(seen[i - 1], seen[i]) == ring_record);
}
