// Kernel integration: ring buffers, perf buffers and an EventLoop served by an asio
// io_context through bpf::asio sources, with every kind of completion token, bounded
// deliveries, loss reports, cancellation, and buffers, modules and io_contexts that go
// away while an operation is pending.
#include <catch2/catch.hpp>

#include <libbpfcpp/asio.hpp>
#include <libbpfcpp/libbpfcpp.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "stream_util.hpp"

using namespace std::chrono_literals;
using events_test::intact;
using events_test::produce;

namespace {

struct Seen {
    std::vector<std::uint32_t> seqs;
    int bad = 0;
    void add(const stream_event& e) {
        if (!intact(e, e.seq)) ++bad;
        seqs.push_back(e.seq);
    }
    [[nodiscard]] bool in_order_from(std::uint32_t first) const {
        for (std::size_t i = 0; i < seqs.size(); ++i)
            if (seqs[i] != first + i) return false;
        return true;
    }
};

// Runs `io` until `done` or the deadline; false on the deadline.
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(limit);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        io.restart();
        io.run_for(10ms);
    }
    return true;
}

}  // namespace

TEST_CASE("asio: records arrive through a callback, use_awaitable, use_future and deferred") {
    auto mod = events_test::open_stream();
    Seen seen;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) { seen.add(e); });
    asio::io_context io;
    bpf::asio::RingSource src(io, rb);

    // A plain callback.
    produce(mod, 10, TARGET_RING);
    std::error_code got_ec = asio::error::timed_out;
    bpf::asio::Delivery got;
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery d) {
        got_ec = ec;
        got = d;
    });
    CHECK(got_ec == asio::error::timed_out);  // never completed inside the initiation
    io.run();
    CHECK(!got_ec);
    CHECK(got.events == 10);
    CHECK(!got.more);
    CHECK(got.lost == 0);

    // A coroutine that waits before anything was produced.
    io.restart();
    std::size_t awaited = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            while (awaited < 20) awaited += (co_await src.async_consume(asio::use_awaitable)).events;
        },
        asio::detached);
    io.run_for(20ms);
    CHECK(awaited == 0);
    std::jthread producer([&] { produce(mod, 20, TARGET_RING); });
    producer.join();
    REQUIRE(run_until(io, [&] { return awaited == 20; }));

    // use_future.
    io.restart();
    produce(mod, 5, TARGET_RING);
    std::future<bpf::asio::Delivery> f = src.async_consume(asio::use_future);
    io.run();
    CHECK(f.get().events == 5);

    // deferred: nothing starts until the deferred operation is invoked.
    io.restart();
    auto op = src.async_consume(asio::experimental::deferred);
    produce(mod, 7, TARGET_RING);
    io.run();
    CHECK(seen.seqs.size() == 35);
    std::size_t deferred_n = 0;
    std::move(op)([&](std::error_code ec, bpf::asio::Delivery d) {
        CHECK(!ec);
        deferred_n = d.events;
    });
    io.restart();
    io.run();
    CHECK(deferred_n == 7);

    CHECK(seen.seqs.size() == 42);
    CHECK(seen.in_order_from(0));
    CHECK(seen.bad == 0);
}

TEST_CASE("asio: a perf buffer and an EventLoop as sources, in one coroutine each") {
    auto mod = events_test::open_stream();
    Seen perf_seen, loop_seen;
    auto& pb = mod.perf_buffer("perf_events", [&](int, const stream_event& e) { perf_seen.add(e); });
    asio::io_context io;
    bpf::asio::PerfSource psrc(io, pb);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            while (perf_seen.seqs.size() < 30) co_await psrc.async_consume(asio::use_awaitable);
        },
        asio::detached);
    produce(mod, 30, TARGET_PERF);
    REQUIRE(run_until(io, [&] { return perf_seen.seqs.size() == 30; }));
    CHECK(perf_seen.in_order_from(0));
    CHECK(perf_seen.bad == 0);

    auto& rb2 = mod.ring_buffer("events2", [&](const stream_event& e) { loop_seen.add(e); });
    bpf::EventLoop loop;
    loop.add(rb2);
    bpf::asio::LoopSource lsrc(io, loop);
    std::size_t polled = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            while (polled < 40) polled += (co_await lsrc.async_consume(asio::use_awaitable)).events;
        },
        asio::detached);
    produce(mod, 40, TARGET_RING2);
    REQUIRE(run_until(io, [&] { return polled == 40; }));
    CHECK(loop_seen.seqs.size() == 40);
    CHECK(loop_seen.in_order_from(30));
}

