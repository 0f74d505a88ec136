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
#include "detail/event_ring_map.hpp"
#include "detail/event_source.hpp"
#include "detail/iterations.hpp"
#include "detail/module_state.hpp"
#include "error.hpp"
#include "map.hpp"
#include "module.hpp"

namespace bpf {

class RingBuffer;

/// A ring buffer's events<T>() walks the mapped ring record by record.
template <class T>
struct detail::EventRangeFor<RingBuffer, T> {
    using type = RingEventRange<RingBuffer, T>;
};

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
class RingBuffer : public detail::Resource, public detail::EventReader<RingBuffer, 8, false> {
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

private:
    template <class, EventType>
    friend class detail::RingEventRange;
    template <class, EventType, std::size_t>
    friend class detail::EventView;
    friend class detail::EventReader<RingBuffer, 8, false>;
    friend class Module;

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

    // Waits until `take(ring)` finds records in one of the rings (true; `source` is that
    // ring) or a stop is asked for (false). The rings' positions are published before
    // any sleep, and an eighth of a ring at a time while it is read.
    // `wait_ms` >= 0 (a view): wait at most that long, once, and return false if still empty.
    // The caller (a view, an events() range) holds the read scope for as long as it lives.
    template <class Take>
    [[gnu::hot]] bool wait_for_records(std::size_t& source, const std::stop_token& token, int wait_ms, Take&& take) {
        for (bool waited = false;; waited = true) {
            if (token.stop_requested() || loop_.stop_requested()) return false;
            for (std::size_t k = 0; k < rings_.size(); ++k) {
                detail::RingMap& ring = rings_[cursor_]->map;
                ring.publish_some();
                if (take(ring)) {
                    source = cursor_;
                    return true;  // stay on this ring while it has records
                }
                ring.publish();
                if (++cursor_ == rings_.size()) cursor_ = 0;
            }
            if (token.stop_requested() || loop_.stop_requested()) return false;  // before sleeping
            if (wait_ms == 0 || (wait_ms > 0 && waited)) return false;
            int timeout = wait_ms;
            if (!hold_off(timeout) || token.stop_requested()) return false;
            epoll_event evs[16];
            int n = epoll_wait(epoll_.fd(), evs, 16, timeout);
            woken_with_records();  // the next loop reads the rings
            if (n < 0 && errno != EINTR) detail::throw_errno(errno, "waiting on ring buffer", name_);
            for (int i = 0; i < n; ++i)
                if (evs[i].data.u64 == detail::Epoll::wake_tag) wake_.drain();
        }
    }

    // View support (the view holds the read scope): the records of one ring from the
    // first of at least sizeof(T) bytes on, for the view to walk (RingViewWalk); false
    // when `wait_ms` passed, or on a stop. They stay unpublished until the view ends
    // (commit_view()). `cpu` is for the perf buffer's view, which has one.
    template <EventType T>
    using ViewWalk = detail::RingViewWalk<T>;
    template <EventType T>
    [[gnu::hot]] bool view_span(detail::RingSpan& span, std::size_t& source, int& cpu, int wait_ms) {
        cpu = -1;
        return wait_for_records(source, std::stop_token{}, wait_ms, [&](detail::RingMap& ring) {
            return ring.take_view_span(span, sizeof(T), [&](std::uint32_t size) { shorts_.report(name_, size, sizeof(T)); });
        });
    }

    // Iterator support: the next span of records of one ring, read in place by the
    // events() range (blocking while all rings are empty); false when asked to stop. The
    // span before it was read up to where resume_at() said.
    [[gnu::hot]] bool next_span(detail::RingSpan& span, std::size_t& source, const std::stop_token& token) {
        return wait_for_records(source, token, -1, [&](detail::RingMap& ring) { return ring.take_span(span); });
    }

    // An events() range read ring `source` up to `pos` (the rest of its span is unread).
    [[gnu::hot]] void resume_at(std::size_t source, unsigned long pos) noexcept {
        if (source < rings_.size()) rings_[source]->map.read_up_to(pos);
    }

    void report_short(std::size_t got, std::size_t want) noexcept { shorts_.report(name_, got, want); }

    // A view ended: its records (of ring `source`, those before `end`) go back to the producer.
    [[gnu::hot]] void commit_view(std::size_t source, unsigned long end) noexcept {
        resume_at(source, end);
        if (source < rings_.size()) rings_[source]->map.publish();
    }

    // The range that calls it holds the read scope.
    [[gnu::hot]] void finish_iteration() noexcept {
        for (auto& r : rings_) r->map.publish();
    }

    std::string name_;
    RingBufferOptions options_;
    std::chrono::steady_clock::time_point last_wakeup_{};  // see hold_off()
    detail::Epoll epoll_{"ring buffer"};
    detail::WakeFd wake_;
    detail::ShortRecords shorts_;
    // What every range, view and poll() reads first, on one cache line (PerfBuffer's).
    alignas(64) detail::Iterations iterations_;  // events() ranges in progress (Module::close)
    std::vector<std::unique_ptr<Ring>> rings_;
    std::size_t cursor_ = 0;
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
