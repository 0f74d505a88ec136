// bpf::PerfBuffer: consumes a BPF_MAP_TYPE_PERF_EVENT_ARRAY, one ring per CPU (libbpfgo's PerfBuffer).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/event_common.hpp"
#include "detail/event_perf_range.hpp"
#include "detail/event_perf_ring.hpp"
#include "detail/event_source.hpp"
#include "detail/iterations.hpp"
#include "detail/module_state.hpp"
#include "error.hpp"
#include "map.hpp"
#include "module.hpp"

namespace bpf {

class PerfBuffer;

/// A perf buffer's events<T>() walks the mapped CPU rings record by record.
template <class T>
struct detail::EventRangeFor<PerfBuffer, T> {
    using type = PerfEventRange<PerfBuffer, T>;
};

/// Options of a PerfBuffer.
///
/// Every wake-up of a perf buffer consumer is an interrupt; batching them
/// (`wakeup_events` > 1 or `wakeup_bytes` > 0) raises the rate a producer can sustain
/// many times. Records that wait for a batch to fill are delivered when poll() times
/// out, so no record waits longer than the poll timeout (the background loop uses
/// `flush_interval`).
///
/// ```cpp
/// bpf::PerfBufferOptions o;
/// o.pages = 64;             // per CPU, a power of two
/// o.wakeup_events = 32;     // wake the consumer every 32 records per CPU
/// auto& pb = mod.perf_buffer("events", on_event, on_lost, o);
/// ```
struct PerfBufferOptions {
    std::size_t pages = 64;             ///< data pages per CPU, a power of two
    std::uint32_t wakeup_events = 1;    ///< wake the consumer every N records (per CPU)
    std::uint32_t wakeup_bytes = 0;     ///< if non-zero: wake when this many bytes wait instead
    std::chrono::milliseconds flush_interval{100};  ///< start(): longest wait of a batched record
};

class Module;

/// Consumes a perf event array map (BPF_MAP_TYPE_PERF_EVENT_ARRAY): one ring per CPU,
/// events carry their CPU, and records the kernel could not write are reported per CPU
/// with their count. Create it with Module::perf_buffer() after load().
///
/// ```cpp
/// auto& pb = mod.perf_buffer("events",
///     [](int cpu, const Event& e) { print(cpu, e); },
///     [](int cpu, std::uint64_t n) { warn(cpu, n, "lost"); },
///     64);
/// while (running) pb.poll(std::chrono::milliseconds(100));
/// std::cout << pb.lost() << " events lost\n";
/// ```
///
/// The event callback takes `(int cpu, std::span<const std::byte>)`, `(int cpu, const
/// Event&)` or `(int cpu, const Header&, std::span<const std::byte> tail)`, or any of them
/// without the cpu; the lost callback `(int cpu, std::uint64_t count)` or nullptr. A
/// record's bytes include the kernel's padding (the raw sample is padded so that it and
/// its 4-byte size fill whole 8-byte words), so a span or a tail may be up to 7 bytes
/// longer than what the BPF side wrote: carry the tail's length in the header.
/// Exceptions, stop() and short records behave as for RingBuffer.
class PerfBuffer : public detail::Resource, public detail::EventReader<PerfBuffer, 4, true> {
public:
    template <class OnEvent, class OnLost = std::nullptr_t>
    /// A consumer of perf event array `map`; Module::perf_buffer() makes and owns these.
    PerfBuffer(const Map& map, OnEvent&& on_event, OnLost&& on_lost = nullptr, const PerfBufferOptions& options = {})
        : name_(map.name()), options_(options) {
        using H = detail::PerfCallback<std::decay_t<OnEvent>, std::decay_t<OnLost>>;
        handler_ = std::make_unique<H>(std::forward<OnEvent>(on_event), std::forward<OnLost>(on_lost), &state_);
        open(map);
    }

    PerfBuffer(const PerfBuffer&) = delete;
    PerfBuffer& operator=(const PerfBuffer&) = delete;
    ~PerfBuffer() override {
        loop_.shutdown(wake_, name_);
        if (pb_ != nullptr) perf_buffer__free(pb_);
    }