TEST_CASE("asio: max_events bounds each operation; the rest comes at once, and typed batches") {
    auto mod = events_test::open_stream();
    bpf::asio::Collector<stream_event> collected;
    auto& rb = mod.ring_buffer("events", collected.callback());
    asio::io_context io;
    bpf::asio::SourceOptions o;
    o.max_events = 16;
    bpf::asio::RingSource src(io, rb, o);
    produce(mod, 100, TARGET_RING);
    std::vector<bpf::asio::Received<stream_event>> batches;
    std::function<void()> next = [&] {
        src.async_receive(collected, [&](std::error_code ec, bpf::asio::Received<stream_event> r) {
            REQUIRE(!ec);
            const bool more = r.more;
            batches.push_back(std::move(r));
            if (more) next();
        });
    };
    next();
    io.run();  // returns only when an operation found the ring empty without waiting
    REQUIRE(batches.size() == 7);  // 6 x 16 + 4
    std::uint32_t seq = 0;
    for (std::size_t i = 0; i < batches.size(); ++i) {
        CHECK(batches[i].events.size() == (i < 6 ? 16u : 4u));
        CHECK(batches[i].more == (i < 6));
        for (const auto& e : batches[i].events) CHECK(intact(e, seq++));
    }
    CHECK(seq == 100);

    // A perf buffer's bound holds across CPUs too.
    bpf::asio::Collector<stream_event> pcollected;
    auto& pb = mod.perf_buffer("perf_events", pcollected.callback());
    bpf::asio::PerfSource psrc(io, pb, o);
    produce(mod, 40, TARGET_PERF);
    std::vector<std::size_t> sizes;
    std::function<void()> pnext = [&] {
        psrc.async_receive(pcollected, [&](std::error_code ec, bpf::asio::Received<stream_event> r) {
            REQUIRE(!ec);
            sizes.push_back(r.events.size());
            if (r.more) pnext();
        });
    };
    pnext();
    io.restart();
    io.run();
    CHECK(sizes == std::vector<std::size_t>{16, 16, 8});
}

TEST_CASE("asio: drops of a ring buffer and lost records of a perf buffer come with the deliveries") {
    auto mod = events_test::open_stream();
    std::size_t ring_n = 0, perf_n = 0;
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { ++ring_n; });
    auto& pb = mod.perf_buffer("perf_events", [&](const stream_event&) { ++perf_n; }, nullptr, 8);
    asio::io_context io;
    bpf::asio::SourceOptions o;
    o.max_events = 100000;
    o.loss_interval = 0ms;
    bpf::asio::RingSource rsrc(io, rb, o);
    bpf::asio::PerfSource psrc(io, pb, o);
    // Nothing reads while the producer writes more than either buffer holds.
    const std::uint32_t n = 4000;
    produce(mod, n, TARGET_RING);
    produce(mod, n, TARGET_PERF);
    std::uint64_t ring_lost = 0, perf_lost = 0;
    std::function<void()> rnext = [&] {
        rsrc.async_consume([&](std::error_code ec, bpf::asio::Delivery d) {
            REQUIRE(!ec);
            ring_lost += d.lost;
            if (ring_n + ring_lost < n) rnext();
        });
    };
    std::function<void()> pnext = [&] {
        psrc.async_consume([&](std::error_code ec, bpf::asio::Delivery d) {
            REQUIRE(!ec);
            perf_lost += d.lost;
            if (perf_n + perf_lost < n) pnext();
        });
    };
    rnext();
    pnext();
    REQUIRE(run_until(io, [&] { return ring_n + ring_lost == n && perf_n + perf_lost == n; }));
    CHECK(ring_lost > 0);
    CHECK(ring_lost == rb.drops());
    CHECK(perf_lost > 0);
    CHECK(perf_lost == pb.lost());
    CHECK(events_test::global(mod, "failures") == ring_lost + perf_lost);
}

