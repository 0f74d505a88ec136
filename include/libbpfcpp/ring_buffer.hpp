// bpf::RingBuffer: consumes one or more BPF_MAP_TYPE_RINGBUF maps (libbpfgo's RingBuffer).
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
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <linux/bpf.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "callbacks.hpp"
#include "detail/event_common.hpp"
#include "detail/event_view.hpp"
#include "detail/iterations.hpp"
#include "detail/module_state.hpp"
#include "error.hpp"
#include "map.hpp"
#include "module.hpp"

namespace bpf {

class RingBuffer;

/// Options of a RingBuffer.
///
/// With a live producer most of a consumer's CPU goes to being woken: it drains the
/// ring, sleeps, and the next record wakes it again. The kernel wakes a ring buffer
/// consumer only when its published position has caught up with the producer, so a
/// consumer that sleeps a little before reading again gets the records of that
/// interval in one pass, for one wake-up.
///
/// ```cpp
/// bpf::RingBufferOptions o;
/// o.min_wakeup_interval = std::chrono::microseconds(200);  // at most ~5000 wake-ups/s
/// auto& rb = mod.ring_buffer("events", on_event, o);
/// ```
struct RingBufferOptions {
    /// poll(), start() and events() wait at least this long after a wake-up that found
    /// records before they wait for records again. 0 (the default): no pause, each
    /// record is read as soon as the kernel signals it. Otherwise a record that arrives
    /// after a quiet period is still read at once, and one that follows it waits at most
    /// this long; the ring must hold the records of one interval, or the BPF side's
    /// reservations fail (count them with RINGBUF_DROPS). consume() never waits.
    std::chrono::microseconds min_wakeup_interval{0};
};

namespace detail {

/// One BPF_MAP_TYPE_RINGBUF map mapped into this process, read without libbpf.
///
/// Memory ordering. The kernel producer reserves space by advancing producer_pos with a
/// store-release after writing the record header with the BUSY bit set, and commits by
/// clearing BUSY in the header with a release (xchg); it reads consumer_pos with a
/// load-acquire to decide whether the space it wants is free.
///  - The load-acquire of producer_pos makes the headers up to it visible; the
///    load-acquire of a header without BUSY makes that record's contents visible.
///  - consumer_pos is written with a store-release only after the record's bytes have
///    been read (delivered to the callback or copied out), so the producer, whose
///    load-acquire pairs with it, cannot overwrite bytes still being read.
///  - Publishing consumer_pos late (batched) only makes the producer see less free
///    space than there really is, never more: it is always safe, it costs capacity. The
///    batch is bounded (publish_every, an eighth of the ring) so a busy ring keeps
///    7/8 of its space, and everything is published before the consumer can go to
///    sleep: the kernel only wakes a consumer whose published position equals the
///    committed record's start, and epoll's ->poll re-checks producer_pos minus the
///    published consumer_pos after queueing the waiter, so no wake-up is lost.
/// libbpf stores consumer_pos after every record; the producer reads that cache line
/// on every reserve, so with a live producer each record moves the line between CPUs.
/// Batching is what makes this consumer cheaper per event than libbpf's.
class RingMap {
public:
    RingMap(int map_fd, std::string name, int drops_fd) : fd_(map_fd), name_(std::move(name)), drops_fd_(drops_fd) {
        bpf_map_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0)
            throw_errno(errno, "reading the map info of ring buffer", name_);
        if (info.type != BPF_MAP_TYPE_RINGBUF)
            throw Error(EINVAL, describe("creating a ring buffer on map", name_,
                                         "the map is not a BPF_MAP_TYPE_RINGBUF (use PerfBuffer for a "
                                         "BPF_MAP_TYPE_PERF_EVENT_ARRAY, UserRingBuffer for a USER_RINGBUF)"));
        page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        size_ = info.max_entries;
        mask_ = size_ - 1;
        publish_every_ = size_ / 8;
        void* c = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
        if (c == MAP_FAILED) throw_errno(errno, "mapping the consumer page of ring buffer", name_);
        // The data pages are mapped twice in a row, so a record that wraps is contiguous.
        void* p = mmap(nullptr, page_ + 2 * size_, PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page_));
        if (p == MAP_FAILED) {
            int err = errno;
            munmap(c, page_);
            throw_errno(err, "mapping the data pages of ring buffer", name_);
        }
        consumer_ = static_cast<unsigned long*>(c);
        producer_ = static_cast<unsigned long*>(p);
        data_ = static_cast<const std::byte*>(p) + page_;
        // Start where an earlier consumer of this map stopped (its records are gone).
        cons_ = std::atomic_ref(*consumer_).load(std::memory_order_acquire);
        prod_ = published_ = cons_;
    }
    ~RingMap();
    RingMap(const RingMap&) = delete;
    RingMap& operator=(const RingMap&) = delete;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] int drops_fd() const noexcept { return drops_fd_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// Bytes written by the producer and not read yet (headers and discarded records included).
    [[nodiscard]] std::size_t pending_bytes() const noexcept {
        return std::atomic_ref(*producer_).load(std::memory_order_acquire) - cons_;
    }
    /// The consumer's position: bytes read since the map was created.
    [[nodiscard]] unsigned long consumer_position() const noexcept { return cons_; }
    /// The producer's position: bytes committed or reserved since the map was created.
    [[nodiscard]] unsigned long producer_position() const noexcept {
        return std::atomic_ref(*producer_).load(std::memory_order_acquire);
    }

    /// Hands everything read so far back to the producer.
    void publish() noexcept {
        if (published_ == cons_) return;
        std::atomic_ref(*consumer_).store(cons_, std::memory_order_release);
        published_ = cons_;
    }

    /// Reads records into `sink(span) -> bool` until the ring is empty, the sink returns
    /// false, or one ring's worth of bytes has been read (so a call returns even while a
    /// producer keeps the ring full). Returns the number of records delivered.
    /// The positions live in locals during the loop: the sink is user code the compiler
    /// cannot see through, and members would be reloaded after every call of it.
    /// With `Publish` false nothing read is handed back to the producer (the iterator
    /// keeps pointers to the records until it has yielded them; it calls publish()), and
    /// the sink also gets each record's position in the ring: sink(span, pos).
    template <bool Publish = true, class Sink>
    std::size_t drain(Sink&& sink) {
        unsigned long cons = cons_;
        unsigned long prod = prod_;
        unsigned long published = published_;
        const unsigned long limit = cons + size_;
        const unsigned long mask = mask_;
        const unsigned long every = publish_every_;
        const std::byte* const data = data_;
        unsigned long* const consumer = consumer_;
        std::size_t n = 0;
        while (cons < limit) {
            if (cons == prod) {
                prod = std::atomic_ref(*producer_).load(std::memory_order_acquire);
                if (cons == prod) break;
            }
            const std::byte* hdr = data + (cons & mask);
            auto* len_ptr = const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(hdr));
            const std::uint32_t len = std::atomic_ref(*len_ptr).load(std::memory_order_acquire);
            if ((len & BPF_RINGBUF_BUSY_BIT) != 0) break;
            const std::uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
            const unsigned long at = cons;
            const unsigned long stored = (static_cast<unsigned long>(size) + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
            cons += stored;
            // Small records: the line a few records ahead. A record longer than that: the
            // next record's header, since a line inside this one's payload may never be
            // read (a loop that reads 4 KiB records' headers would fetch twice the lines).
            // Only behind the producer: a line it is still writing would bounce.
            const unsigned long ahead = stored >= prefetch_distance ? cons : at + prefetch_distance;
            if (ahead < prod) __builtin_prefetch(data + (ahead & mask));
            if ((len & BPF_RINGBUF_DISCARD_BIT) != 0) continue;
            ++n;
            if constexpr (Publish) {
                const bool more = sink(std::span<const std::byte>(hdr + BPF_RINGBUF_HDR_SZ, size));
                if (cons - published >= every) {
                    std::atomic_ref(*consumer).store(cons, std::memory_order_release);
                    published = cons;
                }
                if (!more) break;
            } else {
                if (!sink(std::span<const std::byte>(hdr + BPF_RINGBUF_HDR_SZ, size), at)) break;
            }
        }
        cons_ = cons;
        prod_ = prod;
        if constexpr (Publish) {
            published_ = published;
            publish();
        }
        return n;
    }

    /// Publishes what was read once an eighth of the ring waits (the iterator's bound on
    /// the capacity it holds back, as drain() has).
    void publish_some() noexcept {
        if (cons_ - published_ >= publish_every_) publish();
    }

    /// Makes the records from `pos` on unread again (an events() range left early gives
    /// back what it took but did not yield). Nothing from `pos` on was published.
    void rewind(unsigned long pos) noexcept {
        if (pos >= published_ && pos < cons_) cons_ = pos;
    }

    /// The BPF side's count of failed reservations (include/libbpfcpp/bpf/ringbuf_drops.h).
    [[nodiscard]] std::uint64_t drops() const;

private:
    // Records are read in order, so the lines a few records ahead are wanted soon;
    // asking for them early overlaps the memory latency with the work on this record.
    static constexpr unsigned long prefetch_distance = 512;

    int fd_;
    std::string name_;
    int drops_fd_;
    std::size_t page_ = 0;
    std::size_t size_ = 0;
    unsigned long mask_ = 0;
    unsigned long publish_every_ = 0;
    unsigned long* consumer_ = nullptr;
    unsigned long* producer_ = nullptr;
    const std::byte* data_ = nullptr;
    unsigned long cons_ = 0;       // next byte to read (private)
    unsigned long prod_ = 0;       // last producer position seen
    unsigned long published_ = 0;  // last value stored to consumer_pos
};

