// bpf::detail::RingEventRange: what RingBuffer::events<T>() returns, an input range that
// walks the mapped ring record by record; and RingViewWalk, the same walk bounded to the
// records of a view<T>().
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <linux/bpf.h>

#include "../callbacks.hpp"
#include "event_common.hpp"

namespace bpf::detail {

/// Records of one ring the consumer may read: those that start in [pos, end). None of
/// them has been handed back to the producer; `end` is at most the producer position
/// seen when the span was taken, so every record starting before it is reserved.
struct RingSpan {
    const std::byte* data = nullptr;  // the ring's data pages, mapped twice in a row
    unsigned long mask = 0;
    unsigned long pos = 0;
    unsigned long end = 0;
};

/// The bytes a ring record of header word `len` takes, its 8-byte header included.
inline constexpr unsigned long ring_stored_size(std::uint32_t len) noexcept {
    return ((len & ~static_cast<std::uint32_t>(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) +
            static_cast<unsigned long>(BPF_RINGBUF_HDR_SZ) + 7) &
           ~7UL;
}

/// The header word of the ring record at `hdr` (its length, the busy and discard bits),
/// read with acquire: the producer commits a record by storing it.
inline std::uint32_t ring_header_word(const std::byte* hdr) noexcept {
    auto* p = const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(hdr));
    return std::atomic_ref(*p).load(std::memory_order_acquire);
}

/// One unsigned test for: a record of header word `len` holds at least `min` bytes and
/// has neither the busy nor the discard bit set (the walks' fast path).
inline constexpr bool ring_record_fits(std::uint32_t len, std::size_t min) noexcept {
    return len - min < BPF_RINGBUF_DISCARD_BIT - min;
}

/// The walks read records in order: the line 512 bytes past `pos`, or after records of
/// 128 bytes and more (`stored`, the last one's size) the header four records ahead (a
/// loop reading only the headers of large records would otherwise wait for each one: its
/// address is known only once the previous header is read). Only lines the producer has
/// finished with (before `limit`) are asked for.
inline void ring_prefetch(const std::byte* data, unsigned long mask, unsigned long pos, unsigned long stored,
                          unsigned long limit) noexcept {
    const unsigned long ahead = pos + (stored * 4 > 512 ? stored * 4 : 512);
    if (ahead < limit) __builtin_prefetch(data + (ahead & mask));
}

/// The input range of `const T&` of RingBuffer::events<T>(). The iterator reads the ring
/// itself, one header at a time, as libbpf's loop does, with no list of records in
/// between: the per-record work is one header load, one range test, one store of where
/// the loop is and a prefetch. A span is at most an eighth of the ring (the source's
/// next_span()); between spans the consumer position is published. A stop request is
/// honoured within 64 events (see `window`). A loop left early (a break, an exception) gives the records after the one
/// it yielded last back to the buffer, so the next range or poll() gets them.
template <class Source, EventType T>
class RingEventRange {
public:
    /// Events of `src` until its stop() or a stop request on `token`; `reading` makes this
    /// thread the buffer's reader for the range's life (next_span() and
    /// finish_iteration() rely on it).
    RingEventRange(Source& src, std::stop_token token, ReadScope reading)
        : src_(&src), token_(std::move(token)), reading_(std::move(reading)) {
        if (token_.stop_possible()) on_stop_.emplace(token_, StopWaker{&src});
        src.iterations_.begin(src.name());
    }
    RingEventRange(const RingEventRange&) = delete;
    RingEventRange& operator=(const RingEventRange&) = delete;
    [[gnu::hot]] ~RingEventRange() {
        // at_ is the record yielded last; the ones after it were not seen.
        if (holding_) {
            const auto* hdr = reinterpret_cast<const std::uint32_t*>(span_.data + (at_ & span_.mask));
            src_->resume_at(source_, at_ + ring_stored_size(*hdr));
        }
        src_->finish_iteration();
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
        [[gnu::hot]] explicit iterator(RingEventRange* r) : r_(r) {
            c_ = seek(r_, Cursor{r->span_.data, r->span_.mask, r->span_.pos, r->span_.pos, r->span_.pos, 0, nullptr});
            if (c_.rec == nullptr) r_ = nullptr;
        }

        // Ring records are 8-byte aligned (RecordRef). The record goes back to the producer
        // only when the next span is taken, after the loop moved on.
        const T& operator*() const noexcept { return ref_.get(c_.rec); }
        const T* operator->() const noexcept { return &**this; }

        // The fast path: the next record is in the span, committed, not discarded and
        // long enough. The cursor lives in the iterator, a local of the loop, and never
        // has its address taken (the slow path gets and returns it by value), so it stays
        // in registers across the loop body; the range only learns where the loop is
        // (one store).
        iterator& operator++() {
            const unsigned long stored = ring_stored_size(c_.len);
            const unsigned long pos = c_.pos + stored;
            // The stop check every `window` bytes, in line while nobody asked to stop: a call
            // to seek() there (the cursor copied in and out) cost a 16-byte record's loop
            // about a tenth of its time.
            if (pos >= c_.end && pos < c_.limit && !r_->stop_asked()) [[unlikely]] c_.end = window_end(pos, c_.limit);
            if (pos < c_.end) {
                const std::byte* hdr = c_.data + (pos & c_.mask);
                const std::uint32_t len = ring_header_word(hdr);
                if (ring_record_fits(len, sizeof(T))) {
                    c_.pos = pos;
                    c_.len = len;
                    c_.rec = hdr + BPF_RINGBUF_HDR_SZ;
                    r_->at_ = pos;
                    ring_prefetch(c_.data, c_.mask, pos, stored, c_.limit);
                    return *this;
                }
            }
            c_.pos = pos;
            c_ = seek(r_, c_);
            if (c_.rec == nullptr) r_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.r_ == nullptr; }

    private:
        struct Cursor {
            const std::byte* data;
            unsigned long mask;
            unsigned long pos;    // the record yielded now (or, in seek(), the next to look at)
            unsigned long end;    // the next stop check (at most `window` bytes on), or limit
            unsigned long limit;  // the span's end
            std::uint32_t len;  // the header word of the record at pos
            const std::byte* rec;  // its bytes; nullptr: the events ended
        };

        // A stop request ends the loop after at most 64 more events: a yielded record
        // takes at least ring_stored_size(sizeof(T)) bytes, so the fast path's end test
        // doubles as the stop check's counter and the fast path pays nothing for it.
        static constexpr unsigned long window = 64 * ring_stored_size(sizeof(T));
        static unsigned long window_end(unsigned long pos, unsigned long limit) noexcept {
            return limit - pos > window ? pos + window : limit;
        }

        // The slow path, from c.pos on: skips discarded and short records, ends the span at
        // an uncommitted one, and takes the next span (blocking) when this one is done.
        [[gnu::hot]] static Cursor seek(RingEventRange* r, Cursor c) {
            for (;;) {
                if (c.pos < c.end) {
                    const std::byte* hdr = c.data + (c.pos & c.mask);
                    const std::uint32_t len = ring_header_word(hdr);
                    if ((len & BPF_RINGBUF_BUSY_BIT) != 0) {
                        c.end = c.limit = c.pos;  // not committed yet: the next span starts here
                        continue;
                    }
                    if ((len & BPF_RINGBUF_DISCARD_BIT) == 0) {
                        if (len >= sizeof(T)) {
                            c.len = len;
                            c.rec = hdr + BPF_RINGBUF_HDR_SZ;
                            r->at_ = c.pos;
                            ring_prefetch(c.data, c.mask, c.pos, ring_stored_size(len), c.limit);
                            return c;
                        }
                        r->src_->report_short(len, sizeof(T));
                    }
                    c.pos += ring_stored_size(len);
                    continue;
                }
                if (c.pos < c.limit) {  // a stop check inside the span
                    if (r->stopping(c.pos)) {
                        c.rec = nullptr;
                        return c;
                    }
                    c.end = window_end(c.pos, c.limit);
                    continue;
                }
                if (!r->next(c.pos)) {
                    c.rec = nullptr;
                    return c;
                }
                const RingSpan& s = r->span_;
                c = Cursor{s.data, s.mask, s.pos, window_end(s.pos, s.end), s.end, 0, nullptr};
            }
        }

        RingEventRange* r_ = nullptr;
        Cursor c_{};
        [[no_unique_address]] RecordRef<T, 8> ref_{};
    };

