// Event streaming benchmark: every libbpfcpp consumer style against plain libbpf C
// (ref_libbpf.c), on the same kernel producer (sized.bpf.c: records of 16 B to 4 KiB), in
// the same run. Prints medians of 5 rounds and their ratios to libbpf C, per record size.
//
//   sudo ./build/bench/events/bench_events [--rounds N] [--live-ms MS] [--only typed]
//                                          [--kind ring|perf] [--sizes 16,84,1024,4096]
//                                          [--live-size 84] [--interval-us 200]
//                                          [--warm --drain-mib 1 --drains 16]
//
// drain: a producer pinned to CPU 0 fills the buffer (--drain-mib of records, 96 MiB by
//        default, at most --drain-events records) while nobody reads, then the consumer,
//        pinned to CPU 1, reads it from full the way a tool writes the loop: a fresh
//        events<T>() range per drain (or consume() calls, or one view<T>() per batch) that
//        stops at a sentinel, the drain's last record, checked in the loop body. Every
//        consumer reads the record's 16-byte header (its sequence number) and nothing
//        else, as the C reference does. The figure is ns per event including the range's
//        set-up; ratio: variant ns / libbpf C ns (lower is faster). Beside the elapsed
//        time, the consumer thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a shared
//        machine the elapsed time also counts whoever else had the CPU; the summary table
//        at the end compares CPU times.
// live:  (records of --live-size bytes only) a producer pinned to CPU 0 writes as fast
//        as it can for --live-ms while the consumer runs pinned to CPU 1; figures are the
//        delivered rate, the share of events dropped, and the consumer's CPU time per
//        delivered event (getrusage; ratio: variant / libbpf, lower is cheaper). A live
//        round's CPU ratio scatters (one wake-up per record: the scheduler's cost, and the
//        host's); the table gives the median's 90% interval, and --rounds 25 narrows it.
//        --per-round prints each round's live figures. Each round runs the styles in an
//        order of its own.
// Buffers are large (--buffer-mib, 256 MiB for the ring and per CPU for perf), as a tool
// that must not drop sizes them, so the records do not stay in the CPU caches. Every round
// makes every consumer's buffers anew, in a random order, and maps all their pages first:
// the memory a buffer gets weighs on a memory-bound drain, and buffers kept for the whole
// run fixed that luck per style (docs/events.md, "The reference").
//
// The reference: libbpf C's ring_buffer__consume / perf_buffer__consume with a callback
// that reads the header in place (no copy). Beside it run a second instance of the same
// consumer on its own buffers (how far two identical consumers differ: the run's noise
// floor), for perf perf_buffer__consume_buffer on the producer CPU's ring alone, and for
// the ring a plain C walk of the headers without libbpf (the floor: what reading the
// records in order costs on this machine, whatever the code around it).
// --warm: the consumer reads the waiting records into its CPU's caches before the timed
// drain (with --drain-mib 1 they fit), through its own mapping of them, so the drain's
// time is its instructions' and the cache's, not the memory's and the page tables': the
// regime in which the consumers' code differs most. --drains N makes each round's figure
// the mean of N drains (a 1 MiB drain from the caches takes microseconds).
// bench/events/run.sh runs this the way docs/events.md reports it.
#include <libbpfcpp/libbpfcpp.hpp>

#include <bpf/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "ref_libbpf.h"
#include "sized.bpf.hpp"
#include "sized.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::uint32_t buffer_mib = 256;           // --buffer-mib: ring size, and perf size per CPU
std::uint32_t drain_mib = 96;             // --drain-mib: the records of one drain
std::uint32_t drain_events = 1000000;     // --drain-events: at most this many a drain
std::uint32_t record_size = 84;           // the size of the records the producer writes now
constexpr int producer_cpu = 0;
constexpr int consumer_cpu = 1;
constexpr std::uint32_t live_chunk = 256;
int wakeup_interval_us = 200;  // --interval-us: RingBufferOptions::min_wakeup_interval of the paced style

void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        std::perror("sched_setaffinity");
        std::exit(1);
    }
}

/// A record of N bytes: the producer's header, then payload.
template <std::size_t N>
struct Rec {
    sized_header h;
    unsigned char payload[N - sizeof(sized_header)];
};
template <>
struct Rec<16> {
    sized_header h;
};
static_assert(sizeof(Rec<16>) == 16 && sizeof(Rec<84>) == 84 && sizeof(Rec<4096>) == 4096);

/// Bytes a record takes in the buffer: ring (8-byte header), perf (8-byte header, 4-byte size).
std::size_t stored_size(sized_target target, std::size_t size) {
    return target == SIZED_RING ? (size + 8 + 7) / 8 * 8 : (size + 12 + 7) / 8 * 8;
}

void produce(const bpf::Module& mod, std::uint32_t count, sized_target target) {
    std::uint64_t args[3] = {count, target, record_size};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
    if (bpf_prog_test_run_opts(mod.program("produce").fd(), &opts) != 0) {
        std::perror("BPF_PROG_TEST_RUN");
        std::exit(1);
    }
}

long sleeps(int who) {
    rusage ru{};
    getrusage(who, &ru);
    return ru.ru_nvcsw;
}