/// What a callback drain needs from its RingBuffer.
struct RingContext {
    std::string_view owner;
    const std::atomic<bool>* stop;
    ShortRecords* shorts;
    std::exception_ptr* error;
    std::size_t* budget = nullptr;  // records still allowed in this call (nullptr: no limit)
};

class RingHandler {
public:
    virtual ~RingHandler() = default;
    virtual std::size_t drain(RingMap& ring, const RingContext& ctx) = 0;
};

/// A callback bound to a ring. The loop over records is instantiated per callback type,
/// so the callback is inlined into it: one virtual call per drain, none per record.
template <class F>
class RingCallback final : public RingHandler {
public:
    explicit RingCallback(F f) : f_(std::move(f)) {}

    std::size_t drain(RingMap& ring, const RingContext& ctx) override {
        const std::atomic<bool>& stop = *ctx.stop;
        return ring.drain([&](std::span<const std::byte> rec) -> bool {
            try {
                if constexpr (std::is_invocable_v<F&, std::span<const std::byte>>) {
                    f_(rec);
                } else {
                    using R = TypedRecord<F>;
                    if (rec.size() < R::min_size) {
                        ctx.shorts->report(ctx.owner, rec.size(), R::min_size, R::shape);
                    } else {
                        invoke_typed(f_, rec);
                    }
                }
            } catch (...) {
                *ctx.error = std::current_exception();
                return false;
            }
            if (ctx.budget != nullptr && --*ctx.budget == 0) return false;
            return !stop.load(std::memory_order_relaxed);
        });
    }

private:
    F f_;
};

}  // namespace detail

