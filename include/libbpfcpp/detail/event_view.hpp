// bpf::detail::EventView: a batch of a ring or perf buffer's records read in place, handed
// back to the producer when the view ends (RingBuffer::view<T>(), PerfBuffer::view<T>()).
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <stop_token>

#include "../callbacks.hpp"
#include "event_common.hpp"

namespace bpf::detail {

/// Up to N records of one ring (one CPU's ring for a perf buffer), as `const T&` that
/// point into the buffer's mapping: nothing is copied. The records stay the consumer's
/// until the view is destroyed; only then does the producer get their space back (one
/// store of the consumer position for the whole batch). So a reference from the view is
/// valid exactly as long as the view: the view can be neither copied nor moved, which
/// keeps it in the scope that made it, and a reference kept past that scope reads memory
/// the producer may already be rewriting (the mapping stays, so no sanitizer would see it).
///
/// The records are walked where they are, one header at a time, while the loop runs
/// (Source::ViewWalk: the events<T>() iterator's walk, bounded): no list of them is made
/// first. The view is the first N records of at least sizeof(T) bytes from the consumer
/// position on, up to where the producer was when the view was taken, and it ends early
/// at a record a loop could not be handed in place (uncommitted; short; on a perf
/// buffer a lost-record notice or a sample wrapping the ring's end): the next read
/// starts there. Records shorter than T before the first are skipped and counted like in
/// callbacks. The walk has no side effects, so begin() may be called again; size() and
/// operator[] index the view on their first call (a view is read on the thread that
/// made it, which holds the buffer's read scope).
///
/// Alignment: ring buffer records start 8-aligned, perf samples 4-aligned; a T needing
/// more than its buffer gives does not compile (events<T>() and typed callbacks copy such
/// a T instead).
///
/// Every record in the view counts as consumed when it ends, iterated or not.
template <class Source, EventType T, std::size_t N>
class EventView {
    static_assert(alignof(T) <= Source::record_alignment,
                  "this buffer's records are not aligned for T (perf samples are 4-byte aligned, ring buffer "
                  "records 8-byte aligned): read it with events<T>() or a typed callback, which copy each record");
    static_assert(N > 0, "a view holds at least one record");
    using Walk = typename Source::template ViewWalk<T>;
    using Cursor = typename Walk::Cursor;
    using Span = typename Walk::Span;

public:
    EventView(Source& src, std::chrono::milliseconds wait) : src_(&src) {
        src.iterations_.begin(src.name());
        try {
            reading_.emplace(src.enter("viewing"));
            Span span;
            if (src.template view_span<T>(span, source_, cpu_, to_timeout_ms(wait))) first_ = Walk::start(span);
        } catch (...) {
            reading_.reset();
            src.iterations_.end();
            throw;
        }
    }
    EventView(const EventView&) = delete;
    EventView& operator=(const EventView&) = delete;
    ~EventView() {
        if (first_.rec != nullptr) src_->commit_view(source_, end_position());
        reading_.reset();
        src_->iterations_.end();  // last: Module::close() may free the buffer from here on
    }

    class iterator {
    public:
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using reference = const T&;
        using iterator_category = std::input_iterator_tag;

        iterator() = default;
        const T& operator*() const noexcept { return *std::launder(reinterpret_cast<const T*>(c_.rec)); }
        const T* operator->() const noexcept { return &**this; }
        // One header test a record (Walk::next); the cursor never has its address taken
        // outside the inlined walk, so it stays in registers across the loop body. At the
        // view's end the view learns where that is (one store), for its destructor.
        iterator& operator++() noexcept {
            if (--left_ != 0) {
                Walk::next(c_);
                if (c_.rec != nullptr) return *this;
                v_->end_ = c_.pos;
            } else {
                v_->end_ = Walk::after(c_);
            }
            v_ = nullptr;
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.v_ == nullptr; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.v_ == b.v_ && (a.v_ == nullptr || a.c_.pos == b.c_.pos);
        }

        /// The CPU the current event was written on (perf buffers).
        [[nodiscard]] int cpu() const noexcept
            requires Source::events_have_cpu
        {
            return v_->cpu_;
        }

    private:
        friend class EventView;
        iterator(const EventView* v, const Cursor& c) noexcept : v_(v), c_(c) {}

        const EventView* v_ = nullptr;  // nullptr: the end
        Cursor c_{};
        std::size_t left_ = N;  // records of the view from this one on
    };

    [[nodiscard]] iterator begin() const noexcept {
        return first_.rec == nullptr ? iterator() : iterator(this, first_);
    }
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }
    /// The number of records in the view (indexes the view on the first call).
    [[nodiscard]] std::size_t size() const noexcept { return index(); }
    [[nodiscard]] bool empty() const noexcept { return first_.rec == nullptr; }
    /// The i-th record (i < size()).
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept {
        index();
        return *std::launder(reinterpret_cast<const T*>(recs_[i]));
    }

private:
    static constexpr std::uint64_t unknown = ~std::uint64_t{0};

    // Where the view ends: known once a loop reached its end, else walked to.
    std::uint64_t end_position() const noexcept {
        if (end_ != unknown) return end_;
        index();
        return end_;
    }
    std::size_t index() const noexcept {
        if (n_ != unknown_count) return n_;
        std::size_t n = 0;
        Cursor c = first_;
        for (;;) {
            recs_[n++] = c.rec;
            if (n == N) {
                end_ = Walk::after(c);
                break;
            }
            Walk::next(c);
            if (c.rec == nullptr) {
                end_ = c.pos;
                break;
            }
        }
        n_ = n;
        return n;
    }
    static constexpr std::size_t unknown_count = ~std::size_t{0};

    Source* src_;
    std::optional<ReadScope> reading_;  // no other reader while the records are held
    Cursor first_{};                    // the first record (rec nullptr: the view is empty)
    int cpu_ = -1;                      // perf: the CPU of the records
    std::size_t source_ = 0;            // the ring (ring buffer) or CPU ring (perf) of the records
    mutable std::uint64_t end_ = unknown;  // the position after the view's last record
    mutable std::size_t n_ = unknown_count;
    mutable std::array<const std::byte*, N> recs_;  // size() and operator[]: where each record is
};

}  // namespace bpf::detail