double cpu_seconds(int who) {
    rusage ru{};
    getrusage(who, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/// Counter written by the one consumer thread and read by others: a plain store, so
/// the measured loop pays no locked instruction per event.
struct Counter {
    std::atomic<std::uint64_t> n{0};
    std::uint64_t sum = 0;
    // The loop body a tool writes in place: inlined always, or the libbpfcpp loops (not
    // libbpf C's callback) would pay a call per event wherever g++ judged drain() too big.
    [[gnu::always_inline]] void add(std::uint32_t seq) noexcept {
        sum += seq;
        n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t get() const noexcept { return n.load(std::memory_order_relaxed); }
    void reset() noexcept {
        n.store(0, std::memory_order_relaxed);
        sum = 0;
    }
};

enum class Style { LibbpfC, LibbpfCTwin, LibbpfCOneCpu, Floor, Bytes, Typed, Iterator, View, Background, TypedBatched, TypedCoalesced };

const char* style_name(Style s) {
    switch (s) {
        case Style::LibbpfC: return "libbpf C callback";
        case Style::LibbpfCTwin: return "libbpf C callback, second instance";
        case Style::LibbpfCOneCpu: return "libbpf C callback, consume_buffer(CPU 0)";
        case Style::Floor: return "floor: plain C header walk, no libbpf";
        case Style::View: return "libbpfcpp view<T>() (in place)";
        case Style::Bytes: return "libbpfcpp byte callback";
        case Style::Typed: return "libbpfcpp typed callback";
        case Style::Iterator: return "libbpfcpp iterator";
        case Style::Background: return "libbpfcpp start()/stop()";
        case Style::TypedBatched: return "libbpfcpp typed, wakeup 64";
        case Style::TypedCoalesced: {
            static char name[64];
            std::snprintf(name, sizeof name, "libbpfcpp typed, min_wakeup_interval %dus", wakeup_interval_us);
            return name;
        }
    }
    return "?";
}

/// One consumer under test: its own copy of the producer object and buffers.
class Consumer {
public:
    virtual ~Consumer() = default;
    virtual const bpf::Module& module() const = 0;
    /// Consumes until the record whose seq is `sentinel` (the drain's last) was seen.
    virtual void drain(std::uint32_t sentinel) = 0;
    /// Consumes while `producing` is set, then what is left.
    virtual void live(const std::atomic<bool>& producing, std::stop_source& stop) = 0;
    /// Maps every page of the consumer's buffers (no-op where the kernel maps them at mmap());
    /// a perf consumer also notes where its CPU rings are mapped, for warm_up().
    virtual void prefault() {}
    /// --warm: reads every line of the records waiting through the consumer's own mapping
    /// of them (a ring buffer's found by note_ring_mapping(), a perf buffer's through the
    /// ring addresses prefault() noted), so that the timed drain finds them in this CPU's
    /// caches and their pages in its TLB. It reads nothing of either library's own state:
    /// asking libbpf for the perf rings here put the C consumer's perf_buffer and its ring
    /// list in the cache just before its timed drain, and the libbpfcpp iterator's and
    /// view's state (read by neither) stayed where the other consumers' buffers had pushed
    /// it: in a drain of 4 records that was 675 cycles for libbpf C against 6,500 for the
    /// iterator, most of it these misses. Reading a ring buffer through a mapping of the
    /// warm-up's own, as it did before, left the consumer's pages out of the TLB: on a
    /// machine where a BPF ring buffer page's translation cost about 1 us to fetch, every
    /// consumer's drain from the cache was that cost, 256 times a MiB, whatever its code.
    void warm_up() const;
    /// Ring consumers: finds the mapping of the ring's data the consumer made, among the
    /// mappings `before` (/proc/self/maps before the consumer was made) lacked.
    void note_ring_mapping(const std::vector<std::string>& before);
    /// The ring map's fd (ring consumers) or the libbpf perf buffer (perf consumers).
    virtual int ring_fd() const { return -1; }
    virtual perf_buffer* perf() const { return nullptr; }
    /// The background loop's drain is timed from its first to its last event, so the
    /// thread's start (reported separately) does not count as draining.
    void add_timed(std::uint32_t seq) {
        const std::uint64_t k = counter.get();
        if (k == 0) first = Clock::now();
        counter.add(seq);
        if (seq == target) {
            last = Clock::now();
            done.store(true, std::memory_order_release);
        }
    }
    /// The sentinel check of the callbacks: a tool's callback would set a flag the same way.
    void add_checked(std::uint32_t seq) {
        counter.add(seq);
        if (seq == target) done.store(true, std::memory_order_relaxed);
    }
    std::atomic<bool> done{false};
    Counter counter;
    std::uint32_t target = ~0u;  // the sentinel's seq
    Clock::time_point first{}, last{};

protected:
    void prefault_perf(perf_buffer* pb);

private:
    struct MappedRing {
        const std::byte* base;  // the perf_event_mmap_page; the data follows it
        std::size_t size;       // bytes of data
    };
    std::vector<MappedRing> perf_rings_;  // a perf consumer's CPU rings (prefault_perf)
    const std::byte* ring_data_ = nullptr;  // a ring consumer's mapping of its producer page and data
};

/// The lines of /proc/self/maps that map a BPF map (anon_inode:bpf-map).
std::vector<std::string> bpf_map_mappings() {
    std::vector<std::string> out;
    FILE* f = std::fopen("/proc/self/maps", "r");
    if (f == nullptr) return out;
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr)
        if (std::strstr(line, "bpf-map") != nullptr) out.emplace_back(line);
    std::fclose(f);
    return out;
}

bool warm = false;  // --warm: the consumer reads the records into its caches before the timed drain

/// Reads a byte of every line from `from` to `to` (ring positions) of a ring of `size`
/// bytes mapped at `data`.
void touch_lines(const std::byte* data, std::uint64_t size, std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t p = from & ~std::uint64_t{63}; p < to; p += 64)
        (void)*reinterpret_cast<const volatile char*>(data + (p & (size - 1)));
}

void Consumer::note_ring_mapping(const std::vector<std::string>& before) {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t want = page + 2 * (std::size_t{buffer_mib} << 20);  // the producer page, the data twice
    ring_data_ = nullptr;
    for (const std::string& line : bpf_map_mappings()) {
        if (std::find(before.begin(), before.end(), line) != before.end()) continue;
        unsigned long from = 0, to = 0, offset = 0;
        char perms[8] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx", &from, &to, perms, &offset) != 4) continue;
        if (to - from != want || offset != page || perms[1] == 'w') continue;
        if (ring_data_ != nullptr) {
            std::fprintf(stderr, "--warm: two new mappings of a ring's data for one consumer\n");
            std::exit(1);
        }
        ring_data_ = reinterpret_cast<const std::byte*>(from);
    }
    if (ring_data_ == nullptr) {
        std::fprintf(stderr, "--warm: the consumer's mapping of its ring was not found in /proc/self/maps\n");
        std::exit(1);
    }
}

void Consumer::warm_up() const {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    if (const int fd = ring_fd(); fd >= 0) {
        const std::size_t size = std::size_t{buffer_mib} << 20;
        void* c = mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, 0);  // the consumer position
        if (c == MAP_FAILED || ring_data_ == nullptr) {
            std::perror("mmap");
            std::exit(1);
        }
        const auto cons = __atomic_load_n(static_cast<const unsigned long*>(c), __ATOMIC_ACQUIRE);
        const auto prod = __atomic_load_n(reinterpret_cast<const unsigned long*>(ring_data_), __ATOMIC_ACQUIRE);
        touch_lines(ring_data_ + page, size, cons, prod);
        munmap(c, page);
    } else {
        for (const MappedRing& r : perf_rings_) {
            const auto* h = reinterpret_cast<const perf_event_mmap_page*>(r.base);
            touch_lines(r.base + page, r.size, __atomic_load_n(&h->data_tail, __ATOMIC_ACQUIRE),
                        __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE));
        }
    }
}