class Module;

/// One ring of a RingBuffer, as RingBuffer::ring_state() reports it.
struct RingState {
    std::string map_name;             ///< the ring map
    int map_fd = -1;                  ///< its fd
    std::size_t size = 0;             ///< data bytes (max_entries)
    std::size_t pending_bytes = 0;    ///< written and not read yet, headers included
    unsigned long consumer_position = 0;  ///< bytes read since the map was created
    unsigned long producer_position = 0;  ///< bytes reserved since the map was created
};

/// Consumes BPF ring buffer maps (BPF_MAP_TYPE_RINGBUF). Create it with
/// Module::ring_buffer() after load(); the Module owns it. Three ways to read:
///
/// ```cpp
/// // 1. callbacks, driven by poll()/consume() or by your own loop on epoll_fd()
/// auto& rb = mod.ring_buffer("events", [](const Event& e) { print(e); });
/// while (running) rb.poll(std::chrono::milliseconds(100));
/// // 2. a background thread (libbpfgo's Start/Stop)
/// rb.start(); ...; rb.stop();
/// // 3. an iterator that blocks and ends on stop() or a std::stop_token
/// for (const Event& e : mod.ring_buffer("other").events<Event>(token)) print(e);
/// ```
///
/// Records of one ring arrive in the order the BPF side committed them. A callback
/// takes `std::span<const std::byte>`, `const Event&` or `(const Header&,
/// std::span<const std::byte> tail)`; a typed callback receives a copy of the record's
/// first sizeof(Event) bytes (the header form: sizeof(Header) bytes, the rest as the
/// tail), and a shorter record is skipped, counted in short_records() and reported once
/// through the logger.
///
/// A callback that throws ends the poll: poll()/consume() rethrow the exception; on the
/// background thread it ends the loop and stop() rethrows it. The record whose callback
/// threw counts as consumed. stop() may be called from any thread, twice, or from a
/// callback; it returns once the callback in progress has returned.
class RingBuffer : public detail::Resource {
public:
    /// A buffer without a callback: read it with events<T>(), or add() rings with callbacks.
    explicit RingBuffer(std::string name = "ring buffer", const RingBufferOptions& options = {});

