// Kernel integration: bpf::EventLoop serving a ring buffer and a perf buffer together,
// from its own thread and from the user's epoll loop, cancelled by stop() and tokens.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

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
using events_test::intact;
using events_test::produce;

TEST_CASE("event loop: one thread serves a ring buffer and a perf buffer until its token stops") {
    auto mod = events_test::open_stream();
    std::atomic<std::uint32_t> ring_n{0}, perf_n{0}, bad{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        if (e.target != TARGET_RING || !intact(e, e.seq)) bad.fetch_add(1);
        ring_n.fetch_add(1);
    });
    auto& pb = mod.perf_buffer("perf_events", [&](int, const stream_event& e) {
        if (e.target != TARGET_PERF || !intact(e, e.seq)) bad.fetch_add(1);
        perf_n.fetch_add(1);
    });
    bpf::EventLoop loop;
    loop.add(rb).add(pb);
    CHECK(loop.size() == 2);
    {
        std::jthread t([&](std::stop_token st) { loop.run(st); });
        produce(mod, 100, TARGET_RING);
        produce(mod, 30, TARGET_PERF);
        produce(mod, 100, TARGET_RING);
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while ((ring_n.load() < 200 || perf_n.load() < 30) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
    }  // ~jthread requests the stop and joins: run() must return
    CHECK(ring_n.load() == 200);
    CHECK(perf_n.load() == 30);
    CHECK(bad.load() == 0);
}

TEST_CASE("event loop: its fd in the user's epoll, and stop() from a callback") {
    auto mod = events_test::open_stream();
    std::vector<std::uint32_t> seqs;
    bpf::EventLoop loop;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        seqs.push_back(e.seq);
        if (e.seq == 9) loop.stop();
    });
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event& e) { seqs.push_back(e.seq); });
    loop.add(rb).add(pb);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, loop.fd(), &ev) == 0);
    CHECK(epoll_wait(ep, &ev, 1, 0) == 0);
    produce(mod, 5, TARGET_PERF);
    CHECK(epoll_wait(ep, &ev, 1, 1000) == 1);
    CHECK(loop.poll(0ms) == 5);
    close(ep);

    produce(mod, 10, TARGET_RING);  // seq 5..14; the callback of seq 9 stops run()
    auto t0 = std::chrono::steady_clock::now();
    loop.run();
    CHECK(std::chrono::steady_clock::now() - t0 < testing::scaled(2s));
    REQUIRE(seqs.size() >= 10);
    for (std::uint32_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == i);
}

TEST_CASE("event loop: a callback's exception leaves poll(); the next poll continues") {
    auto mod = events_test::open_stream();
    std::vector<std::uint32_t> seqs;
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event& e) {
        if (e.seq == 2) throw std::runtime_error("failed at 2");
        seqs.push_back(e.seq);
    });
    bpf::EventLoop loop;
    loop.add(pb);
    produce(mod, 6, TARGET_PERF);
    CHECK_THROWS_WITH(loop.poll(1000ms), "failed at 2");
    CHECK(loop.poll(1000ms) == 3);
    CHECK(seqs == std::vector<std::uint32_t>{0, 1, 3, 4, 5});
}

TEST_CASE("event loop: a stop() made before run() started ends that run()") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events", [](const stream_event&) {});
    bpf::EventLoop loop;
    loop.add(rb);
    loop.stop();  // e.g. a thread launched run() and stopped it before run() began
    std::atomic<bool> returned{false};
    std::thread t([&] {
        loop.run();
        returned = true;
    });
    const bool ended = testing::wait_until([&] { return returned.load(); }, 5s);
    CHECK(ended);
    if (!ended) loop.stop();  // frees a run() that missed the first stop, so the test can end
    t.join();
    // The stop was consumed: the next run() serves the buffer until its own stop().
    std::atomic<std::uint32_t> seen{0};
    auto& rb2 = mod.ring_buffer("events2", [&](const stream_event&) {
        if (seen.fetch_add(1) == 2) loop.stop();
    });
    loop.add(rb2);
    produce(mod, 3, TARGET_RING2);
    loop.run();
    CHECK(seen.load() == 3);
}

// The walk over every buffer that follows a callback's exception must survive a callback
// that adds a buffer: the list it walks grows (and reallocates) under it.
TEST_CASE("event loop: a callback adds a buffer while the loop walks them after an exception") {
    auto mod = events_test::open_stream();
    bpf::EventLoop loop;
    std::vector<std::uint32_t> ring_seqs, ring2_seqs;
    bpf::RingBuffer* rb2 = nullptr;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        if (e.seq == 1) throw std::runtime_error("failed at 1");
        ring_seqs.push_back(e.seq);
        if (e.seq == 2) loop.add(*rb2);  // during the walk of the resumed poll
    });
    rb2 = &mod.ring_buffer("events2", [&](const stream_event& e) { ring2_seqs.push_back(e.seq); });
    auto& pb = mod.perf_buffer("perf_events", [](const stream_event&) {});
    loop.add(rb).add(pb);  // two entries: the vector is full, the add in the callback grows it
    REQUIRE(loop.size() == 2);
    produce(mod, 4, TARGET_RING);
    CHECK_THROWS_WITH(loop.poll(1000ms), "failed at 1");
    CHECK(loop.poll(1000ms) == 2);  // the resumed walk: seq 2 (adds rb2) and 3
    CHECK(loop.size() == 3);
    produce(mod, 2, TARGET_RING2);
    CHECK(testing::wait_until([&] {
        (void)loop.poll(10ms);
        return ring2_seqs.size() == 2;
    }, 5s));
    CHECK(ring_seqs == std::vector<std::uint32_t>{0, 2, 3});
    CHECK(ring2_seqs == std::vector<std::uint32_t>{4, 5});
}