TEST_CASE("asio: cancel() and a cancellation slot complete a pending operation with operation_aborted") {
    auto mod = events_test::open_stream();
    Seen seen;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) { seen.add(e); });
    asio::io_context io;
    bpf::asio::RingSource src(io, rb);

    std::error_code ec1;
    int calls = 0;
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery) {
        ec1 = ec;
        ++calls;
    });
    io.run_for(10ms);
    CHECK(calls == 0);
    src.cancel();
    io.restart();
    io.run();
    CHECK(calls == 1);
    CHECK(ec1 == asio::error::operation_aborted);

    // A second operation while one is pending is refused, the first goes on.
    std::error_code ec2, ec3;
    asio::cancellation_signal signal;
    src.async_consume(asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, bpf::asio::Delivery) { ec2 = ec; }));
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery) { ec3 = ec; });
    io.restart();
    io.run_for(10ms);
    CHECK(ec3 == asio::error::already_started);
    signal.emit(asio::cancellation_type::terminal);
    io.restart();
    io.run();
    CHECK(ec2 == asio::error::operation_aborted);

    // Cancelled right after the initiation, with nothing there.
    std::error_code ec4;
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery) { ec4 = ec; });
    src.cancel();
    io.restart();
    io.run();
    CHECK(ec4 == asio::error::operation_aborted);

    // Cancelled after the initiation took records: they are delivered, not dropped.
    std::error_code ec5 = asio::error::timed_out;
    std::size_t got = 0;
    produce(mod, 3, TARGET_RING);
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery d) {
        ec5 = ec;
        got = d.events;
    });
    src.cancel();
    io.restart();
    io.run();
    CHECK(!ec5);
    CHECK(got == 3);
    CHECK(seen.seqs.size() == 3);
    CHECK(seen.in_order_from(0));

    // A cancelled wait consumed nothing: records written after it go to the next operation.
    std::error_code ec6;
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery) { ec6 = ec; });
    io.restart();
    io.run_for(10ms);
    src.cancel();
    produce(mod, 2, TARGET_RING);
    io.restart();
    io.run();
    CHECK(ec6 == asio::error::operation_aborted);
    CHECK(seen.seqs.size() == 3);
    std::size_t later = 0;
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery d) {
        CHECK(!ec);
        later = d.events;
    });
    io.restart();
    io.run();
    CHECK(later == 2);
    CHECK(seen.in_order_from(0));
}

TEST_CASE("asio: a source destroyed with its operation pending completes it with operation_aborted") {
    auto mod = events_test::open_stream();
    int n = 0;
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { ++n; });
    asio::io_context io;
    std::error_code got;
    {
        bpf::asio::RingSource src(io, rb);
        src.async_consume([&](std::error_code ec, bpf::asio::Delivery) { got = ec; });
        io.run_for(10ms);
    }
    produce(mod, 4, TARGET_RING);
    io.restart();
    io.run();
    CHECK(got == asio::error::operation_aborted);
    CHECK(n == 0);
    CHECK(rb.consume() == 4);
}

TEST_CASE("asio: an io_context destroyed with an operation pending leaves the buffer usable") {
    auto mod = events_test::open_stream();
    int n = 0;
    auto& rb = mod.ring_buffer("events", [&](const stream_event&) { ++n; });
    bool resumed = false;
    {
        asio::io_context io;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                bpf::asio::RingSource src(co_await asio::this_coro::executor, rb);
                co_await src.async_consume(asio::use_awaitable);
                resumed = true;
            },
            asio::detached);
        io.run_for(10ms);
    }  // the coroutine's frame and its source go with the io_context
    CHECK(!resumed);
    produce(mod, 6, TARGET_RING);
    CHECK(rb.poll(1000ms) == 6);
    CHECK(n == 6);
}

TEST_CASE("asio: a module destroyed before the pending operation completes ends it with eof") {
    std::optional<bpf::Module> mod(events_test::open_stream());
    auto& rb = mod->ring_buffer("events", [](const stream_event&) {});
    auto& pb = mod->perf_buffer("perf_events", [](const stream_event&) {});
    asio::io_context io;
    bpf::asio::RingSource rsrc(io, rb);
    bpf::asio::PerfSource psrc(io, pb);
    std::error_code rec = asio::error::timed_out, pec = asio::error::timed_out;
    rsrc.async_consume([&](std::error_code ec, bpf::asio::Delivery) { rec = ec; });
    psrc.async_consume([&](std::error_code ec, bpf::asio::Delivery) { pec = ec; });
    io.run_for(10ms);
    SECTION("on the io_context's thread") {
        mod.reset();
        io.restart();
        io.run_for(testing::scaled(2000ms));
    }
    SECTION("from another thread while the io_context runs") {
        std::jthread t([&] { io.run_for(testing::scaled(2000ms)); });
        std::this_thread::sleep_for(10ms);
        mod.reset();
    }
    CHECK(rec == asio::error::eof);
    CHECK(pec == asio::error::eof);
    // Later operations end at once the same way.
    std::error_code again;
    rsrc.async_consume([&](std::error_code ec, bpf::asio::Delivery) { again = ec; });
    io.restart();
    io.run();
    CHECK(again == asio::error::eof);
}

TEST_CASE("asio: Module::close() of a buffer with an operation pending ends it with eof") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events", [](const stream_event&) {});
    asio::io_context io;
    bpf::asio::RingSource src(io, rb);
    std::error_code got;
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery) { got = ec; });
    io.run_for(10ms);
    mod.close(rb);
    io.restart();
    io.run();
    CHECK(got == asio::error::eof);
}