    /// A buffer reading `ring` into `on_event`; `drops` is the map the BPF side counts
    /// failed reservations in (see ringbuf_drops.h), if any.
    template <class F>
    RingBuffer(const Map& ring, F&& on_event, std::optional<Map> drops = std::nullopt,
               const RingBufferOptions& options = {})
        : RingBuffer(std::string(ring.name()), options) {
        add(ring, std::forward<F>(on_event), drops);
    }

    RingBuffer(const RingBuffer&) = delete;
    RingBuffer& operator=(const RingBuffer&) = delete;
    ~RingBuffer() override { loop_.shutdown(wake_, name_); }

    /// Adds another ring map to this consumer, with its own callback (libbpfgo's AddRingBuf).
    /// Not while the background loop runs.
    template <class F>
    RingBuffer& add(const Map& ring, F&& on_event, std::optional<Map> drops = std::nullopt) {
        static_assert(RingEventCallback<F>,
                      "RingBuffer::add(): the callback must take (std::span<const std::byte>) or "
                      "(const Event&) with a trivially copyable Event (see bpf::RingEventCallback)");
        if constexpr (RingEventCallback<F>)
            add_ring(ring, drops, std::make_unique<detail::RingCallback<std::decay_t<F>>>(std::forward<F>(on_event)));
        return *this;
    }

    /// Adds a ring map without a callback (read by events<T>()).
    RingBuffer& add(const Map& ring, std::optional<Map> drops = std::nullopt);

    /// Waits up to `timeout` (negative: forever) for records, then delivers what is there.
    /// Returns the number of records delivered; 0 on timeout or when stop() interrupted it.
    int poll(std::chrono::milliseconds timeout) {
        auto reading = enter("polling");
        return poll_once(detail::to_timeout_ms(timeout));
    }

    /// Delivers the records that are there without waiting.
    int consume() {
        auto reading = enter("consuming");
        wake_.drain();
        std::size_t n = 0;
        for (auto& r : rings_) {
            n += drain_ring(*r);
            if (loop_.stop_requested()) break;
        }
        return static_cast<int>(n);
    }

    /// Delivers at most `max` of the records that are there, without waiting, taking the
    /// rings in the order they were added (libbpf's ring_buffer__consume_n, which needs
    /// libbpf 1.5; this reader has it with any libbpf). The rest stay for the next call.
    int consume_n(std::size_t max) {
        auto reading = enter("consuming");
        wake_.drain();
        std::size_t n = 0;
        for (auto& r : rings_) {
            if (n >= max || loop_.stop_requested()) break;
            n += drain_ring(*r, max - n);
        }
        return static_cast<int>(n);
    }