// add() from a thread other than the one in run(): the running loop serves the new buffer.
TEST_CASE("event loop: add() from another thread while run() serves the loop") {
    auto mod = events_test::open_stream();
    std::atomic<std::uint32_t> ring_n{0}, perf_n{0};
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { ring_n.fetch_add(1); });
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event&) { perf_n.fetch_add(1); });
    bpf::EventLoop loop;
    loop.add(rb);
    std::jthread t([&](std::stop_token st) { loop.run(st); });
    produce(mod, 10, TARGET_RING);
    CHECK(testing::wait_until([&] { return ring_n.load() == 10; }, 5s));
    loop.add(pb);  // while run() waits in epoll_wait or walks the buffers
    CHECK(loop.size() == 2);
    produce(mod, 10, TARGET_PERF);
    produce(mod, 10, TARGET_RING);
    CHECK(testing::wait_until([&] { return perf_n.load() == 10 && ring_n.load() == 20; }, 5s));
}

// remove() from another thread during run(): once it returns, no callback of that buffer
// runs (it may be destroyed), and the other buffers are still served.
TEST_CASE("event loop: remove() and add() from another thread during run()") {
    auto mod = events_test::open_stream();
    std::atomic<std::uint32_t> ring_n{0}, perf_n{0};
    std::atomic<bool> in_ring{false};
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) {
        in_ring.store(true);
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // widens the window for a race
        ring_n.fetch_add(1);
        in_ring.store(false);
    });
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event&) { perf_n.fetch_add(1); });
    bpf::EventLoop loop;
    loop.add(rb).add(pb);
    std::jthread t([&](std::stop_token st) { loop.run(st); });
    for (int round = 0; round < 20; ++round) {
        produce(mod, 20, TARGET_RING);
        std::this_thread::sleep_for(std::chrono::microseconds(500 * (round % 4)));
        REQUIRE(loop.remove(rb));
        CHECK_FALSE(in_ring.load());  // no callback of the removed buffer is running
        const std::uint32_t seen = ring_n.load();
        CHECK_FALSE(loop.remove(rb));  // not served any more
        CHECK(loop.size() == 1);
        produce(mod, 2, TARGET_PERF);
        const std::uint32_t perf_goal = 2 * static_cast<std::uint32_t>(round + 1);
        CHECK(testing::wait_until([&] { return perf_n.load() == perf_goal; }, 5s));
        CHECK(ring_n.load() == seen);  // nothing delivered for the removed buffer
        loop.add(rb);
        CHECK(testing::wait_until([&] { return ring_n.load() == 20 * static_cast<std::uint32_t>(round + 1); }, 5s));
    }
}

// remove() from a callback: the removed buffer is not consumed again (its records wait
// in it until it is added again); a buffer that removes itself still delivers the records
// of the pass under way.
TEST_CASE("event loop: a callback removes a buffer, another one or its own") {
    auto mod = events_test::open_stream();
    bpf::EventLoop loop;
    std::vector<std::uint32_t> ring_seqs, ring2_seqs;
    bool remove_self = false;
    bpf::RingBuffer* rb2 = nullptr;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        ring_seqs.push_back(e.seq);
        CHECK(loop.remove(*rb2));
    });
    rb2 = &mod.ring_buffer("events2", [&](const stream_event& e) {
        ring2_seqs.push_back(e.seq);
        if (remove_self) CHECK(loop.remove(*rb2) == (e.seq == 3));
    });
    loop.add(rb).add(*rb2);
    produce(mod, 1, TARGET_RING);  // seq 0: its callback removes rb2
    CHECK(loop.poll(1000ms) == 1);
    CHECK(loop.size() == 1);
    produce(mod, 2, TARGET_RING2);  // seq 1, 2: held in rb2, which the loop no longer serves
    CHECK(loop.poll(50ms) == 0);
    CHECK(ring2_seqs.empty());
    loop.add(*rb2);
    CHECK(loop.poll(1000ms) == 2);
    CHECK(ring2_seqs == std::vector<std::uint32_t>{1, 2});

    remove_self = true;
    produce(mod, 2, TARGET_RING2);  // seq 3 removes rb2 from its own callback; seq 4 is the same pass
    CHECK(loop.poll(1000ms) == 2);
    CHECK(loop.size() == 1);
    produce(mod, 1, TARGET_RING2);  // seq 5: not served
    CHECK(loop.poll(50ms) == 0);
    CHECK(ring2_seqs == std::vector<std::uint32_t>{1, 2, 3, 4});
    CHECK(ring_seqs == std::vector<std::uint32_t>{0});
}