std::size_t perf_pages() { return (std::size_t{buffer_mib} << 20) / static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

/// The producer's object; only a ring consumer's ring map is enlarged to --buffer-mib (a
/// perf consumer's stays at the object's 256 KiB, so the perf run does not hold a large
/// ring per consumer besides its perf rings).
bpf::Module open_stream(sized_target target) {
    auto mod = bpf::Module::open_memory(bpf_objects::sized());
    if (target == SIZED_RING) mod.map("events").set_max_entries(buffer_mib << 20);
    mod.load();
    return mod;
}

/// Reads a byte of every page of each CPU's ring of `pb`, so that the kernel maps them
/// now (perf rings are mapped page by page on first touch).
void Consumer::prefault_perf(perf_buffer* pb) {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    perf_rings_.clear();
    for (std::size_t i = 0; i < perf_buffer__buffer_cnt(pb); ++i) {
        void* base = nullptr;
        std::size_t size = 0;
        if (perf_buffer__buffer(pb, static_cast<int>(i), &base, &size) != 0) continue;
        perf_rings_.push_back(MappedRing{static_cast<const std::byte*>(base), size});  // size: the data's, after the header page
        for (std::size_t off = 0; off < page + size; off += page) (void)*static_cast<volatile const char*>(static_cast<char*>(base) + off);
    }
}

// ---- ring buffer consumers ------------------------------------------------------------
class RingRef : public Consumer {
public:
    RingRef() : mod_(open_stream(SIZED_RING)), r_(ref_ring_new(mod_.map("events").fd())) {
        if (r_ == nullptr) throw std::runtime_error("ring_buffer__new failed");
    }
    ~RingRef() override { ref_ring_free(r_); }
    const bpf::Module& module() const override { return mod_; }
    void drain(std::uint32_t sentinel) override {
        auto* s = ref_ring_stats(r_);
        s->sentinel = sentinel;
        while (!s->done) ref_ring_consume(r_);
    }
    void live(const std::atomic<bool>& producing, std::stop_source&) override {
        while (producing.load(std::memory_order_relaxed)) ref_ring_poll(r_, 100);
        ref_ring_consume(r_);
    }
    int ring_fd() const override { return mod_.map("events").fd(); }
    std::uint64_t count() const { return ref_ring_stats(r_)->count; }
    void reset() { *ref_ring_stats(r_) = {}; }

private:
    bpf::Module mod_;
    ref_ring* r_;
};

/// The floor (ref_libbpf.c): walks the ring's headers in plain C, no libbpf.
class RingWalk : public Consumer {
public:
    RingWalk() : mod_(open_stream(SIZED_RING)), w_(ref_walk_new(mod_.map("events").fd(), std::size_t{buffer_mib} << 20)) {
        if (w_ == nullptr) throw std::runtime_error("mapping the ring failed");
    }
    ~RingWalk() override { ref_walk_free(w_); }
    const bpf::Module& module() const override { return mod_; }
    void drain(std::uint32_t sentinel) override {
        auto* s = ref_walk_stats(w_);
        s->sentinel = sentinel;
        while (!s->done) ref_walk_consume(w_);
    }
    void live(const std::atomic<bool>& producing, std::stop_source&) override {
        while (producing.load(std::memory_order_relaxed)) ref_walk_consume(w_);  // spins: not a live style
        ref_walk_consume(w_);
    }
    int ring_fd() const override { return mod_.map("events").fd(); }
    std::uint64_t count() const { return ref_walk_stats(w_)->count; }
    void reset() { *ref_walk_stats(w_) = {}; }

private:
    bpf::Module mod_;
    ref_walk* w_;
};

template <std::size_t N>
class RingCpp : public Consumer {
    using E = Rec<N>;

public:
    explicit RingCpp(Style s) : style_(s), mod_(open_stream(SIZED_RING)) {
        if (s == Style::Bytes) {
            rb_ = &mod_.ring_buffer("events", [this](std::span<const std::byte> rec) {
                std::uint32_t seq;
                std::memcpy(&seq, rec.data(), sizeof seq);
                add_checked(seq);
            });
        } else if (s == Style::Iterator || s == Style::View) {
            rb_ = &mod_.ring_buffer("events");
        } else if (s == Style::Background) {
            rb_ = &mod_.ring_buffer("events", [this](const E& e) { add_timed(e.h.seq); });
        } else if (s == Style::TypedCoalesced) {
            bpf::RingBufferOptions o;
            o.min_wakeup_interval = std::chrono::microseconds(wakeup_interval_us);
            rb_ = &mod_.ring_buffer("events", [this](const E& e) { add_checked(e.h.seq); }, o);
        } else {
            rb_ = &mod_.ring_buffer("events", [this](const E& e) { add_checked(e.h.seq); });
        }
    }
    const bpf::Module& module() const override { return mod_; }
    int ring_fd() const override { return mod_.map("events").fd(); }
    void drain(std::uint32_t sentinel) override {
        done.store(false, std::memory_order_relaxed);
        if (style_ == Style::Iterator) {
            drain_iterator(sentinel);
        } else if (style_ == Style::View) {
            drain_views(sentinel);
        } else if (style_ == Style::Background) {
            rb_->start();  // the loop thread inherits the consumer CPU; wait on the other one
            pin(producer_cpu);
            while (!done.load(std::memory_order_acquire)) std::this_thread::sleep_for(20us);
            rb_->stop();
            pin(consumer_cpu);
        } else {
            while (!done.load(std::memory_order_relaxed)) rb_->consume();
        }
    }
    // A fresh range per drain, left by a break at the sentinel: a tool's loop, in a
    // function of its own as a tool writes it (inside drain(), next to the other styles,
    // the registers g++ gave its loop depended on what the other styles needed).
    [[gnu::noinline]] void drain_iterator(std::uint32_t sentinel) {
        for (const E& e : rb_->events<E>()) {
            counter.add(e.h.seq);
            if (e.h.seq == sentinel) break;
        }
    }
    // One view per batch (its records go back to the producer when it ends), in a
    // function of its own for the same reason.
    [[gnu::noinline]] void drain_views(std::uint32_t sentinel) {
        for (bool seen = false; !seen;) {
            auto view = rb_->view<E>();
            for (const E& e : view) {
                counter.add(e.h.seq);
                seen |= e.h.seq == sentinel;
            }
        }
    }
    void live(const std::atomic<bool>& producing, std::stop_source& stop) override {
        if (style_ == Style::View) {
            while (producing.load(std::memory_order_relaxed)) {
                auto view = rb_->view<E>(100ms);
                for (const E& e : view) counter.add(e.h.seq);
            }
            for (;;) {
                auto view = rb_->view<E>();
                if (view.empty()) break;
                for (const E& e : view) counter.add(e.h.seq);
            }
        } else if (style_ == Style::Iterator) {
            for (const E& e : rb_->events<E>(stop.get_token())) counter.add(e.h.seq);
            // Take what the stopped loop left, up to a marker, so the next drain starts empty.
            const auto marker = static_cast<std::uint32_t>(mod_.global<std::uint64_t>("next_seq"));
            std::thread marker_producer([&] {  // on the producer's CPU: after its records in that CPU's ring
                pin(producer_cpu);
                produce(mod_, 1, SIZED_RING);
            });
            marker_producer.join();
            for (const E& e : rb_->events<E>()) {
                counter.add(e.h.seq);
                if (e.h.seq == marker) break;
            }
        } else if (style_ == Style::Background) {
            rb_->start();
            producing.wait(true);  // no periodic wake-ups: they would count as consumer CPU
            rb_->stop();
            rb_->consume();
        } else {
            while (producing.load(std::memory_order_relaxed)) rb_->poll(100ms);
            rb_->consume();
        }
    }

private:
    Style style_;
    bpf::Module mod_;
    bpf::RingBuffer* rb_ = nullptr;
};

// ---- perf buffer consumers ------------------------------------------------------------
class PerfRef : public Consumer {
public:
    explicit PerfRef(bool one_cpu = false)
        : one_cpu_(one_cpu), mod_(open_stream(SIZED_PERF)), p_(ref_perf_new(mod_.map("perf_events").fd(), perf_pages())) {
        if (p_ == nullptr) throw std::runtime_error("perf_buffer__new failed");
    }
    ~PerfRef() override { ref_perf_free(p_); }
    const bpf::Module& module() const override { return mod_; }
    void drain(std::uint32_t sentinel) override {
        auto* s = ref_perf_stats(p_);
        s->sentinel = sentinel;
        if (one_cpu_) {
            while (!s->done) ref_perf_consume_buffer(p_, producer_cpu);
        } else {
            while (!s->done) ref_perf_consume(p_);
        }
    }
    void live(const std::atomic<bool>& producing, std::stop_source&) override {
        while (producing.load(std::memory_order_relaxed)) ref_perf_poll(p_, 100);
        ref_perf_consume(p_);
    }
    void prefault() override { prefault_perf(ref_perf_raw(p_)); }
    perf_buffer* perf() const override { return ref_perf_raw(p_); }
    std::uint64_t count() const { return ref_perf_stats(p_)->count; }
    void reset() { *ref_perf_stats(p_) = {}; }

private:
    bool one_cpu_;
    bpf::Module mod_;
    ref_perf* p_;
};

template <std::size_t N>
class PerfCpp : public Consumer {
    using E = Rec<N>;

public:
    explicit PerfCpp(Style s) : style_(s), mod_(open_stream(SIZED_PERF)) {
        bpf::PerfBufferOptions o;
        o.pages = perf_pages();
        if (s == Style::TypedBatched) {
            o.wakeup_events = 64;
            o.flush_interval = 100ms;
        }
        if (s == Style::Bytes) {
            pb_ = &mod_.perf_buffer(
                "perf_events",
                [this](int, std::span<const std::byte> rec) {
                    std::uint32_t seq;
                    std::memcpy(&seq, rec.data(), sizeof seq);
                    add_checked(seq);
                },
                nullptr, o);
        } else if (s == Style::Iterator || s == Style::View) {
            pb_ = &mod_.perf_buffer("perf_events", o);
        } else if (s == Style::Background) {
            pb_ = &mod_.perf_buffer("perf_events", [this](const E& e) { add_timed(e.h.seq); }, nullptr, o);
        } else {
            pb_ = &mod_.perf_buffer("perf_events", [this](const E& e) { add_checked(e.h.seq); }, nullptr, o);
        }
    }
    const bpf::Module& module() const override { return mod_; }
    void prefault() override { prefault_perf(pb_->get()); }
    perf_buffer* perf() const override { return pb_->get(); }
    void drain(std::uint32_t sentinel) override {
        done.store(false, std::memory_order_relaxed);
        if (style_ == Style::Iterator) {
            drain_iterator(sentinel);
        } else if (style_ == Style::View) {
            drain_views(sentinel);
        } else if (style_ == Style::Background) {
            pb_->start();  // the loop thread inherits the consumer CPU; wait on the other one
            pin(producer_cpu);
            while (!done.load(std::memory_order_acquire)) std::this_thread::sleep_for(20us);
            pb_->stop();
            pin(consumer_cpu);
        } else {
            while (!done.load(std::memory_order_relaxed)) pb_->consume();
        }
    }
    // A fresh range per drain, left by a break at the sentinel: a tool's loop, in a
    // function of its own as a tool writes it (inside drain(), next to the other styles,
    // the registers g++ gave its loop depended on what the other styles needed).
    [[gnu::noinline]] void drain_iterator(std::uint32_t sentinel) {
        for (const E& e : pb_->events<E>()) {
            counter.add(e.h.seq);
            if (e.h.seq == sentinel) break;
        }
    }
    // One view per batch (its records go back to the producer when it ends), in a
    // function of its own for the same reason.
    [[gnu::noinline]] void drain_views(std::uint32_t sentinel) {
        for (bool seen = false; !seen;) {
            auto view = pb_->view<E>();
            for (const E& e : view) {
                counter.add(e.h.seq);
                seen |= e.h.seq == sentinel;
            }
        }
    }
    void live(const std::atomic<bool>& producing, std::stop_source& stop) override {
        if (style_ == Style::View) {
            while (producing.load(std::memory_order_relaxed)) {
                auto view = pb_->view<E>(100ms);
                for (const E& e : view) counter.add(e.h.seq);
            }
            for (;;) {
                auto view = pb_->view<E>();
                if (view.empty()) break;
                for (const E& e : view) counter.add(e.h.seq);
            }
        } else if (style_ == Style::Iterator) {
            for (const E& e : pb_->events<E>(stop.get_token())) counter.add(e.h.seq);
            // Take what the stopped loop left, up to a marker, so the next drain starts empty.
            const auto marker = static_cast<std::uint32_t>(mod_.global<std::uint64_t>("next_seq"));
            std::thread marker_producer([&] {  // on the producer's CPU: after its records in that CPU's ring
                pin(producer_cpu);
                produce(mod_, 1, SIZED_PERF);
            });
            marker_producer.join();
            for (const E& e : pb_->events<E>()) {
                counter.add(e.h.seq);
                if (e.h.seq == marker) break;
            }
        } else if (style_ == Style::Background) {
            pb_->start();
            producing.wait(true);  // no periodic wake-ups: they would count as consumer CPU
            pb_->stop();
            pb_->consume();
        } else {
            while (producing.load(std::memory_order_relaxed)) pb_->poll(100ms);
            pb_->consume();
        }
    }

private:
    Style style_;
    bpf::Module mod_;
    bpf::PerfBuffer* pb_ = nullptr;
};

// ---- measurements ---------------------------------------------------------------------
struct Sample {
    double drain_ns = 0;      // per event
    double drain_cpu_ns = 0;  // per event, the consumer thread's CPU time (0: not measured)
    double drain_faults_k = 0; // the consumer thread's page faults per 1000 drained events
    double startup_us = 0;    // background loop: start() to its first event
    double live_rate = 0;     // delivered events per second
    double drop_ratio = 0;    // failed / attempted
    double cpu_ns = 0;        // consumer CPU per delivered event
    double produced_rate = 0; // attempted events per second
    double sleeps_per_k = 0;  // consumer's voluntary context switches per 1000 delivered events
};

std::uint64_t delivered(Consumer& c, Style s) {
    if (s == Style::Floor) return dynamic_cast<RingWalk&>(c).count();
    if (s == Style::LibbpfC || s == Style::LibbpfCTwin || s == Style::LibbpfCOneCpu) {
        if (auto* r = dynamic_cast<RingRef*>(&c)) return r->count();
        return dynamic_cast<PerfRef&>(c).count();
    }
    return c.counter.get();
}

void reset(Consumer& c, Style s) {
    c.counter.reset();
    if (s == Style::Floor) return dynamic_cast<RingWalk&>(c).reset();
    if (s == Style::LibbpfC || s == Style::LibbpfCTwin || s == Style::LibbpfCOneCpu) {
        if (auto* r = dynamic_cast<RingRef*>(&c)) return r->reset();
        dynamic_cast<PerfRef&>(c).reset();
    }
}

double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double measure_drain(Consumer& c, Style s, sized_target target, std::uint32_t events, Sample& out) {
    reset(c, s);
    const auto sentinel = static_cast<std::uint32_t>(c.module().global<std::uint64_t>("next_seq") + events - 1);
    c.target = sentinel;
    std::thread producer([&] {
        pin(producer_cpu);
        produce(c.module(), events, target);
    });
    producer.join();
    if (warm) c.warm_up();
    rusage ru0{};
    getrusage(RUSAGE_THREAD, &ru0);
    const double cpu0 = thread_cpu_ns();
    auto t0 = Clock::now();
    c.drain(sentinel);
    auto t1 = Clock::now();
    rusage ru1{};
    getrusage(RUSAGE_THREAD, &ru1);
    out.drain_faults_k = static_cast<double>((ru1.ru_minflt - ru0.ru_minflt) + (ru1.ru_majflt - ru0.ru_majflt)) * 1000.0 / events;
    // The consumer thread's CPU time does not count the time other processes had the CPU,
    // which on a shared machine is most of the scatter of the elapsed time.
    if (s != Style::Background) out.drain_cpu_ns = (thread_cpu_ns() - cpu0) / events;
    c.target = ~0u;
    if (s == Style::Background) {
        out.startup_us = std::chrono::duration<double, std::micro>(c.first - t0).count();
        t0 = c.first;
        t1 = c.last;
        return std::chrono::duration<double, std::nano>(t1 - t0).count() / (events - 1);
    }
    if (delivered(c, s) != events) {
        std::fprintf(stderr, "%s: drained %llu of %u events\n", style_name(s),
                     static_cast<unsigned long long>(delivered(c, s)), events);
        std::exit(1);
    }
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / events;
}

void measure_live(Consumer& c, Style s, sized_target target, std::chrono::milliseconds duration, Sample& out) {
    reset(c, s);
    const auto& mod = c.module();
    const std::uint64_t attempts0 = mod.global<std::uint64_t>("attempts");
    const std::uint64_t failures0 = mod.global<std::uint64_t>("failures");
    std::atomic<bool> producing{true};
    std::stop_source stop;
    double producer_cpu = 0;
    long producer_sleeps = 0;
    const double self0 = cpu_seconds(RUSAGE_SELF);
    const long sleeps0 = sleeps(RUSAGE_SELF);
    auto t0 = Clock::now();
    std::thread producer([&] {
        pin(producer_cpu);
        const double cpu0 = cpu_seconds(RUSAGE_THREAD);
        const long s0 = sleeps(RUSAGE_THREAD);
        const auto end = Clock::now() + duration;
        while (Clock::now() < end) produce(mod, live_chunk, target);
        producer_cpu = cpu_seconds(RUSAGE_THREAD) - cpu0;
        producer_sleeps = sleeps(RUSAGE_THREAD) - s0;
        producing.store(false);
        producing.notify_all();
        stop.request_stop();
    });
    c.live(producing, stop);
    producer.join();
    auto t1 = Clock::now();
    const double consumer_cpu = cpu_seconds(RUSAGE_SELF) - self0 - producer_cpu;
    const long consumer_sleeps = sleeps(RUSAGE_SELF) - sleeps0 - producer_sleeps;
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    const std::uint64_t attempts = mod.global<std::uint64_t>("attempts") - attempts0;
    const std::uint64_t failures = mod.global<std::uint64_t>("failures") - failures0;
    const std::uint64_t got = delivered(c, s);
    out.live_rate = static_cast<double>(got) / secs;
    out.drop_ratio = attempts == 0 ? 0 : static_cast<double>(failures) / static_cast<double>(attempts);
    out.cpu_ns = got == 0 ? 0 : consumer_cpu * 1e9 / static_cast<double>(got);
    out.produced_rate = static_cast<double>(attempts) / secs;
    out.sleeps_per_k = got == 0 ? 0 : static_cast<double>(consumer_sleeps) * 1000.0 / static_cast<double>(got);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// A 90% interval of the median of `v` (bootstrap: the medians of 2000 resamples with
/// replacement, fixed seed): how far the median could move on another run of as many rounds.
std::pair<double, double> median_interval(const std::vector<double>& v) {
    std::mt19937 gen(1);
    std::uniform_int_distribution<std::size_t> pick(0, v.size() - 1);
    std::vector<double> medians, sample(v.size());
    for (int k = 0; k < 2000; ++k) {
        for (auto& x : sample) x = v[pick(gen)];
        medians.push_back(median(sample));
    }
    std::sort(medians.begin(), medians.end());
    return {medians[100], medians[1899]};
}

struct Table {
    std::vector<Style> styles;
    std::vector<std::vector<Sample>> samples;  // [style][round]
};

std::string only;  // --only: run libbpf C and the styles whose name contains this
bool per_round = false;  // --per-round: print each round's live figures as they come
std::string kind;  // --kind ring|perf: only that buffer type
int drains_per_round = 1;  // --drains: drains of each style a round, their mean its sample

/// The drain ratios of every table, for the summary at the end: [kind][style] -> per size.
struct SummaryRow {
    std::string kind, style;
    struct Cell {
        double ns, ratio, lo, hi;  // median ns per event, median ratio to libbpf C and its 90% interval
    };
    std::vector<std::pair<std::uint32_t, Cell>> by_size;
};
std::vector<SummaryRow> summary;

bool drains(Style s) { return s != Style::TypedBatched && s != Style::TypedCoalesced; }

/// `live_ms` zero: drain only (the styles that only run live are left out).
void run_kind(const char* kind_name, sized_target target, std::vector<Style> styles, int rounds,
              std::chrono::milliseconds live_ms, const std::function<std::unique_ptr<Consumer>(Style)>& make) {
    const bool live = live_ms.count() > 0;
    if (!live) std::erase_if(styles, [](Style s) { return !drains(s); });
    const std::size_t stored = stored_size(target, record_size);
    const auto drain_count = static_cast<std::uint32_t>(
        std::max<std::uint64_t>(2, std::min<std::uint64_t>(drain_events, (std::uint64_t{drain_mib} << 20) / stored)));
    char title[160];
    std::snprintf(title, sizeof title, "%s, %u-byte records (%zu bytes in the buffer), %u a drain", kind_name,
                  record_size, stored, drain_count);
    // --only a,b: the styles whose name contains one of the comma-separated words.
    std::erase_if(styles, [](Style s) {
        if (s == Style::LibbpfC) return false;
        const std::string name = style_name(s);
        std::size_t from = 0;
        for (;;) {
            const std::size_t comma = only.find(',', from);
            const std::string word = only.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
            if (name.find(word) != std::string::npos) return false;
            if (comma == std::string::npos) return true;
            from = comma + 1;
        }
    });
    Table t{styles, std::vector<std::vector<Sample>>(styles.size())};
    std::vector<std::unique_ptr<Consumer>> consumers(styles.size());
    const bool find_ring = warm && target == SIZED_RING;  // warm_up() reads through the consumer's mapping
    for (int r = 0; r < rounds; ++r) {
        // Every round gets new buffers, made in an order of its own. The memory a buffer
        // gets decides much of its drain time: two instances of the same libbpf C
        // consumer, each keeping its buffers for the whole run, differed by 1.25x (the one
        // made first was slower every round). New buffers each round give every style every
        // place; the median over rounds compares the code, not the memory a style happened
        // to get. The orders (of making and of draining) are drawn at random, seeded so
        // that a run repeats: rotated, as they were, every style had the same two
        // neighbours in every round, and one style's drain can slow the next one's.
        std::mt19937 shuffler(static_cast<std::uint32_t>(r) + 1);
        auto shuffled = [&] {
            std::vector<std::size_t> v(styles.size());
            std::iota(v.begin(), v.end(), std::size_t{0});
            std::shuffle(v.begin(), v.end(), shuffler);
            return v;
        };
        for (auto& c : consumers) c.reset();  // free the last round's memory first
        const auto made = shuffled();
        for (std::size_t k = 0; k < styles.size(); ++k) {
            const std::size_t i = made[k];
            const auto mapped_before = find_ring ? bpf_map_mappings() : std::vector<std::string>{};
            consumers[i] = make(styles[i]);
            if (find_ring) consumers[i]->note_ring_mapping(mapped_before);
            pin(consumer_cpu);
            // Map every page of the new buffer now, so the drain pays no first-touch
            // faults (a long-running tool pays them once), and run the loop once on a
            // short drain so its code and the buffer's first lines are warm.
            consumers[i]->prefault();
            if (!drains(styles[i])) continue;
            Sample ignored;
            measure_drain(*consumers[i], styles[i], target, std::min<std::uint32_t>(drain_count, 1000), ignored);
        }
        // --drains N: a round's drain figures are the means of N drains of each style, in N
        // passes, each in an order of its own (a drain of 1 MiB from the caches takes a few
        // microseconds, which a single timing gets with the scatter of whatever interrupted it).
        std::vector<Sample> smp(styles.size());
        for (int pass = 0; pass < drains_per_round; ++pass) {
            const auto order = shuffled();
            for (std::size_t k = 0; k < styles.size(); ++k) {
                const std::size_t i = order[k];
                if (!drains(styles[i])) continue;
                pin(consumer_cpu);
                Sample one;
                const double share = 1.0 / drains_per_round;
                smp[i].drain_ns += share * measure_drain(*consumers[i], styles[i], target, drain_count, one);
                smp[i].drain_cpu_ns += share * one.drain_cpu_ns;
                smp[i].drain_faults_k += share * one.drain_faults_k;
                smp[i].startup_us += share * one.startup_us;
            }
        }
        const auto live_order = shuffled();
        for (std::size_t k = 0; k < styles.size(); ++k) {
            const std::size_t i = live_order[k];
            pin(consumer_cpu);
            if (live && styles[i] != Style::Floor) measure_live(*consumers[i], styles[i], target, live_ms, smp[i]);  // the floor spins
            if (per_round && live)
                std::fprintf(stderr, "round %d, %s: live %.3f Mev/s, %.1f ns CPU/event, %.1f sleeps/1k\n", r,
                             style_name(styles[i]), smp[i].live_rate / 1e6, smp[i].cpu_ns, smp[i].sleeps_per_k);
            t.samples[i].push_back(smp[i]);
        }
    }
    auto ratios = [&](std::size_t i, auto field) {
        std::vector<double> v;
        for (int r = 0; r < rounds; ++r) {
            double ref = field(t.samples[0][static_cast<std::size_t>(r)]);
            double x = field(t.samples[i][static_cast<std::size_t>(r)]);
            if (ref <= 0 || x <= 0) continue;
            v.push_back(x / ref);
        }
        std::sort(v.begin(), v.end());
        return v;
    };
    auto ratio_median = [&](std::size_t i, auto field) {
        const auto v = ratios(i, field);
        return v.empty() ? 0.0 : median(v);
    };
    auto abs_median = [&](std::size_t i, auto field) {
        std::vector<double> v;
        for (const auto& s : t.samples[i]) v.push_back(field(s));
        return median(v);
    };
    std::printf("\n%s (median of %d rounds; ratios are to libbpf C in the same round)\n\n", title, rounds);
    for (std::size_t i = 0; i < styles.size(); ++i) {
        if (!drains(styles[i])) continue;
        auto drain = [](const Sample& smp) { return smp.drain_cpu_ns > 0 ? smp.drain_cpu_ns : smp.drain_ns; };
        auto row = std::find_if(summary.begin(), summary.end(), [&](const SummaryRow& x) {
            return x.kind == kind_name && x.style == style_name(styles[i]);
        });
        if (row == summary.end()) row = summary.insert(summary.end(), SummaryRow{kind_name, style_name(styles[i]), {}});
        const auto v = ratios(i, drain);
        const auto [lo, hi] = v.empty() ? std::pair{0.0, 0.0} : median_interval(v);
        row->by_size.push_back({record_size, {abs_median(i, drain), v.empty() ? 0.0 : median(v), lo, hi}});
    }
    if (!live) {
        std::printf("| consumer | drain ns/event | drain time vs C | drain CPU ns/event | drain CPU vs C | page faults per 1k events |\n"
                    "|---|---:|---:|---:|---:|---:|\n");
        for (std::size_t i = 0; i < styles.size(); ++i) {
            auto cpu = [](const Sample& smp) { return smp.drain_cpu_ns; };
            char cpu_col[32] = "-", cpu_ratio[32] = "-";
            if (styles[i] != Style::Background) {
                std::snprintf(cpu_col, sizeof cpu_col, "%.2f", abs_median(i, cpu));
                std::snprintf(cpu_ratio, sizeof cpu_ratio, "%.2fx", ratio_median(i, cpu));
            }
            std::printf("| %s | %.2f | %.2fx | %s | %s | %.2f |\n", style_name(styles[i]),
                        abs_median(i, [](const Sample& smp) { return smp.drain_ns; }),
                        ratio_median(i, [](const Sample& smp) { return smp.drain_ns; }), cpu_col, cpu_ratio,
                        abs_median(i, [](const Sample& smp) { return smp.drain_faults_k; }));
        }
        std::fflush(stdout);
        return;
    }
    std::printf("| consumer | drain ns/event | drain time vs C | drain CPU ns/event | drain CPU vs C | "
                "live delivered Mev/s | live drops | "
                "live consumer CPU ns/event | CPU vs C | CPU vs C, 90%% interval | producer Mev/s | "
                "consumer sleeps per 1k events |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (std::size_t i = 0; i < styles.size(); ++i) {
        auto drain = [](const Sample& s) { return s.drain_ns; };
        auto live = [](const Sample& s) { return s.live_rate; };
        auto drops = [](const Sample& s) { return s.drop_ratio; };
        auto cpu = [](const Sample& s) { return s.cpu_ns; };
        auto prod = [](const Sample& s) { return s.produced_rate; };
        char drain_col[32] = "-", drain_ratio[32] = "-", dcpu_col[32] = "-", dcpu_ratio[32] = "-";
        if (drains(styles[i])) {
            std::snprintf(drain_col, sizeof drain_col, "%.2f", abs_median(i, drain));
            std::snprintf(drain_ratio, sizeof drain_ratio, "%.2fx", ratio_median(i, drain));
        }
        if (drains(styles[i]) && styles[i] != Style::Background) {
            auto dcpu = [](const Sample& smp) { return smp.drain_cpu_ns; };
            std::snprintf(dcpu_col, sizeof dcpu_col, "%.2f", abs_median(i, dcpu));
            std::snprintf(dcpu_ratio, sizeof dcpu_ratio, "%.2fx", ratio_median(i, dcpu));
        }
        auto slp = [](const Sample& s) { return s.sleeps_per_k; };
        const auto cpu_ratios = ratios(i, cpu);
        char cpu_range[48] = "-";
        if (!cpu_ratios.empty()) {
            const auto [lo, hi] = median_interval(cpu_ratios);
            std::snprintf(cpu_range, sizeof cpu_range, "%.2f-%.2fx", lo, hi);
        }
        std::printf("| %s | %s | %s | %s | %s | %.3f | %.2f%% | %.1f | %.2fx | %s | %.3f | %.1f |\n",
                    style_name(styles[i]), drain_col, drain_ratio, dcpu_col, dcpu_ratio, abs_median(i, live) / 1e6, abs_median(i, drops) * 100,
                    abs_median(i, cpu), ratio_median(i, cpu), cpu_range, abs_median(i, prod) / 1e6,
                    abs_median(i, slp));
    }
    for (std::size_t i = 0; i < styles.size(); ++i)
        if (styles[i] == Style::Background)
            std::printf("\n(start()/stop() drain: timed from the loop's first to its last event; start() to "
                        "first event took %.0f us, median)\n",
                        abs_median(i, [](const Sample& s) { return s.startup_us; }));
    std::fflush(stdout);
}

void print_summary(int rounds) {
    std::printf("\nDrain: consumer CPU time vs libbpf C's by record size (median of %d rounds, then the median's 90%% "
                "interval (bootstrap over the rounds) and CPU ns per event in brackets; start()/stop(): elapsed "
                "time)\n", rounds);
    std::string last_kind;
    for (const SummaryRow& row : summary) {
        if (row.kind != last_kind) {
            last_kind = row.kind;
            std::printf("\n| %s consumer |", row.kind.c_str());
            for (const auto& [size, v] : row.by_size) std::printf(" %u B |", size);
            std::printf("\n|---|");
            for (std::size_t k = 0; k < row.by_size.size(); ++k) std::printf("---:|");
            std::printf("\n");
        }
        std::printf("| %s |", row.style.c_str());
        for (const auto& [size, v] : row.by_size) std::printf(" %.2fx (%.2f-%.2f; %.2f) |", v.ratio, v.lo, v.hi, v.ns);
        std::printf("\n");
    }
    std::fflush(stdout);
}

template <std::size_t N>
void run_size(int rounds, std::chrono::milliseconds live_ms) {
    record_size = N;
    const std::vector<Style> ring_styles{Style::LibbpfC, Style::LibbpfCTwin, Style::Floor, Style::Bytes, Style::Typed, Style::Iterator,
                                         Style::View, Style::Background, Style::TypedCoalesced};
    if (kind != "perf")
        run_kind("Ring buffer", SIZED_RING, ring_styles, rounds, live_ms, [](Style s) -> std::unique_ptr<Consumer> {
            if (s == Style::LibbpfC || s == Style::LibbpfCTwin) return std::make_unique<RingRef>();
            if (s == Style::Floor) return std::make_unique<RingWalk>();
            return std::make_unique<RingCpp<N>>(s);
        });
    const std::vector<Style> perf_styles{Style::LibbpfC, Style::LibbpfCTwin, Style::LibbpfCOneCpu, Style::Bytes, Style::Typed,
                                         Style::Iterator, Style::View, Style::Background, Style::TypedBatched};
    if (kind != "ring")
        run_kind("Perf buffer", SIZED_PERF, perf_styles, rounds, live_ms, [](Style s) -> std::unique_ptr<Consumer> {
            if (s == Style::LibbpfC || s == Style::LibbpfCTwin || s == Style::LibbpfCOneCpu)
                return std::make_unique<PerfRef>(s == Style::LibbpfCOneCpu);
            return std::make_unique<PerfCpp<N>>(s);
        });
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 5;
    int live_ms = 400;
    std::string sizes = "16,84,1024,4096";  // --sizes: record sizes, of these four
    std::uint32_t live_size = 84;           // --live-size: the size measured live too
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
        else if (std::strcmp(argv[i], "--live-ms") == 0 && i + 1 < argc) live_ms = std::max(50, std::atoi(argv[++i]));
        else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else if (std::strcmp(argv[i], "--per-round") == 0) per_round = true;
        else if (std::strcmp(argv[i], "--warm") == 0) warm = true;
        else if (std::strcmp(argv[i], "--drains") == 0 && i + 1 < argc) drains_per_round = std::max(1, std::atoi(argv[++i]));
        else if (std::strcmp(argv[i], "--kind") == 0 && i + 1 < argc) kind = argv[++i];
        else if (std::strcmp(argv[i], "--buffer-mib") == 0 && i + 1 < argc)
            buffer_mib = static_cast<std::uint32_t>(std::max(1, std::atoi(argv[++i])));
        else if (std::strcmp(argv[i], "--drain-events") == 0 && i + 1 < argc)
            drain_events = static_cast<std::uint32_t>(std::max(2, std::atoi(argv[++i])));
        else if (std::strcmp(argv[i], "--drain-mib") == 0 && i + 1 < argc)
            drain_mib = static_cast<std::uint32_t>(std::max(1, std::atoi(argv[++i])));
        else if (std::strcmp(argv[i], "--interval-us") == 0 && i + 1 < argc)
            wakeup_interval_us = std::max(1, std::atoi(argv[++i]));
        else if (std::strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
            sizes = argv[++i];
        else if (std::strcmp(argv[i], "--live-size") == 0 && i + 1 < argc)
            live_size = static_cast<std::uint32_t>(std::atoi(argv[++i]));
        else {
            std::fprintf(stderr,
                         "usage: %s [--rounds N] [--live-ms MS] [--only STYLE-SUBSTRING] [--kind ring|perf] "
                         "[--sizes 16,84,1024,4096] [--live-size 84 (0: none)] [--interval-us US] "
                         "[--buffer-mib MIB] [--drain-mib MIB] [--drain-events N] [--drains N] [--warm] [--per-round]\n",
                         argv[0]);
            return 2;
        }
    }
    auto wanted = [&](std::uint32_t size) { return ("," + sizes + ",").find("," + std::to_string(size) + ",") != std::string::npos; };
    auto live_for = [&](std::uint32_t size) { return std::chrono::milliseconds(size == live_size ? live_ms : 0); };
    if (bpf::num_possible_cpus() < 2) {
        std::fprintf(stderr, "needs two CPUs (producer and consumer pinned apart)\n");
        return 1;
    }
    try {
        if (wanted(16)) run_size<16>(rounds, live_for(16));
        if (wanted(84)) run_size<84>(rounds, live_for(84));
        if (wanted(1024)) run_size<1024>(rounds, live_for(1024));
        if (wanted(4096)) run_size<4096>(rounds, live_for(4096));
        print_summary(rounds);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_events: %s\n", e.what());
        return 1;
    }
    return 0;
}
