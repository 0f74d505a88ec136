// Kernel integration: records of a fixed header and a variable-length tail, submitted at
// their used length from a real tracepoint, through the header-and-tail callback form of
// ring and perf buffers; and the warning a whole-struct callback gives for them.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness.hpp"
#include "varlen.bpf.hpp"
#include "varlen.h"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

using Tail = std::span<const std::byte>;

struct HeaderTail {
    void operator()(const varlen_header&, Tail) const {}
};
struct CpuHeaderTail {
    void operator()(int, const varlen_header&, Tail) const {}
};
struct WrongTail {
    void operator()(const varlen_header&, std::span<const int>) const {}
};
static_assert(bpf::RingEventCallback<HeaderTail>);
static_assert(bpf::PerfEventCallback<HeaderTail>);
static_assert(bpf::PerfEventCallback<CpuHeaderTail>);
static_assert(!bpf::RingEventCallback<CpuHeaderTail>);
static_assert(!bpf::RingEventCallback<WrongTail>);

bpf::Module open_varlen(bool to_perf) {
    auto mod = bpf::Module::open_memory(bpf_objects::varlen());
    mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
    mod.set_global("to_perf", std::uint32_t{to_perf ? 1u : 0u});
    mod.load();
    mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
    return mod;
}

struct Record {
    varlen_header h;
    std::vector<std::byte> tail;
};

/// Counts the records whose header or tail differ from what the program wrote; the perf
/// ring pads a sample, so its tail may be longer than tail_len by up to 7 bytes.
std::size_t damaged(const std::vector<Record>& got, bool padded) {
    std::size_t bad = 0;
    for (std::uint32_t i = 0; i < got.size(); ++i) {
        const Record& r = got[i];
        bool ok = r.h.seq == i && r.h.magic == (VARLEN_MAGIC ^ i) && r.h.tail_len == varlen_len(i);
        ok = ok && (padded ? r.tail.size() >= r.h.tail_len && r.tail.size() <= r.h.tail_len + 7
                           : r.tail.size() == r.h.tail_len);
        for (std::uint32_t b = 0; ok && b < r.h.tail_len; ++b) ok = r.tail[b] == std::byte{varlen_byte(i, b)};
        if (!ok) ++bad;
    }
    return bad;
}

constexpr int records = 2 * (VARLEN_TAIL_MAX + 1);  // every tail length twice

}  // namespace

TEST_CASE("ring buffer: a header-and-tail callback receives variable-length records whole") {
    auto mod = open_varlen(false);
    std::vector<Record> got;
    auto& rb = mod.ring_buffer("ring", [&](const varlen_header& h, Tail tail) {
        got.push_back(Record{h, {tail.begin(), tail.end()}});
    });
    testing::trigger_getppid(records);
    while (got.size() < records && rb.poll(1000ms) > 0) {
    }
    CHECK(mod.global<std::uint64_t>("failures") == 0);
    REQUIRE(got.size() == records);
    CHECK(damaged(got, false) == 0);
    CHECK(got[0].tail.empty());                             // a record of the header alone
    CHECK(got[1].tail.size() == 37);
    CHECK(rb.short_records() == 0);
}

TEST_CASE("perf buffer: a header-and-tail callback, with and without the cpu") {
    const bool with_cpu = GENERATE(true, false);
    auto mod = open_varlen(true);
    std::vector<Record> got;
    std::vector<int> cpus;
    auto take = [&](const varlen_header& h, Tail tail) { got.push_back(Record{h, {tail.begin(), tail.end()}}); };
    bpf::PerfBuffer* pb = nullptr;
    if (with_cpu) {
        pb = &mod.perf_buffer("perf", [&](int cpu, const varlen_header& h, Tail tail) {
            cpus.push_back(cpu);
            take(h, tail);
        });
    } else {
        pb = &mod.perf_buffer("perf", take);
    }
    // One CPU at a time keeps the records in order across the per-CPU rings.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    cpu_set_t saved;
    REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    testing::trigger_getppid(records);
    sched_setaffinity(0, sizeof saved, &saved);
    while (got.size() < records && pb->poll(1000ms) > 0) {
    }
    CHECK(mod.global<std::uint64_t>("failures") == 0);
    CHECK(pb->lost() == 0);
    REQUIRE(got.size() == records);
    CHECK(damaged(got, true) == 0);
    if (with_cpu) {
        REQUIRE(cpus.size() == records);
        CHECK(cpus.front() >= 0);
    }
    CHECK(pb->short_records() == 0);
}

TEST_CASE("ring buffer: a whole-struct callback skips shorter records and names the header-and-tail form") {
    auto mod = open_varlen(false);
    std::size_t whole = 0;
    testing::StderrCapture err;
    auto& rb = mod.ring_buffer("ring", [&](const varlen_event& e) {
        CHECK(e.h.tail_len == VARLEN_TAIL_MAX);
        ++whole;
    });
    testing::trigger_getppid(VARLEN_TAIL_MAX + 1);
    rb.poll(100ms);
    while (rb.poll(100ms) > 0) {
    }
    CHECK(whole == 1);  // only the record with the full tail (seq 38: 38 * 37 % 201 == 200)
    CHECK(rb.short_records() == VARLEN_TAIL_MAX);
    CHECK_THAT(err.text(), Contains("-byte record is shorter than the 216-byte event type"));
    CHECK_THAT(err.text(), Contains("take (const Header&, std::span<const std::byte> tail)"));
}

TEST_CASE("perf buffer: a header longer than a record is reported as a header mismatch") {
    auto mod = open_varlen(true);
    std::size_t seen = 0;
    testing::StderrCapture err;
    auto& pb = mod.perf_buffer("perf", [&](const varlen_event&, Tail tail) {
        CHECK(tail.size() < 8);  // only padding follows a full-length record
        ++seen;
    });
    testing::trigger_getppid(VARLEN_TAIL_MAX + 1);
    while (pb.poll(100ms) > 0) {
    }
    // A sample and its 4-byte size fill whole 8-byte words: 16 + len + 4 rounds up to 224
    // (a 220-byte sample, enough for the 216-byte header) for tail lengths 197 to 200.
    CHECK(seen == 4);
    CHECK(pb.short_records() + seen == VARLEN_TAIL_MAX + 1);
    CHECK_THAT(err.text(), Contains("-byte header type of the callback"));
    CHECK_THAT(err.text(), Contains("make the C++ header struct match"));
}