    /// Delivers at most `max` records of ring `index` (0: the first map, then in add()
    /// order) without waiting (libbpf's ring__consume / ring__consume_n).
    int consume_ring(std::size_t index, std::size_t max = static_cast<std::size_t>(-1)) {
        auto reading = enter("consuming");
        if (max == 0) return 0;
        return static_cast<int>(drain_ring(ring_at(index, "consuming"), max));
    }

    /// The state of ring `index` (libbpf's ring__* accessors, libbpf >= 1.3).
    ///
    /// ```cpp
    /// bpf::RingState s = rb.ring_state(0);
    /// if (s.pending_bytes > s.size / 2) rb.consume_ring(0);
    /// ```
    [[nodiscard]] RingState ring_state(std::size_t index) const;

    /// An epoll fd that is readable when a record is ready (or stop() was called), for
    /// the user's own event loop: wait on it, then call consume().
    [[nodiscard]] int epoll_fd() const noexcept { return epoll_.fd(); }

    /// Runs the poll loop on a background thread until stop().
    void start();

    /// Stops the background loop (and interrupts a poll() or an events() iteration) and
    /// rethrows what a callback threw on the background thread. Idempotent.
    void stop() { loop_.stop(wake_); }

    /// True while the background loop runs.
    [[nodiscard]] bool running() const noexcept { return loop_.running(); }

    /// Failed reservations counted by the BPF side (ringbuf_drops.h), summed over rings.
    [[nodiscard]] std::uint64_t drops() const;

    /// Records skipped because they were shorter than a typed callback's event.
    [[nodiscard]] std::uint64_t short_records() const noexcept { return shorts_.count(); }

    /// The number of ring maps this consumer reads.
    [[nodiscard]] std::size_t ring_count() const noexcept { return rings_.size(); }

    /// Name used in messages (the first ring's map name).
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

    /// What events<T>() returns: an input range of `const T&`.
    template <EventType T>
    using EventRange = detail::BatchedEventRange<RingBuffer, T>;
    /// Ring buffer records carry no CPU: the iterator of events<T>() has no cpu().
    static constexpr bool events_have_cpu = false;
    /// The alignment every record's bytes have (a record starts 8 bytes after its 8-aligned header): events<T>() and
    /// view<T>() read a T in place when alignof(T) is at most this.
    static constexpr std::size_t record_alignment = 8;

    /// Blocks and yields the records of every ring as T, in commit order per ring, until
    /// `token` or stop() asks to stop. Records are taken from the ring 64 at a time and
    /// a stop request ends the loop after the ones already taken (so none is lost), even
    /// while a producer keeps the ring full. Callbacks of the rings are not called for the
    /// records it takes. Records shorter than T are skipped and counted like in callbacks.
    ///
    /// ```cpp
    /// std::jthread t([&](std::stop_token st) {
    ///     for (const Event& e : rb.events<Event>(st)) handle(e);
    /// });
    /// ```
    template <EventType T>
    [[nodiscard]] EventRange<T> events(std::stop_token token = {}) {
        (void)enter("iterating");  // checks and clears a stop; next_batch() reads
        return EventRange<T>(*this, std::move(token));
    }

    /// What view<T, N>() returns: up to N records as `const T&` in place.
    template <EventType T, std::size_t N = 64>
    using View = detail::EventView<RingBuffer, T, N>;

    /// Up to N records there now, read in place (no copy), handed back to the producer
    /// when the view is destroyed: a reference into it is valid while the view lives, and
    /// the view can be neither copied nor moved. Waits up to `wait` for the first record
    /// (0: not at all; negative: until one comes or stop()). Needs alignof(T) <=
    /// record_alignment. One reader at a time, as for events<T>().
    ///
    /// ```cpp
    /// {
    ///     auto batch = buf.view<Event>(100ms);
    ///     for (const Event& e : batch) handle(e);
    /// }  // the records go back here
    /// ```
    template <EventType T, std::size_t N = 64>
    [[nodiscard]] View<T, N> view(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
        return View<T, N>(*this, wait);
    }

private:
    template <class, EventType>
    friend class detail::BatchedEventRange;
    template <class, EventType, std::size_t>
    friend class detail::EventView;
    friend class Module;