    /// Waits up to `timeout` (negative: forever) for records and delivers them; on a
    /// timeout with wake-up batching on, delivers what waits in partly filled batches.
    /// Returns the number of records delivered.
    int poll(std::chrono::milliseconds timeout) {
        auto reading = enter("polling");
        return poll_once(detail::to_timeout_ms(timeout));
    }

    /// Delivers what is in every CPU's ring without waiting.
    int consume() {
        auto reading = enter("consuming");
        wake_.drain();
        state_.delivered = 0;
        consume_all();
        return static_cast<int>(state_.delivered);
    }

    /// Delivers at most `max` of the records that are there, without waiting; the CPU
    /// rings are taken in turn from the one after the ring the previous call stopped in,
    /// so a busy CPU cannot starve the others. The rest stay for the next call.
    int consume_n(std::size_t max) {
        auto reading = enter("consuming");
        wake_.drain();
        state_.delivered = 0;
        if (max == 0 || rings_.empty()) return 0;
        state_.limit = max;
        try {
            for (std::size_t k = 0; k < rings_.size() && state_.delivered < max && !loop_.stop_requested(); ++k) {
                consume_one(next_ring_);
                if (state_.delivered < max && ++next_ring_ == rings_.size()) next_ring_ = 0;
            }
        } catch (...) {
            state_.limit = static_cast<std::size_t>(-1);
            throw;
        }
        state_.limit = static_cast<std::size_t>(-1);
        return static_cast<int>(state_.delivered);
    }

    /// An epoll fd readable when a CPU ring has records (or stop() was called), for the
    /// user's own event loop: wait on it, then call consume(), which reads every CPU's
    /// ring. (A perf fd reports readable once per kernel wake-up, so register the fd
    /// before records arrive, and after a readable report always consume().)
    [[nodiscard]] int epoll_fd() const noexcept { return epoll_.fd(); }

    /// Runs the poll loop on a background thread until stop().
    void start();

    /// Stops the background loop (or interrupts poll()/events()) and rethrows what a
    /// callback threw on the background thread. Idempotent; callable from a callback.
    void stop() { loop_.stop(wake_); }

    /// True while start()'s background loop runs.
    [[nodiscard]] bool running() const noexcept { return loop_.running(); }

    /// Records the kernel dropped because a CPU's ring was full, over all CPUs. Exact on
    /// kernels >= 6.0, which count drops per perf event (read here, one read() per CPU):
    /// it includes drops the rings have not reported yet, and those after a producer's
    /// last successful write, which the kernel never reports in the ring. On older
    /// kernels it is what the rings reported (LOST records, which the kernel writes at
    /// the next successful write), so it can trail. kernel_counts_lost() tells which.
    [[nodiscard]] std::uint64_t lost() const noexcept {
        std::uint64_t n = 0;
        for (std::size_t i = 0; i < state_.lost_slots; ++i) n += lost(static_cast<int>(i));
        return n;
    }
    /// Records lost on one CPU (exact as for lost()).
    [[nodiscard]] std::uint64_t lost(int cpu) const noexcept {
        if (cpu < 0 || static_cast<std::size_t>(cpu) >= state_.lost_slots) return 0;
        const std::uint64_t reported = state_.lost[static_cast<std::size_t>(cpu)].load(std::memory_order_relaxed);
        if (!kernel_counts_lost_) return reported;
        for (const auto& r : rings_) {
            if (r.cpu != cpu) continue;
            std::uint64_t values[2] = {};  // {count, lost samples}
            if (::read(r.event_fd, values, sizeof values) != static_cast<ssize_t>(sizeof values)) return reported;
            return std::max(reported, values[1]);
        }
        return reported;
    }
    /// True when lost() reads the kernel's own per-CPU counts (kernel >= 6.0), false when
    /// it counts the LOST records of the rings.
    [[nodiscard]] bool kernel_counts_lost() const noexcept { return kernel_counts_lost_; }

    /// Records skipped because they were shorter than the typed callback's event.
    [[nodiscard]] std::uint64_t short_records() const noexcept { return state_.shorts.count(); }

    /// The number of per-CPU rings.
    [[nodiscard]] std::size_t buffer_count() const noexcept { return perf_buffer__buffer_cnt(pb_); }

