// bpf::detail::RingMap: one BPF_MAP_TYPE_RINGBUF map mapped into this process and read
// without libbpf, and the per-callback read loop RingBuffer drives (RingCallback).
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include "compiled.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../callbacks.hpp"
#include "../error.hpp"
#include "event_common.hpp"
#include "event_ring_range.hpp"

namespace bpf {
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
            const std::uint32_t len = ring_header_word(hdr);
            if ((len & BPF_RINGBUF_BUSY_BIT) != 0) break;
            const std::uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
            const unsigned long at = cons;
            const unsigned long stored = ring_stored_size(len);
            cons += stored;
            // Small records: the line a few records ahead. A record longer than that: the
            // header of the record prefetch_records ahead, guessed from this record's size
            // (records of one ring are mostly of one size). Not a line inside the payload,
            // which may never be read (a loop that reads 4 KiB records' headers would fetch
            // twice the lines), and not just the next header: its address is known only
            // now, so a miss on it would be waited for anyway. Only behind the producer: a
            // line it is still writing would bounce.
            const unsigned long ahead =
                stored >= prefetch_distance ? cons + (prefetch_records - 1) * stored : at + prefetch_distance;
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

    /// The records from the consumer position on, up to an eighth of the ring (so the
    /// producer gets space back at least that often), for an events() range that reads
    /// them in place; false when there is none or the first is not committed yet. They
    /// stay the consumer's, unpublished, until read_up_to() moves past them.
    bool take_span(RingSpan& s) noexcept {
        const unsigned long prod = std::atomic_ref(*producer_).load(std::memory_order_acquire);
        prod_ = prod;
        if (cons_ == prod) return false;
        if ((ring_header_word(data_ + (cons_ & mask_)) & BPF_RINGBUF_BUSY_BIT) != 0) return false;
        s = RingSpan{data_, mask_, cons_, prod - cons_ > publish_every_ ? cons_ + publish_every_ : prod};
        return true;
    }

    /// The records from the consumer position on up to the producer's, for a view that
    /// reads them in place (RingViewWalk); false when none of at least `min_size` bytes is
    /// committed there. Shorter records before the first are skipped and go to
    /// `on_short(size)`, discarded ones are skipped; the walk stops at an uncommitted one.
    /// The span starts at the first record the view takes; the records stay the
    /// consumer's, unpublished, until read_up_to() and publish().
    template <class Short>
    bool take_view_span(RingSpan& s, std::uint32_t min_size, Short&& on_short) {
        const unsigned long prod = std::atomic_ref(*producer_).load(std::memory_order_acquire);
        prod_ = prod;
        while (cons_ < prod) {
            const std::uint32_t len = ring_header_word(data_ + (cons_ & mask_));
            if ((len & BPF_RINGBUF_BUSY_BIT) != 0) return false;
            if ((len & BPF_RINGBUF_DISCARD_BIT) == 0) {
                if (len >= min_size) {
                    s = RingSpan{data_, mask_, cons_, prod};
                    return true;
                }
                on_short(len);
            }
            cons_ += ring_stored_size(len);
        }
        return false;
    }

    /// The records before `pos` (within the last span taken) were read; the rest of the
    /// span is unread again. Nothing after the span's start was published.
    void read_up_to(unsigned long pos) noexcept { cons_ = pos; }

    /// The BPF side's count of failed reservations (include/libbpfcpp/bpf/ringbuf_drops.h).
    [[nodiscard]] std::uint64_t drops() const;

private:
    // Records are read in order, so the lines a few records ahead are wanted soon;
    // asking for them early overlaps the memory latency with the work on this record.
    static constexpr unsigned long prefetch_distance = 512;
    static constexpr unsigned long prefetch_records = 4;

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

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

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

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