    // Module::close(): see detail::prepare_close().
    std::exception_ptr prepare_close() { return detail::prepare_close(loop_, iterations_, wake_, name_); }

    void wake_for_stop() const noexcept { wake_.notify(); }

    struct Ring {
        detail::RingMap map;
        std::unique_ptr<detail::RingHandler> handler;
        Ring(int fd, std::string name, int drops_fd, std::unique_ptr<detail::RingHandler> h)
            : map(fd, std::move(name), drops_fd), handler(std::move(h)) {}
    };

    void add_ring(const Map& ring, const std::optional<Map>& drops, std::unique_ptr<detail::RingHandler> h);

    [[nodiscard]] detail::ReadScope enter(std::string_view what) {
        auto scope = loop_.enter(what, "ring buffer", name_);
        if (scope.owns()) loop_.clear_stop();  // a stop() before this call is not for it
        return scope;
    }

    Ring& ring_at(std::size_t index, std::string_view what);

    std::size_t drain_ring(Ring& r, std::size_t max = 0) {
        if (!r.handler) return 0;
        std::exception_ptr error;
        detail::RingContext ctx{name_, &loop_.stop_flag(), &shorts_, &error, max != 0 ? &max : nullptr};
        std::size_t n = r.handler->drain(r.map, ctx);
        if (error) std::rethrow_exception(error);
        return n;
    }

