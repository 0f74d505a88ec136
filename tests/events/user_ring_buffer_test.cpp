// Kernel integration: bpf::UserRingBuffer writes records that a BPF program drains with
// bpf_user_ringbuf_drain(); the program checks order and sums values.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <cstdint>
#include <cstring>
#include <thread>

#include "harness.hpp"
#include "stream_util.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {
void drain(const bpf::Module& mod) { events_test::run_prog(mod, "drain_user", 0, 0); }
}  // namespace

TEST_CASE("user ring buffer: send(), typed reserve and byte reserve reach the BPF side in order") {
    REQUIRE_FEATURE(UserRingBuf);
    auto mod = events_test::open_stream();
    auto& urb = mod.user_ring_buffer("to_kernel");
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < 100; ++i) {
        REQUIRE(urb.send(user_msg{i, i * 3}));
        sum += i * 3;
    }
    {
        auto s = urb.reserve<user_msg>();
        REQUIRE(s);
        CHECK(s->seq == 0);  // value-initialised
        s->seq = 100;
        s->value = 1000;
        s.submit();
        CHECK_FALSE(s);
        sum += 1000;
    }
    {
        auto dropped = urb.reserve<user_msg>();  // destroyed unsubmitted: discarded
        REQUIRE(dropped);
        dropped->seq = 555;
    }
    auto discarded = urb.reserve(sizeof(user_msg));
    REQUIRE(discarded.size() == sizeof(user_msg));
    urb.discard(discarded);
    auto bytes = urb.reserve(sizeof(user_msg), 100ms);
    REQUIRE(bytes.size() == sizeof(user_msg));
    user_msg m{101, 7};
    std::memcpy(bytes.data(), &m, sizeof m);
    urb.submit(bytes);
    sum += 7;

    drain(mod);
    CHECK(events_test::global(mod, "user_count") == 102);
    CHECK(events_test::global(mod, "user_sum") == sum);
    CHECK(events_test::global(mod, "user_last") == 101);
    CHECK(events_test::global(mod, "user_out_of_order") == 0);
}

TEST_CASE("user ring buffer: a full ring refuses, a blocking reserve waits for the drain") {
    REQUIRE_FEATURE(UserRingBuf);
    auto mod = events_test::open_stream();
    auto& urb = mod.user_ring_buffer("to_kernel");
    std::uint64_t sent = 0;
    while (urb.send(user_msg{sent, 1})) ++sent;
    CHECK(sent > 100);           // 16 KiB of 24-byte records
    CHECK(sent < 16 * 1024 / 24 + 1);
    CHECK(urb.reserve(sizeof(user_msg)).empty());

    auto t0 = std::chrono::steady_clock::now();
    CHECK(urb.reserve(sizeof(user_msg), 50ms).empty());  // nobody drains: times out
    CHECK(std::chrono::steady_clock::now() - t0 >= 45ms);

    std::thread drainer([&] {
        std::this_thread::sleep_for(30ms);
        drain(mod);
    });
    auto s = urb.reserve<user_msg>(2000ms);  // woken by the drain
    drainer.join();
    REQUIRE(s);
    s->seq = sent;
    s->value = 1;
    s.submit();
    CHECK(events_test::global(mod, "user_count") == sent);
    drain(mod);
    CHECK(events_test::global(mod, "user_count") == sent + 1);
    CHECK(events_test::global(mod, "user_sum") == sent + 1);
    CHECK(events_test::global(mod, "user_out_of_order") == 0);
}

TEST_CASE("user ring buffer: errors say what to do") {
    REQUIRE_FEATURE(UserRingBuf);
    auto mod = events_test::open_stream();
    auto& urb = mod.user_ring_buffer("to_kernel");
    CHECK_THROWS_WITH(urb.reserve(64 * 1024), Contains("can never fit in a 16384-byte ring"));
    // Sizes whose header would wrap a size_t are refused too, never reported as "ring full".
    const std::size_t huge = std::numeric_limits<std::size_t>::max();
    CHECK_THROWS_WITH(urb.reserve(huge), Contains("can never fit"));
    CHECK_THROWS_WITH(urb.reserve(huge - 7), Contains("can never fit"));
    CHECK_THROWS_WITH(urb.reserve(huge - 3, 10ms), Contains("can never fit"));
    CHECK_THROWS_WITH(urb.reserve(16384 - 7), Contains("can never fit"));
    auto fits = urb.reserve(16384 - 8);
    CHECK(fits.size() == 16384 - 8);
    urb.discard(fits);
    CHECK_THROWS_WITH(mod.user_ring_buffer("events"), Contains("not a BPF_MAP_TYPE_USER_RINGBUF"));
}