    /// The name of the map this buffer reads.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

    /// The raw libbpf perf buffer, for what is not wrapped (its fds and mappings). This
    /// object reads the rings itself: consuming through libbpf would discard records.
    [[nodiscard]] perf_buffer* get() const noexcept { return pb_; }

private:
    template <class, EventType>
    friend class detail::PerfEventRange;
    template <class, EventType, std::size_t>
    friend class detail::EventView;
    friend class detail::EventReader<PerfBuffer, 4, true>;
    friend class Module;

    [[nodiscard]] bool batching() const noexcept { return options_.wakeup_bytes > 0 || options_.wakeup_events > 1; }

    void open(const Map& map);

    [[nodiscard]] detail::ReadScope enter(std::string_view what) {
        auto scope = loop_.enter(what, "perf buffer", name_);
        if (scope.owns()) loop_.clear_stop();  // a stop() before this call is not for it
        return scope;
    }

    void consume_one(std::size_t idx) {
        detail::PerfCpuRing& r = rings_[idx];
        handler_->drain(r, scratch_);
        if (r.pending) resume_ = true;
        if (state_.error) std::rethrow_exception(std::exchange(state_.error, nullptr));
    }

    void consume_all() {
        for (std::size_t i = 0; i < rings_.size() && !loop_.stop_requested(); ++i) consume_one(i);
        if (loop_.stop_requested()) resume_ = true;  // rings not visited may hold records
    }

    int poll_once(int timeout_ms) {
        state_.delivered = 0;
        if (std::exchange(resume_, false)) {
            // A perf fd reports readable once per wake-up, so records left behind by a
            // consumption that a callback's exception or stop() cut short would wait
            // for the next wake-up: take them now.
            consume_all();
            if (state_.delivered > 0 || loop_.stop_requested()) return static_cast<int>(state_.delivered);
        }
        epoll_event evs[64];
        int n = epoll_wait(epoll_.fd(), evs, 64, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) return 0;
            detail::throw_errno(errno, "polling perf buffer", name_);
        }
        if (n == 0 && batching()) consume_all();  // flush batches that have not filled
        for (int i = 0; i < n && !loop_.stop_requested(); ++i) {
            if (evs[i].data.u64 == detail::Epoll::wake_tag) {
                wake_.drain();
                continue;
            }
            consume_one(evs[i].data.u64);
        }
        // A stop can leave reported rings unread; their readiness was used up here, and a
        // full ring gets no new wake-up, so the next poll must read them without waiting.
        if (loop_.stop_requested()) resume_ = true;
        return static_cast<int>(state_.delivered);
    }

    // ---- view and iterator support ---------------------------------------------------------
    // View support (the view holds the read scope): the records of one CPU's ring from
    // its first sample of at least sizeof(T) bytes on, for the view to walk
    // (PerfViewWalk), and `cpu` that CPU; blocking while every ring is empty; false when
    // asked to stop, or when `wait_ms` >= 0 passed (waited once). Lost-record notices and
    // short samples before that sample are reported here (a lost callback that throws
    // ends the call: the notice is consumed, the records after it stay). The records
    // stay unpublished until the view ends (commit_view()).
    template <EventType T>
    using ViewWalk = detail::PerfViewWalk<T>;
    template <EventType T>
    [[gnu::hot]] bool view_span(detail::PerfViewSpan& span, std::size_t& source, int& cpu_out, int wait_ms) {
        for (bool waited = false;; waited = true) {
            if (loop_.stop_requested()) return false;
            for (std::size_t k = 0; k < rings_.size(); ++k) {
                detail::PerfCpuRing& r = rings_[cursor_];
                if (r.tail - r.published >= r.size / 8) r.publish();
                if (first_sample(r, span, sizeof(T))) {
                    source = cursor_;
                    cpu_out = r.cpu;
                    return true;
                }
                r.publish();
                r.pending = false;
                if (++cursor_ == rings_.size()) cursor_ = 0;
            }
            if (loop_.stop_requested()) return false;  // before sleeping
            if (wait_ms == 0 || (wait_ms > 0 && waited)) return false;
            wait_for_records(wait_ms >= 0 ? wait_ms : batching() ? detail::to_timeout_ms(options_.flush_interval) : -1);
        }
    }

