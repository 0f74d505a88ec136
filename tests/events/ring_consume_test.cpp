// bpf::RingBuffer::consume_n / consume_ring / ring_state (what libbpf 1.3-1.5 added as
// ring_buffer__consume_n, ring__consume and the ring__* accessors), with any libbpf:
// at most N records per call, the rest left for the next one, per ring.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <vector>

#include "harness.hpp"
#include "stream_util.hpp"

using events_test::intact;
using events_test::produce;

TEST_CASE("ring buffer: consume_n delivers at most N records and leaves the rest, in order") {
    auto mod = events_test::open_stream();
    std::vector<stream_event> got;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) { got.push_back(e); });
    CHECK(rb.consume_n(10) == 0);
    const auto empty = rb.ring_state(0);
    CHECK(empty.pending_bytes == 0);
    CHECK(empty.map_name == "events");
    CHECK(empty.size == mod.map("events").max_entries());

    produce(mod, 25, TARGET_RING);
    const auto full = rb.ring_state(0);
    CHECK(full.pending_bytes >= 25 * sizeof(stream_event));
    CHECK(full.producer_position - full.consumer_position == full.pending_bytes);

    CHECK(rb.consume_n(10) == 10);
    CHECK(got.size() == 10);
    CHECK(rb.ring_state(0).pending_bytes < full.pending_bytes);
    CHECK(rb.consume_n(10) == 10);
    CHECK(rb.consume_n(10) == 5);
    CHECK(rb.consume_n(10) == 0);
    REQUIRE(got.size() == 25);
    for (std::uint32_t i = 0; i < 25; ++i) CHECK(intact(got[i], i));
    CHECK(rb.ring_state(0).pending_bytes == 0);
}

TEST_CASE("ring buffer: consume_ring reads one ring, consume_n takes the rings in order") {
    auto mod = events_test::open_stream();
    std::vector<stream_event> first, second;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) { first.push_back(e); });
    rb.add(mod.map("events2"), [&](const stream_event& e) { second.push_back(e); });
    produce(mod, 6, TARGET_RING);
    produce(mod, 4, TARGET_RING2);

    CHECK(rb.consume_ring(1, 3) == 3);
    CHECK(first.empty());
    CHECK(second.size() == 3);
    CHECK(rb.consume_n(7) == 7);  // all 6 of the first ring, then 1 of the second
    CHECK(first.size() == 6);
    CHECK(second.size() == 4);
    CHECK(rb.consume_ring(0) == 0);
    CHECK_THROWS_WITH(rb.consume_ring(2), Catch::Contains("no ring 2; this consumer has 2"));
    CHECK_THROWS_WITH(rb.ring_state(5), Catch::Contains("no ring 5"));
}
