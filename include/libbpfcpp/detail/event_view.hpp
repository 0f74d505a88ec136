// bpf::detail::EventView: a batch of a ring or perf buffer's records read in place, handed
// back to the producer when the view ends (RingBuffer::view<T>(), PerfBuffer::view<T>()).
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include <array>
#include <chrono>
#include <cstddef>
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
/// Alignment: ring buffer records start 8-aligned, perf samples 4-aligned; a T needing
/// more than its buffer gives does not compile (events<T>() and typed callbacks copy such
/// a T instead). Records shorter than T are skipped and counted like in callbacks.
///
/// Every record in the view counts as consumed when it ends, iterated or not.
template <class Source, EventType T, std::size_t N>
class EventView {
    static_assert(alignof(T) <= Source::record_alignment,
                  "this buffer's records are not aligned for T (perf samples are 4-byte aligned, ring buffer "
                  "records 8-byte aligned): read it with events<T>() or a typed callback, which copy each record");
    static_assert(N > 0, "a view holds at least one record");

public:
    EventView(Source& src, std::chrono::milliseconds wait) : src_(&src) {
        src.iterations_.begin(src.name());
        try {
            reading_.emplace(src.enter("viewing"));
            n_ = src.template next_records<T>(recs_, source_, cpu_, to_timeout_ms(wait));
        } catch (...) {
            reading_.reset();
            src.iterations_.end();
            throw;
        }
    }
    EventView(const EventView&) = delete;
    EventView& operator=(const EventView&) = delete;
    ~EventView() {
        if (n_ > 0) src_->commit_view(source_);
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
        iterator(const std::byte* const* p, int cpu) noexcept : cur_(p), cpu_(cpu) {}
        const T& operator*() const noexcept { return *std::launder(reinterpret_cast<const T*>(*cur_)); }
        const T* operator->() const noexcept { return &**this; }
        iterator& operator++() noexcept {
            ++cur_;
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator old = *this;
            ++cur_;
            return old;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.cur_ == b.cur_; }

        /// The CPU the current event was written on (perf buffers).
        [[nodiscard]] int cpu() const noexcept
            requires Source::events_have_cpu
        {
            return cpu_;
        }

    private:
        const std::byte* const* cur_ = nullptr;
        int cpu_ = -1;
    };

    [[nodiscard]] iterator begin() const noexcept { return iterator(recs_.data(), cpu_); }
    [[nodiscard]] iterator end() const noexcept { return iterator(recs_.data() + n_, cpu_); }
    /// The number of records in the view.
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
    /// The i-th record (i < size()).
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept {
        return *std::launder(reinterpret_cast<const T*>(recs_[i]));
    }

private:
    Source* src_;
    std::optional<ReadScope> reading_;  // no other reader while the records are held
    std::array<const std::byte*, N> recs_;  // where each record's bytes are, in the mapping
    std::size_t n_ = 0;
    int cpu_ = -1;  // perf: the CPU of the records
    std::size_t source_ = 0;  // the ring (ring buffer) or CPU ring (perf) of the records
};

}  // namespace bpf::detail