    // view_span()'s search of one ring: the first sample of at least `min_size` bytes from
    // r.tail on (r.tail then points at it), reporting what comes before it.
    [[gnu::hot]] bool first_sample(detail::PerfCpuRing& r, detail::PerfViewSpan& span, std::size_t min_size) {
        const std::uint64_t head = std::atomic_ref(r.header->data_head).load(std::memory_order_acquire);
        r.head = head;
        while (r.tail < head) {
            const std::uint64_t off = r.tail & (r.size - 1);
            const std::byte* rec = r.data + off;
            perf_event_header h;  // 8-byte records in an 8-aligned ring: a header never wraps
            std::memcpy(&h, rec, sizeof h);
            if (h.size < sizeof h || h.size > head - r.tail) {  // not a record the kernel writes
                r.tail = head;
                break;
            }
            // Made contiguous; the view's walk ends before any other record that wraps.
            if (off + h.size > r.size) rec = detail::unwrap_perf_record(scratch_, r.data, r.size, off, h.size);
            if (h.type == PERF_RECORD_SAMPLE) {
                const std::uint32_t len = detail::perf_sample_size(rec, h);
                if (len >= min_size) {
                    span = detail::PerfViewSpan{r.data, r.size, r.tail, head, rec + detail::perf_sample_data_offset, h.size};
                    return true;
                }
                state_.shorts.report(name_, len, min_size);
            } else if (h.type == PERF_RECORD_LOST) {
                r.tail += h.size;
                try {
                    handler_->lost(r.cpu, detail::perf_lost_count(rec));
                } catch (...) {
                    r.publish();
                    throw;
                }
                continue;
            }
            r.tail += h.size;
        }
        return false;
    }

    // Blocks until a ring may have records, stop() or the flush timeout.
    void wait_for_records(int timeout_ms) {
        epoll_event evs[64];
        int n = epoll_wait(epoll_.fd(), evs, 64, timeout_ms);
        if (n < 0 && errno != EINTR) detail::throw_errno(errno, "waiting on perf buffer", name_);
        for (int i = 0; i < n; ++i)
            if (evs[i].data.u64 == detail::Epoll::wake_tag) wake_.drain();
    }

    // A view ended: its records (of CPU ring `source`, those before `end`) go back to the
    // kernel. A ring read up to the head seen lets the next view look at the other CPUs'
    // rings first; one with records left is read on.
    [[gnu::hot]] void commit_view(std::size_t source, std::uint64_t end) noexcept {
        resume_at(source, end);
        if (source < rings_.size()) rings_[source].publish();  // resume_at() keeps a ring with records left
    }

    // The range that calls it holds the read scope.
    [[gnu::hot]] void finish_iteration() noexcept {
        for (auto& r : rings_) r.publish();
        resume_ = true;  // readiness the iterator consumed must not strand records for poll()
    }

    // Iterator support: the next span of records of one CPU's ring, read in place by the
    // events() range (blocking while every ring is empty); false when asked to stop. The
    // span before it was read up to where resume_at() said. A span is at most an eighth
    // of the ring, so data_tail is published at least that often.
    [[gnu::hot]] bool next_span(detail::PerfSpan& span, std::size_t& source, const std::stop_token& token) {
        for (;;) {
            if (token.stop_requested() || loop_.stop_requested()) return false;
            for (std::size_t k = 0; k < rings_.size(); ++k) {
                detail::PerfCpuRing& r = rings_[cursor_];
                if (r.tail - r.published >= r.size / 8) r.publish();
                r.head = std::atomic_ref(r.header->data_head).load(std::memory_order_acquire);
                if (r.tail != r.head) {
                    const std::uint64_t end = r.head - r.tail > r.size / 8 ? r.tail + r.size / 8 : r.head;
                    span = detail::PerfSpan{r.data, r.size, r.tail, end, r.head, r.cpu};
                    source = cursor_;
                    return true;  // stay on this CPU while it has records
                }
                r.publish();
                r.pending = false;
                if (++cursor_ == rings_.size()) cursor_ = 0;
            }
            if (token.stop_requested() || loop_.stop_requested()) return false;  // before sleeping
            wait_for_records(batching() ? detail::to_timeout_ms(options_.flush_interval) : -1);
        }
    }