    int poll_once(int timeout_ms) {
        if (!hold_off(timeout_ms)) return 0;
        epoll_event evs[16];
        int n = epoll_wait(epoll_.fd(), evs, 16, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) return 0;
            detail::throw_errno(errno, "polling ring buffer", name_);
        }
        std::size_t total = 0;
        for (int i = 0; i < n; ++i) {
            if (evs[i].data.u64 == detail::Epoll::wake_tag) {
                wake_.drain();
                continue;
            }
            total += drain_ring(*rings_[evs[i].data.u64]);
            if (loop_.stop_requested()) break;
        }
        if (total > 0) woken_with_records();
        return static_cast<int>(total);
    }

    // ---- wake-up pacing (RingBufferOptions::min_wakeup_interval) ---------------------
    void woken_with_records() noexcept {
        if (options_.min_wakeup_interval.count() > 0) last_wakeup_ = std::chrono::steady_clock::now();
    }

    // Sleeps out the rest of the interval since the last wake-up that found records,
    // taking it from `timeout_ms` (-1: none). False when the timeout or stop() ended the
    // pause first (a pause cut by the timeout goes on in the next call). While it
    // sleeps the consumer position is published, so the kernel marks the ring ready for
    // the next record but wakes nobody: the records of the pause are read in one pass.
    bool hold_off(int& timeout_ms) {
        using namespace std::chrono;
        if (last_wakeup_ == steady_clock::time_point{}) return true;
        const auto now = steady_clock::now();
        const auto left = last_wakeup_ + options_.min_wakeup_interval - now;
        if (left <= steady_clock::duration::zero()) {
            last_wakeup_ = {};
            return true;
        }
        const bool cut = timeout_ms >= 0 && left > milliseconds(timeout_ms);
        const auto ns = duration_cast<nanoseconds>(cut ? milliseconds(timeout_ms) : left).count();
        if (ns > 0) {
            timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
            pollfd pfd{wake_.fd(), POLLIN, 0};
            if (ppoll(&pfd, 1, &ts, nullptr) < 0 && errno != EINTR)
                detail::throw_errno(errno, "pausing ring buffer", name_);
        }
        if (cut || loop_.stop_requested()) return false;
        last_wakeup_ = {};
        if (timeout_ms > 0)
            timeout_ms = std::max(0, timeout_ms - static_cast<int>(duration_cast<milliseconds>(steady_clock::now() - now).count()));
        return true;
    }

    // Iterator support: fills `out` with up to out.size() events of the rings (blocking
    // while all are empty); 0 when asked to stop. A batch goes through the same drain
    // loop as callbacks, so the iterator pays that loop once per batch, not per event.
    // The batch holds pointers into the ring: the previous batch has been yielded when
    // this is called, so only now may its records go back to the producer (an eighth of
    // the ring at a time, all of it before sleeping).
    // `wait_ms` >= 0 (a view): wait at most that long, once, and return 0 if still empty.
    template <EventType T, std::size_t N>
    std::size_t next_batch(std::array<detail::EventSlot, N>& out, std::size_t& source, const std::stop_token& token,
                           int wait_ms = -1) {
        auto reading = loop_.enter("iterating", "ring buffer", name_);
        for (bool waited = false;; waited = true) {
            if (token.stop_requested() || loop_.stop_requested()) return 0;
            for (std::size_t k = 0; k < rings_.size(); ++k) {
                std::size_t n = 0;
                detail::RingMap& ring = rings_[cursor_]->map;
                ring.publish_some();
                ring.template drain<false>([&](std::span<const std::byte> rec, unsigned long pos) {
                    if (rec.size() >= sizeof(T)) {
                        out[n++] = detail::EventSlot{rec.data(), pos, -1};
                    } else {
                        shorts_.report(name_, rec.size(), sizeof(T));
                    }
                    return n < N;
                });
                if (n > 0) {
                    source = cursor_;
                    return n;  // stay on this ring while it has records
                }
                ring.publish();
                if (++cursor_ == rings_.size()) cursor_ = 0;
            }
            if (token.stop_requested() || loop_.stop_requested()) return 0;  // before sleeping
            if (wait_ms == 0 || (wait_ms > 0 && waited)) return 0;
            int timeout = wait_ms;
            if (!hold_off(timeout) || token.stop_requested()) return 0;
            epoll_event evs[16];
            int n = epoll_wait(epoll_.fd(), evs, 16, timeout);
            woken_with_records();  // the next loop reads the rings
            if (n < 0 && errno != EINTR) detail::throw_errno(errno, "waiting on ring buffer", name_);
            for (int i = 0; i < n; ++i)
                if (evs[i].data.u64 == detail::Epoll::wake_tag) wake_.drain();
        }
    }

    // A view ended: its records (of ring `source`, all yielded) go back to the producer.
    void commit_view(std::size_t source) noexcept {
        if (source < rings_.size()) rings_[source]->map.publish();
    }

    void finish_iteration() noexcept {
        auto reading = loop_.try_enter();
        if (!reading) return;  // another thread reads now; its reads publish the positions
        for (auto& r : rings_) r->map.publish();
    }

    // An events() range left early: the records of ring `source` from `pos` on were taken
    // but not yielded.
    void give_back(std::size_t source, std::uint64_t pos) noexcept {
        if (source < rings_.size()) rings_[source]->map.rewind(static_cast<unsigned long>(pos));
    }

    std::string name_;
    RingBufferOptions options_;
    std::chrono::steady_clock::time_point last_wakeup_{};  // see hold_off()
    detail::Epoll epoll_{"ring buffer"};
    detail::WakeFd wake_;
    detail::ShortRecords shorts_;
    std::vector<std::unique_ptr<Ring>> rings_;
    std::size_t cursor_ = 0;
    detail::Iterations iterations_;  // events() ranges in progress (Module::close)
    detail::LoopControl loop_;  // last member: its destructor runs after shutdown() joined
};

// ---- built from a Module: what Module::ring_buffer() calls --------------------------

/// A ring buffer consumer of map `map_name` of `mod` calling `on_event`, with the map
/// "<map_name>_drops" as its drop counter when there is one; `mod` owns it. Module::
/// ring_buffer() is the usual spelling.
template <RingEventCallback OnEvent>
RingBuffer& build_ring_buffer(Module& mod, std::string_view map_name, OnEvent&& on_event,
                              const RingBufferOptions& options = {}) {
    return detail::own_buffer(mod, std::make_unique<RingBuffer>(mod.map(map_name), std::forward<OnEvent>(on_event),
                                                                mod.find_map(std::string(map_name) + "_drops"),
                                                                options));
}