    /// Waits for the first event.
    iterator begin() { return iterator(this); }
    /// Reached when the buffer is stopped.
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    struct StopWaker {
        Source* src;
        void operator()() const noexcept { src->wake_for_stop(); }
    };

    // At a stop check with the records from `pos` on not read: true (the span goes back
    // from `pos` on and the events end) when stop() or the token asked to stop.
    bool stop_asked() const noexcept { return token_.stop_requested() || src_->loop_.stop_requested(); }
    bool stopping(unsigned long pos) {
        if (!stop_asked()) [[likely]] return false;
        stop_at(pos);
        return true;
    }
    // Out of line: once per range at most, and seek() runs on cold caches at every span.
    [[gnu::cold, gnu::noinline]] void stop_at(unsigned long pos) noexcept {
        src_->resume_at(source_, pos);
        holding_ = false;
        src_->finish_iteration();
    }

    // The span in hand was read up to `done` (every record before it yielded or
    // skipped): hands it to the source and takes the next span; false when the events end.
    [[gnu::hot]] bool next(unsigned long done) {
        if (holding_) src_->resume_at(source_, done);
        holding_ = false;
        if (!src_->next_span(span_, source_, token_)) {
            src_->finish_iteration();
            return false;
        }
        holding_ = true;
        at_ = span_.pos;
        return true;
    }