    // An events() range read CPU ring `source` up to `pos` (the rest of its span is
    // unread). A ring read up to the head seen goes back to the kernel at once, and the
    // next span is looked for on the other CPUs' rings first.
    [[gnu::hot]] void resume_at(std::size_t source, std::uint64_t pos) noexcept {
        resume_ = true;  // as in finish_iteration(): poll() must look at the rings again
        if (source >= rings_.size()) return;
        detail::PerfCpuRing& r = rings_[source];
        r.tail = pos < r.head ? pos : r.head;
        r.pending = r.tail != r.head;
        if (r.pending) return;
        r.publish();
        if (source == cursor_ && ++cursor_ == rings_.size()) cursor_ = 0;
    }

    void report_short(std::size_t got, std::size_t want) noexcept { state_.shorts.report(name_, got, want); }
    void report_lost(int cpu, std::uint64_t count) { handler_->lost(cpu, count); }

    std::string name_;
    PerfBufferOptions options_;
    detail::PerfState state_;
    std::unique_ptr<detail::PerfHandler> handler_;
    perf_buffer* pb_ = nullptr;
    std::size_t next_ring_ = 0;  // consume_n(): the CPU ring to read first
    std::vector<int> cpus_;                   // buffer index -> CPU
    bool kernel_counts_lost_ = false;         // lost() reads the perf events (PERF_FORMAT_LOST)
    std::vector<std::byte> scratch_;          // a wrapped record, made contiguous
    detail::Epoll epoll_{"perf buffer"};
    detail::WakeFd wake_;
    // What every range, view and poll() reads first, on one cache line: after a drain of
    // other data these are cache misses each, and a perf buffer's drain of 255 records
    // from the cache paid them in several lines before.
    alignas(64) detail::Iterations iterations_;  // events() ranges in progress (Module::close)
    std::vector<detail::PerfCpuRing> rings_;    // buffer index -> its ring
    std::uint32_t cursor_ = 0;                   // the iterator's next ring
    bool resume_ = false;                        // a consumption was cut short; see poll_once()
    detail::LoopControl loop_;                   // its atomics first: they end the line
};

// ---- built from a Module: what Module::perf_buffer() calls --------------------------

/// A perf buffer consumer of map `map_name` of `mod`; `mod` owns it. Module::
/// perf_buffer() is the usual spelling.
template <PerfEventCallback OnEvent, PerfLostCallback OnLost>
PerfBuffer& build_perf_buffer(Module& mod, std::string_view map_name, OnEvent&& on_event, OnLost&& on_lost,
                              const PerfBufferOptions& options) {
    return detail::own_buffer(mod, std::make_unique<PerfBuffer>(mod.map(map_name), std::forward<OnEvent>(on_event),
                                                                std::forward<OnLost>(on_lost), options));
}