TEST_CASE("asio: stopped from another thread (post of cancel(), io_context::stop())") {
    auto mod = events_test::open_stream();
    auto& rb = mod.ring_buffer("events", [](const stream_event&) {});
    asio::io_context io;
    bpf::asio::RingSource src(io, rb);
    std::atomic<bool> aborted{false};
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery) { aborted = ec == asio::error::operation_aborted; });
    std::thread t([&] { io.run(); });
    std::this_thread::sleep_for(10ms);
    asio::post(io, [&] { src.cancel(); });
    t.join();  // run() returns: nothing is left to do
    CHECK(aborted.load());

    bool called = false;
    src.async_consume([&](std::error_code, bpf::asio::Delivery) { called = true; });
    io.restart();
    std::thread t2([&] { io.run(); });
    std::this_thread::sleep_for(10ms);
    io.stop();
    t2.join();
    CHECK(!called);
}

TEST_CASE("asio: many buffers of many modules on one io_context") {
    constexpr int modules = 4;
    std::vector<bpf::Module> mods;
    for (int i = 0; i < modules; ++i) mods.push_back(events_test::open_stream());
    asio::io_context io;
    std::vector<bpf::asio::RingSource> rings;
    std::vector<bpf::asio::PerfSource> perfs;
    std::vector<Seen> seen(2 * modules);
    for (int i = 0; i < modules; ++i) {
        auto& rb = mods[i].ring_buffer("events", [&seen, i](const stream_event& e) { seen[2 * i].add(e); });
        auto& pb = mods[i].perf_buffer("perf_events", [&seen, i](const stream_event& e) { seen[2 * i + 1].add(e); });
        rings.emplace_back(io, rb);
        perfs.emplace_back(io, pb);
    }
    auto serve = [](auto& src, Seen& s, std::size_t want) -> asio::awaitable<void> {
        while (s.seqs.size() < want) co_await src.async_consume(asio::use_awaitable);
    };
    for (int i = 0; i < modules; ++i) {
        asio::co_spawn(io, serve(rings[i], seen[2 * i], 50 + i), asio::detached);
        asio::co_spawn(io, serve(perfs[i], seen[2 * i + 1], 20 + i), asio::detached);
    }
    for (int i = 0; i < modules; ++i) {
        produce(mods[i], 50 + i, TARGET_RING);
        produce(mods[i], 20 + i, TARGET_PERF);
    }
    REQUIRE(run_until(io, [&] {
        for (int i = 0; i < modules; ++i)
            if (seen[2 * i].seqs.size() < 50u + i || seen[2 * i + 1].seqs.size() < 20u + i) return false;
        return true;
    }));
    for (int i = 0; i < modules; ++i) {
        CHECK(seen[2 * i].seqs.size() == 50u + i);
        CHECK(seen[2 * i].in_order_from(0));
        CHECK(seen[2 * i + 1].seqs.size() == 20u + i);
        CHECK(seen[2 * i + 1].in_order_from(50 + i));
    }
}

TEST_CASE("asio: an exception from a buffer callback leaves run(); the operation goes on") {
    auto mod = events_test::open_stream();
    Seen seen;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        seen.add(e);
        if (e.seq == 3) throw std::runtime_error("callback failed on 3");
    });
    asio::io_context io;
    bpf::asio::RingSource src(io, rb);
    std::size_t delivered = 0;
    int completions = 0;
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery d) {
        CHECK(!ec);
        delivered = d.events;
        ++completions;
    });
    produce(mod, 10, TARGET_RING);
    CHECK_THROWS_WITH(io.run(), "callback failed on 3");
    CHECK(completions == 0);
    io.restart();
    io.run();
    CHECK(completions == 1);
    CHECK(delivered == 6);  // 4..9; 3 counted as consumed when its callback threw
    CHECK(seen.seqs.size() == 10);
    CHECK(seen.in_order_from(0));

    // An exception from the completion handler leaves run() too; the source is reusable.
    src.async_consume([&](std::error_code, bpf::asio::Delivery) { throw std::logic_error("handler failed"); });
    produce(mod, 2, TARGET_RING);
    io.restart();
    CHECK_THROWS_WITH(io.run(), "handler failed");
    std::size_t after = 0;
    produce(mod, 3, TARGET_RING);
    src.async_consume([&](std::error_code ec, bpf::asio::Delivery d) {
        CHECK(!ec);
        after = d.events;
    });
    io.restart();
    io.run();
    CHECK(after == 3);
    CHECK(seen.seqs.size() == 15);
}