/// A ring buffer consumer of map `map_name` of `mod` without a callback (events<T>()).
inline RingBuffer& build_ring_buffer(Module& mod, std::string_view map_name, const RingBufferOptions& options = {}) {
    auto rb = std::make_unique<RingBuffer>(std::string(map_name), options);
    rb->add(mod.map(map_name), mod.find_map(std::string(map_name) + "_drops"));
    return detail::own_buffer(mod, std::move(rb));
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE RingBuffer::RingBuffer(std::string name, const RingBufferOptions& options)
    : name_(std::move(name)), options_(options) {
    if (options_.min_wakeup_interval.count() < 0)
        throw Error(EINVAL, detail::describe("creating ring buffer", name_,
                                             "min_wakeup_interval is negative; use 0 for no pause"));
    epoll_.add(wake_.fd(), detail::Epoll::wake_tag, name_);
}

LIBBPFCPP_INLINE detail::RingMap::~RingMap() {
    munmap(consumer_, page_);
    munmap(producer_, page_ + 2 * size_);
}

LIBBPFCPP_INLINE std::uint64_t detail::RingMap::drops() const {
    if (drops_fd_ < 0) return 0;
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return 0;
    std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
    std::uint32_t zero = 0;
    if (bpf_map_lookup_elem(drops_fd_, &zero, per_cpu.data()) != 0) return 0;
    std::uint64_t sum = 0;
    for (auto v : per_cpu) sum += v;
    return sum;
}

LIBBPFCPP_INLINE RingBuffer& RingBuffer::add(const Map& ring, std::optional<Map> drops) {
    add_ring(ring, drops, nullptr);
    return *this;
}

LIBBPFCPP_INLINE RingState RingBuffer::ring_state(std::size_t index) const {
    const auto& m = const_cast<RingBuffer*>(this)->ring_at(index, "reading the state of").map;
    return {m.name(), m.fd(), m.size(), m.pending_bytes(), m.consumer_position(), m.producer_position()};
}

LIBBPFCPP_INLINE void RingBuffer::start() {
    if (rings_.empty())
        throw Error(EINVAL, detail::describe("starting the poll loop of", name_, "no ring map was added"));
    for (const auto& r : rings_)
        if (!r->handler)
            throw Error(EINVAL, detail::describe("starting the poll loop of", name_,
                                                 "ring '" + r->map.name() +
                                                     "' has no callback; read it with events<T>() instead"));
    loop_.start(name_, [this] { poll_once(-1); });
}

LIBBPFCPP_INLINE std::uint64_t RingBuffer::drops() const {
    std::uint64_t n = 0;
    for (const auto& r : rings_) n += r->map.drops();
    return n;
}

LIBBPFCPP_INLINE void RingBuffer::add_ring(const Map& ring, const std::optional<Map>& drops,
                                           std::unique_ptr<detail::RingHandler> h) {
    if (loop_.running())
        throw Error(EBUSY, detail::describe("adding a ring to", name_, "stop() the background loop first"));
    if (ring.fd() < 0)
        throw Error(EBADF, detail::describe("creating a ring buffer on map", ring.name(),
                                            "the map has no fd; call Module::load() first"));
    int drops_fd = -1;
    if (drops) {
        if (drops->type() != BPF_MAP_TYPE_PERCPU_ARRAY || drops->value_size() != 8)
            throw Error(EINVAL, detail::describe("using drop counter map", drops->name(),
                                                 "expected a per-CPU array of u64 (declare it with "
                                                 "RINGBUF_DROPS() from libbpfcpp/bpf/ringbuf_drops.h)"));
        drops_fd = drops->fd();
    }
    auto r = std::make_unique<Ring>(ring.fd(), std::string(ring.name()), drops_fd, std::move(h));
    epoll_.add(ring.fd(), rings_.size(), name_);
    rings_.push_back(std::move(r));
}

LIBBPFCPP_INLINE RingBuffer::Ring& RingBuffer::ring_at(std::size_t index, std::string_view what) {
    if (index >= rings_.size())
        throw Error(ERANGE, detail::describe(std::string(what) + " ring of", name_,
                                             "no ring " + std::to_string(index) + "; this consumer has " +
                                                 std::to_string(rings_.size())));
    return *rings_[index];
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