/// build_perf_buffer() with `pages` per CPU and the other options at their defaults.
template <PerfEventCallback OnEvent, PerfLostCallback OnLost>
PerfBuffer& build_perf_buffer(Module& mod, std::string_view map_name, OnEvent&& on_event, OnLost&& on_lost,
                              std::size_t pages) {
    PerfBufferOptions o;
    o.pages = pages;
    // const: an lvalue of the exact type would tie with module.hpp's missing-header builder.
    return build_perf_buffer(mod, map_name, std::forward<OnEvent>(on_event), std::forward<OnLost>(on_lost),
                             std::as_const(o));
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void PerfBuffer::start() {
    const int timeout = batching() ? detail::to_timeout_ms(options_.flush_interval) : -1;
    loop_.start(name_, [this, timeout] { poll_once(timeout); });
}

LIBBPFCPP_INLINE void PerfBuffer::open(const Map& map) {
    if (map.fd() < 0)
        throw Error(EBADF, detail::describe("creating a perf buffer on map", name_,
                                            "the map has no fd; call Module::load() first"));
    if (map.type() != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
        throw Error(EINVAL, detail::describe("creating a perf buffer on map", name_,
                                             "the map is not a BPF_MAP_TYPE_PERF_EVENT_ARRAY (use "
                                             "RingBuffer for a BPF_MAP_TYPE_RINGBUF)"));
    if (options_.pages == 0 || (options_.pages & (options_.pages - 1)) != 0)
        throw Error(EINVAL, detail::describe("creating a perf buffer on map", name_,
                                             "pages must be a power of two, got " +
                                                 std::to_string(options_.pages)));
    const int cpus = num_possible_cpus();
    state_.lost = std::make_unique<std::atomic<std::uint64_t>[]>(static_cast<std::size_t>(cpus));
    state_.lost_slots = static_cast<std::size_t>(cpus);
    state_.owner = name_;
    state_.stop = &loop_.stop_flag();

    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_BPF_OUTPUT;
    attr.sample_type = PERF_SAMPLE_RAW;
    attr.sample_period = 1;
    if (options_.wakeup_bytes > 0) {
        attr.watermark = 1;
        attr.wakeup_watermark = options_.wakeup_bytes;
    } else {
        attr.wakeup_events = options_.wakeup_events == 0 ? 1 : options_.wakeup_events;
    }
    detail::install_print_router();
    detail::LogCapture capture;
    // The CPUs are named explicitly (libbpf's default: the online ones the map has a
    // slot for) so that buffer index i is known to be cpus_[i].
    for (int c : detail::online_cpus())
        if (c < cpus && static_cast<std::uint32_t>(c) < map.max_entries()) cpus_.push_back(c);
    LIBBPF_OPTS(perf_buffer_raw_opts, raw);
    if (!cpus_.empty()) {
        raw.cpu_cnt = static_cast<int>(cpus_.size());
        raw.cpus = cpus_.data();
        raw.map_keys = cpus_.data();
    }
    // libbpf creates the perf events, maps the rings and fills the map; the rings are
    // read here (detail::read_perf_ring), so libbpf's record function is never called.
    auto unused = [](void*, int, perf_event_header*) { return LIBBPF_PERF_EVENT_CONT; };
    // Ask each perf event to count its lost samples too; kernels before 6.0 refuse the
    // read format with EINVAL, and then only the rings' LOST records count.
    attr.read_format = detail::perf_format_lost;
    pb_ = perf_buffer__new_raw(map.fd(), options_.pages, &attr, unused, nullptr, &raw);
    kernel_counts_lost_ = pb_ != nullptr;
    if (pb_ == nullptr && errno == EINVAL) {
        attr.read_format = 0;
        pb_ = perf_buffer__new_raw(map.fd(), options_.pages, &attr, unused, nullptr, &raw);
    }
    if (pb_ == nullptr) {
        int err = errno != 0 ? errno : EINVAL;
        detail::throw_errno(err, "creating a perf buffer on map", name_,
                            err == ENOMEM || err == EINVAL
                                ? detail::explain_errno(err) + " (pages=" + std::to_string(options_.pages) + ")"
                                : detail::explain_errno(err));
    }
    epoll_.add(wake_.fd(), detail::Epoll::wake_tag, name_);
    const std::size_t n = perf_buffer__buffer_cnt(pb_);
    const long page = sysconf(_SC_PAGESIZE);
    for (std::size_t i = 0; i < n; ++i) {
        epoll_.add(perf_buffer__buffer_fd(pb_, i), i, name_);
        void* base = nullptr;
        std::size_t size = 0;
        if (perf_buffer__buffer(pb_, static_cast<int>(i), &base, &size) != 0)
            detail::throw_errno(EINVAL, "mapping a CPU ring of perf buffer", name_);
        detail::PerfCpuRing r;
        r.header = static_cast<perf_event_mmap_page*>(base);
        r.data = static_cast<const std::byte*>(base) + page;
        r.size = size;
        r.cpu = i < cpus_.size() ? cpus_[i] : static_cast<int>(i);
        r.event_fd = perf_buffer__buffer_fd(pb_, i);
        r.head = r.tail = r.published = std::atomic_ref(r.header->data_tail).load(std::memory_order_relaxed);
        rings_.push_back(r);
    }
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