    Source* src_;
    std::stop_token token_;
    std::optional<std::stop_callback<StopWaker>> on_stop_;  // none for a token that cannot be stopped
    std::optional<ReadScope> reading_;  // this thread reads the buffer while the range lives
    RingSpan span_;
    std::size_t source_ = 0;    // the ring of the span
    unsigned long at_ = 0;      // the record yielded last
    bool holding_ = false;      // a span was taken and not handed back
};

/// How a view<T>() (EventView) walks a ring: from a record of at least sizeof(T) bytes
/// (RingMap::take_view_span() finds the first, reporting short ones before it) to the
/// next, skipping discarded records, until `limit` (the producer position when the view
/// was taken) or the first record that is uncommitted or short: the view ends before it,
/// and the next read starts there (and reports it). So a walk has no side effects, and a
/// view may be walked again (begin() twice, size(), the destructor's search for its end).
template <EventType T>
struct RingViewWalk {
    using Span = RingSpan;
    struct Cursor {
        const std::byte* data;
        unsigned long mask;
        unsigned long pos;    // the record at rec; when rec is nullptr, where the view ends
        unsigned long limit;
        std::uint32_t len;     // its header word
        const std::byte* rec;  // its bytes; nullptr: no more records in the view
    };
    static Cursor start(const Span& s) noexcept {
        Cursor c{s.data, s.mask, s.pos, s.end, 0, nullptr};
        return seek(c);
    }
    /// Where the record at c.pos ends.
    static unsigned long after(const Cursor& c) noexcept { return c.pos + ring_stored_size(c.len); }

    /// The next record of the view after c's (c.rec nullptr: none; c.pos is the view's end).
    /// The fast path tests one header word, as RingEventRange's iterator does.
    static void next(Cursor& c) noexcept {
        const unsigned long stored = ring_stored_size(c.len);
        const unsigned long pos = c.pos + stored;
        c.pos = pos;
        if (pos < c.limit) {
            const std::byte* hdr = c.data + (pos & c.mask);
            const std::uint32_t len = ring_header_word(hdr);
            if (ring_record_fits(len, sizeof(T))) {
                c.len = len;
                c.rec = hdr + BPF_RINGBUF_HDR_SZ;
                ring_prefetch(c.data, c.mask, pos, stored, c.limit);
                return;
            }
        }
        c = seek(c);
    }

private:
    // From c.pos on (by value, out of line: the fast path's cursor stays in registers).
    [[gnu::noinline]] static Cursor seek(Cursor c) noexcept {
        while (c.pos < c.limit) {
            const std::byte* hdr = c.data + (c.pos & c.mask);
            const std::uint32_t len = ring_header_word(hdr);
            if (ring_record_fits(len, sizeof(T))) {
                c.len = len;
                c.rec = hdr + BPF_RINGBUF_HDR_SZ;
                return c;
            }
            if ((len & BPF_RINGBUF_DISCARD_BIT) == 0) break;  // uncommitted or short: the view ends here
            c.pos += ring_stored_size(len);
        }
        c.rec = nullptr;
        return c;
    }
};

}  // namespace bpf::detail
