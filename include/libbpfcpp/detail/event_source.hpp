// bpf::detail::EventReader: the reading styles RingBuffer and PerfBuffer share (events<T>(),
// view<T, N>()) and what Module::close() and a stopped range need from either.
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include <chrono>
#include <cstddef>
#include <exception>
#include <stop_token>
#include <utility>

#include "../callbacks.hpp"
#include "event_common.hpp"
#include "event_view.hpp"

namespace bpf::detail {

/// The range events<T>() of a `Buffer` returns (RingEventRange, PerfEventRange): each
/// buffer specializes this for its own walk of its mapped rings.
template <class Buffer, class T>
struct EventRangeFor;

/// Mixed into `Buffer` (RingBuffer, PerfBuffer), which provides name(), enter(what), the
/// members loop_, iterations_ and wake_, and what the view and the range of events<T>()
/// (EventRangeFor) call: view_span(), commit_view(), finish_iteration(), ...; it
/// befriends them.
/// `Alignment`: the alignment every record's bytes have in the buffer's mapping (ring
/// buffer: 8, a record starts 8 bytes after its 8-aligned header; perf: 4, a sample
/// starts 12 bytes into its 8-aligned record). `HasCpu`: records carry their CPU.
template <class Buffer, std::size_t Alignment, bool HasCpu>
class EventReader {
public:
    /// events<T>() and view<T>() read a T in place when alignof(T) is at most this.
    static constexpr std::size_t record_alignment = Alignment;
    /// The iterators of events<T>() and view<T>() have cpu(), the CPU an event was written on.
    static constexpr bool events_have_cpu = HasCpu;

    /// What events<T>() returns: an input range of `const T&` (on a perf buffer its
    /// iterator also has cpu()).
    template <EventType T>
    using EventRange = typename EventRangeFor<Buffer, T>::type;

    /// Blocks and yields the records as T until `token` or stop() asks to stop: per ring
    /// in commit order (a perf buffer's CPUs interleave). The iterator walks the mapped
    /// rings record by record; a stop request ends the loop within 64 events, even while a
    /// producer keeps the buffer full, and the records it did not yield stay in the buffer
    /// (none is lost). The event callbacks are not called for
    /// the records it takes (a perf buffer's lost records are still counted and reported).
    /// Records shorter than T are skipped and counted like in callbacks.
    ///
    /// ```cpp
    /// std::jthread t([&](std::stop_token st) {
    ///     for (const Event& e : buf.events<Event>(st)) handle(e);
    /// });
    /// ```
    template <EventType T>
    [[nodiscard]] EventRange<T> events(std::stop_token token = {}) {
        // The range is the buffer's reader for its whole life (checks and clears a stop).
        return EventRange<T>(self(), std::move(token), self().enter("iterating"));
    }

    /// A view's records when view<T>() is not given N: a view costs about 20 ns to take
    /// and end (three atomic operations and the ring's positions), which 64 records of 16
    /// bytes paid as 9% of their drain.
    static constexpr std::size_t default_view_records = 256;

    /// What view<T, N>() returns: up to N records as `const T&` in place.
    template <EventType T, std::size_t N = default_view_records>
    using View = EventView<Buffer, T, N>;

    /// Up to N records there now, read in place (no copy), handed back to the producer
    /// when the view is destroyed: a reference into it is valid while the view lives, and
    /// the view can be neither copied nor moved. Waits up to `wait` for the first record
    /// (0: not at all; negative: until one comes or stop()). Needs alignof(T) <=
    /// Buffer::record_alignment. One reader at a time, as for events<T>().
    ///
    /// ```cpp
    /// {
    ///     auto batch = buf.view<Event>(100ms);
    ///     for (const Event& e : batch) handle(e);
    /// }  // the records go back here
    /// ```
    template <EventType T, std::size_t N = default_view_records>
    [[nodiscard]] View<T, N> view(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
        return View<T, N>(self(), wait);
    }

protected:
    EventReader() = default;
    ~EventReader() = default;

    // Module::close(): see detail::prepare_close().
    std::exception_ptr prepare_close() {
        Buffer& b = self();
        return detail::prepare_close(b.loop_, b.iterations_, b.wake_, b.name());
    }

    // A range's stop_token was stopped: wake its blocked read.
    void wake_for_stop() const noexcept { static_cast<const Buffer&>(*this).wake_.notify(); }

private:
    Buffer& self() noexcept { return static_cast<Buffer&>(*this); }
};

}  // namespace bpf::detail
