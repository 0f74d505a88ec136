// bpf::detail::PerfEventRange: what PerfBuffer::events<T>() returns, an input range that
// walks the mapped per-CPU rings record by record; and PerfViewWalk, the same walk
// bounded to the records of a view<T>().
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

#include <linux/perf_event.h>

#include "../callbacks.hpp"
#include "event_common.hpp"

namespace bpf::detail {

/// Records of one CPU's perf ring the consumer may read: those that start in [pos, end).
/// None has been handed back to the kernel. `head` is the kernel's data_head when the
/// span was taken (a record boundary, at or after `end`).
struct PerfSpan {
    const std::byte* data = nullptr;
    std::uint64_t size = 0;  // bytes of data, a power of two
    std::uint64_t pos = 0;
    std::uint64_t end = 0;
    std::uint64_t head = 0;
    int cpu = -1;
};

// Layout of the two record types a BPF output event produces.
inline constexpr std::size_t perf_sample_data_offset = sizeof(perf_event_header) + sizeof(std::uint32_t);
inline constexpr std::size_t perf_lost_count_offset = sizeof(perf_event_header) + sizeof(std::uint64_t);

/// The bytes of the sample in the record at `rec` with header `h`: its size word, but no
/// more than the record holds.
inline std::uint32_t perf_sample_size(const std::byte* rec, const perf_event_header& h) noexcept {
    if (h.size < perf_sample_data_offset) return 0;
    std::uint32_t len;
    std::memcpy(&len, rec + sizeof h, sizeof len);
    const auto room = static_cast<std::uint32_t>(h.size - perf_sample_data_offset);
    return len < room ? len : room;
}

/// The count of a PERF_RECORD_LOST record at `rec`.
inline std::uint64_t perf_lost_count(const std::byte* rec) noexcept {
    std::uint64_t count;
    std::memcpy(&count, rec + perf_lost_count_offset, sizeof count);
    return count;
}

/// The record of `n` bytes at offset `off` of a ring of `size` bytes at `data`, which
/// wraps the ring's end, made contiguous in `scratch` (valid until its next use).
inline const std::byte* unwrap_perf_record(std::vector<std::byte>& scratch, const std::byte* data, std::uint64_t size,
                                           std::uint64_t off, std::size_t n) {
    scratch.resize(n);
    const auto first = static_cast<std::size_t>(size - off);
    std::memcpy(scratch.data(), data + off, first);
    std::memcpy(scratch.data() + first, data, n - first);
    return scratch.data();
}

/// The walks read records in order: the line 512 bytes past `pos`, or after records of
/// 128 bytes and more (`len`, the one at `pos`) the header four records ahead (a loop
/// reading only the headers of large records would otherwise wait for each one). Only
/// lines the kernel has finished with (before `limit`) are asked for.
inline void perf_prefetch(const std::byte* data, std::uint64_t size, std::uint64_t pos, std::uint64_t len,
                          std::uint64_t limit) noexcept {
    const std::uint64_t ahead = pos + (len * 4 > 512 ? len * 4 : 512);
    if (ahead < limit) __builtin_prefetch(data + (ahead & (size - 1)));
}

/// The walks' fast path (the events<T>() iterator's and a view's): the sample bytes of the
/// record at ring position `pos` when it is a sample of at least sizeof(T) bytes that does
/// not wrap the ring's end, else nullptr (the slow path looks at it); `rec_size` gets the record's size.
template <EventType T>
inline const std::byte* perf_sample_in_place(const std::byte* data, std::uint64_t size, std::uint64_t pos,
                                             std::uint64_t& rec_size) noexcept {
    const std::uint64_t off = pos & (size - 1);
    const std::byte* rec = data + off;
    // The size by a load of its own: the next record's position waits on it, and taking
    // it out of one load of the whole header put a shift on that chain.
    std::uint16_t n;
    std::memcpy(&n, rec + offsetof(perf_event_header, size), sizeof n);
    std::uint32_t type;
    std::memcpy(&type, rec + offsetof(perf_event_header, type), sizeof type);
    std::uint32_t len;
    std::memcpy(&len, rec + sizeof(perf_event_header), sizeof len);
    rec_size = n;
    if (type == PERF_RECORD_SAMPLE && off + n <= size && len >= sizeof(T)) return rec + perf_sample_data_offset;
    return nullptr;
}

/// The input range of `const T&` of PerfBuffer::events<T>(). The iterator reads the CPU
/// rings itself, one record header at a time, with no list of records in between: per
/// sample one header load and three tests (a sample, not wrapping the ring's end, long
/// enough), one store of where the loop is and a prefetch. Lost-record notices, short
/// samples and samples that wrap take the slow path. A span is at most an eighth of a
/// ring (the source's next_span()); between spans data_tail is published. A stop request
/// is honoured within 64 events (see `window`). A loop left early (a break, an
/// exception) gives the records after the one it yielded last back to the buffer.
template <class Source, EventType T>
class PerfEventRange {
public:
    /// Events of `src` until its stop() or a stop request on `token`; `reading` makes this
    /// thread the buffer's reader for the range's life (next_span() and
    /// finish_iteration() rely on it).
    PerfEventRange(Source& src, std::stop_token token, ReadScope reading)
        : src_(&src), token_(std::move(token)), reading_(std::move(reading)) {
        if (token_.stop_possible()) on_stop_.emplace(token_, StopWaker{&src});
        src.iterations_.begin(src.name());
    }
    PerfEventRange(const PerfEventRange&) = delete;
    PerfEventRange& operator=(const PerfEventRange&) = delete;
    [[gnu::hot]] ~PerfEventRange() {
        // at_ is the record yielded (or reported lost) last; the ones after it were not seen.
        if (holding_) {
            perf_event_header h;
            std::memcpy(&h, span_.data + (at_ & (span_.size - 1)), sizeof h);
            src_->resume_at(source_, at_ + h.size);
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
        [[gnu::hot]] explicit iterator(PerfEventRange* r) : r_(r) {
            const PerfSpan& s = r->span_;
            c_ = seek(r_, Cursor{s.data, s.size, s.pos, s.pos, s.pos, 0, nullptr});
            if (c_.rec == nullptr) r_ = nullptr;
        }

        // A sample starts 12 bytes into its 8-aligned record: in place up to alignof 4
        // (RecordRef). The record goes back to the kernel only when a later span is taken.
        const T& operator*() const noexcept { return ref_.get(c_.rec); }
        const T* operator->() const noexcept { return &**this; }

        /// The CPU the current event was written on.
        [[nodiscard]] int cpu() const noexcept { return r_->span_.cpu; }

        // The fast path: the next record is in the span, a sample, does not wrap the
        // ring's end and is long enough. The cursor never has its address taken (the slow
        // path gets and returns it by value), so it stays in registers across the loop
        // body; the range only learns where the loop is (one store).
        iterator& operator++() {
            const std::uint64_t pos = c_.pos + c_.len;
            // The stop check every `window` bytes, in line while nobody asked to stop: a call
            // to seek() there (the cursor copied in and out) cost a 16-byte record's loop
            // about a tenth of its time.
            if (pos >= c_.end && pos < c_.limit && !r_->stop_asked()) [[unlikely]] c_.end = window_end(pos, c_.limit);
            if (pos < c_.end) {
                std::uint64_t n;
                if (const std::byte* rec = perf_sample_in_place<T>(c_.data, c_.size, pos, n)) {
                    c_.pos = pos;
                    c_.len = n;
                    c_.rec = rec;
                    r_->at_ = pos;
                    prefetch(c_);
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
            std::uint64_t size;   // the ring's data bytes
            std::uint64_t pos;    // the record yielded now (or, in seek(), the next to look at)
            std::uint64_t end;    // the next stop check (at most `window` bytes on), or limit
            std::uint64_t limit;  // the span's end
            std::uint64_t len;    // the size of the record at pos
            const std::byte* rec; // its sample's bytes; nullptr: the events ended
            // (the CPU is the span's: seven words, which g++ keeps in registers across the
            // loop, where with an eighth it kept them on the stack)
        };

        static void prefetch(const Cursor& c) noexcept { perf_prefetch(c.data, c.size, c.pos, c.len, c.limit); }

        // A stop request ends the loop after at most 64 more events: a yielded sample
        // takes at least this many bytes / 64, so the fast path's end test doubles as the
        // stop check's counter.
        static constexpr std::uint64_t window = 64 * ((perf_sample_data_offset + sizeof(T) + 7) / 8 * 8);
        static std::uint64_t window_end(std::uint64_t pos, std::uint64_t limit) noexcept {
            return limit - pos > window ? pos + window : limit;
        }

        // The slow path, from c.pos on: reports lost records, skips short samples and other
        // record types, copies a sample that wraps the ring's end, and takes the next span
        // (blocking) when this one is done.
        // Kept out of line: inlined, it takes the registers the fast path keeps the cursor in.
        [[gnu::hot, gnu::noinline]] static Cursor seek(PerfEventRange* r, Cursor c) {
            for (;;) {
                if (c.pos < c.end) {
                    const std::uint64_t off = c.pos & (c.size - 1);
                    const std::byte* rec = c.data + off;
                    perf_event_header h;  // 8-byte records in an 8-aligned ring: a header never wraps
                    std::memcpy(&h, rec, sizeof h);
                    if (h.size < sizeof h || h.size > r->span_.head - c.pos) [[unlikely]] {  // not a record the kernel writes
                        c.pos = c.end = c.limit = r->span_.head;
                        continue;
                    }
                    c.len = h.size;
                    if (off + h.size > c.size) [[unlikely]]
                        rec = unwrap_perf_record(r->scratch_, c.data, c.size, off, h.size);
                    if (h.type == PERF_RECORD_SAMPLE) [[likely]] {
                        const std::uint32_t len = perf_sample_size(rec, h);
                        if (len >= sizeof(T)) [[likely]] {
                            c.rec = rec + perf_sample_data_offset;
                            r->at_ = c.pos;
                            prefetch(c);
                            return c;
                        }
                        r->src_->report_short(len, sizeof(T));
                    } else if (h.type == PERF_RECORD_LOST) [[unlikely]] {
                        r->at_ = c.pos;  // if the lost callback throws, the range resumes after this record
                        r->src_->report_lost(r->span_.cpu, perf_lost_count(rec));
                    }
                    c.pos += h.size;
                    continue;
                }
                if (c.pos < c.limit) {  // a stop check inside the span
                    if (r->stopping(c.pos)) [[unlikely]] {
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
                const PerfSpan& s = r->span_;
                c = Cursor{s.data, s.size, s.pos, window_end(s.pos, s.end), s.end, 0, nullptr};
            }
        }

        PerfEventRange* r_ = nullptr;
        Cursor c_{};
        [[no_unique_address]] RecordRef<T, 4> ref_{};
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
    bool stopping(std::uint64_t pos) {
        if (!stop_asked()) [[likely]] return false;
        stop_at(pos);
        return true;
    }
    // Out of line: once per range at most, and seek() runs on cold caches at every span.
    [[gnu::cold, gnu::noinline]] void stop_at(std::uint64_t pos) noexcept {
        src_->resume_at(source_, pos);
        holding_ = false;
        src_->finish_iteration();
    }

    // The span in hand was read up to `done`: hands it to the source and takes the next
    // span; false when the events end.
    [[gnu::hot]] bool next(std::uint64_t done) {
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
    PerfSpan span_;
    std::size_t source_ = 0;  // the CPU ring of the span
    std::uint64_t at_ = 0;    // the record yielded last
    bool holding_ = false;    // a span was taken and not handed back
    std::vector<std::byte> scratch_;
};

/// The records of one CPU's perf ring a view<T>() reads: from `pos` (a sample of at least
/// sizeof(T) bytes, at `first`: in place, or made contiguous in the buffer's scratch when
/// it wraps the ring's end) up to `end`, the kernel's data_head when the view was taken.
struct PerfViewSpan {
    const std::byte* data = nullptr;
    std::uint64_t size = 0;
    std::uint64_t pos = 0;
    std::uint64_t end = 0;
    const std::byte* first = nullptr;  // the first sample's bytes
    std::uint32_t first_size = 0;      // its record's size
};

/// How a view<T>() (EventView) walks a CPU's perf ring: from the first sample
/// (PerfBuffer::view_span() finds it, reporting lost records and short samples before it)
/// to the next, skipping record types other than samples and lost-record notices, until
/// `limit` or the first record that is a lost-record notice, a short sample or a sample
/// that wraps the ring's end: the view ends before it, and the next read starts there
/// (and reports it). So a walk has no side effects, and a view may be walked again.
template <EventType T>
struct PerfViewWalk {
    using Span = PerfViewSpan;
    struct Cursor {
        const std::byte* data;
        std::uint64_t size;
        std::uint64_t pos;    // the record at rec; when rec is nullptr, where the view ends
        std::uint64_t limit;
        std::uint64_t len;     // its size
        const std::byte* rec;  // its sample's bytes; nullptr: no more records in the view
    };
    static Cursor start(const Span& s) noexcept { return Cursor{s.data, s.size, s.pos, s.end, s.first_size, s.first}; }
    /// Where the record at c.pos ends.
    static std::uint64_t after(const Cursor& c) noexcept { return c.pos + c.len; }

    /// The next record of the view after c's (c.rec nullptr: none; c.pos is the view's end).
    /// The fast path makes PerfEventRange's iterator's three tests.
    static void next(Cursor& c) noexcept {
        const std::uint64_t pos = c.pos + c.len;
        c.pos = pos;
        if (pos < c.limit) {
            std::uint64_t n;
            if (const std::byte* rec = perf_sample_in_place<T>(c.data, c.size, pos, n)) {
                c.len = n;
                c.rec = rec;
                perf_prefetch(c.data, c.size, pos, c.len, c.limit);
                return;
            }
        }
        c = seek(c);
    }

private:
    // From c.pos on (by value, out of line: the fast path's cursor stays in registers).
    [[gnu::noinline]] static Cursor seek(Cursor c) noexcept {
        while (c.pos < c.limit) {
            const std::uint64_t off = c.pos & (c.size - 1);
            const std::byte* rec = c.data + off;
            perf_event_header h;  // 8-byte records in an 8-aligned ring: a header never wraps
            std::memcpy(&h, rec, sizeof h);
            if (h.size < sizeof h || h.size > c.limit - c.pos) break;  // not a record the kernel writes
            if (h.type == PERF_RECORD_SAMPLE) {
                if (off + h.size <= c.size && perf_sample_size(rec, h) >= sizeof(T)) {
                    c.len = h.size;
                    c.rec = rec + perf_sample_data_offset;
                    return c;
                }
                break;  // short, or wrapping the ring's end
            }
            if (h.type == PERF_RECORD_LOST) break;
            c.pos += h.size;
        }
        c.rec = nullptr;
        return c;
    }
};

}  // namespace bpf::detail
