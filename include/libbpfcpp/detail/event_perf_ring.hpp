// bpf::detail::PerfCpuRing: one CPU's ring of a perf event array, read without libbpf
// (read_perf_ring), and the per-callback read loop PerfBuffer drives (PerfCallback).
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include "compiled.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <linux/perf_event.h>

#include "../callbacks.hpp"
#include "event_common.hpp"
#include "event_perf_range.hpp"  // the record layout

namespace bpf {
namespace detail {

struct PerfState {
    std::string_view owner;
    const std::atomic<bool>* stop = nullptr;
    ShortRecords shorts;
    std::exception_ptr error;
    std::size_t delivered = 0;
    std::size_t limit = static_cast<std::size_t>(-1);  // consume_n(): stop once this many were delivered
    std::unique_ptr<std::atomic<std::uint64_t>[]> lost;
    std::size_t lost_slots = 0;
};

/// PERF_FORMAT_LOST of <linux/perf_event.h> (kernel 6.0+), an enumerator older headers
/// lack: read() of a perf event then returns {value, lost samples}.
inline constexpr std::uint64_t perf_format_lost = 1u << 4;

/// How many records ahead read_perf_ring() prefetches after a record of 512 bytes or more.
inline constexpr std::uint64_t perf_prefetch_records = 4;

/// One CPU's perf ring, mapped by libbpf's perf_buffer__new_raw() and read here (libbpf
/// only sets the buffer up). The kernel writes a record, then data_head with release
/// semantics (smp_wmb before the store); the load-acquire of data_head makes the
/// records up to it visible. data_tail is stored with a release after the record was
/// delivered or copied out, so the kernel (which reads data_tail before writing) cannot
/// overwrite it while it is read. As for ring buffers, data_tail is published in
/// batches (an eighth of the ring) and always before the reader returns, so it is
/// never stale while the consumer sleeps.
struct PerfCpuRing {
    perf_event_mmap_page* header = nullptr;
    const std::byte* data = nullptr;
    std::uint64_t size = 0;  // bytes of data, a power of two
    int cpu = -1;
    int event_fd = -1;            // the CPU's perf event (its own lost-sample counter)
    std::uint64_t head = 0;       // data_head as last read
    std::uint64_t tail = 0;       // private position
    std::uint64_t published = 0;  // last value stored to data_tail
    bool pending = false;         // the last read stopped before the ring was empty

    void publish() noexcept {
        if (published == tail) return;
        std::atomic_ref(header->data_tail).store(tail, std::memory_order_release);
        published = tail;
    }
};

/// Reads the records of `r`: each sample's bytes go to `sample(span) -> bool`, each
/// lost-records count to `lost(count) -> bool` (false from either: stop after this
/// record). Reads at most one ring's worth of bytes, so it returns while a producer
/// keeps the ring full. The positions live in locals during the loop: the callbacks are
/// code the compiler cannot see through, and members would be reloaded after each.
/// `scratch` makes a record that wraps around the end of the ring contiguous.
/// With `Publish` false nothing read is handed back to the kernel (the iterator keeps
/// pointers to the records until it has yielded them), and `sample` also gets each
/// record's position: sample(span, pos).
template <bool Publish = true, class Sample, class Lost>
inline void read_perf_ring(PerfCpuRing& r, std::vector<std::byte>& scratch, Sample&& sample, Lost&& lost) {
    std::uint64_t head = r.head;
    std::uint64_t tail = r.tail;
    std::uint64_t published = r.published;
    const std::uint64_t size = r.size;
    const std::uint64_t mask = size - 1;
    const std::uint64_t limit = tail + size;
    const std::uint64_t every = size / 8;
    const std::byte* const data = r.data;
    bool pending = true;
    while (tail < limit) {
        if (tail == head) {
            head = std::atomic_ref(r.header->data_head).load(std::memory_order_acquire);
            if (tail == head) {
                pending = false;
                break;
            }
        }
        const std::uint64_t off = tail & mask;
        const std::byte* rec = data + off;
        perf_event_header h;  // 8-byte records in an 8-aligned ring: a header never wraps
        std::memcpy(&h, rec, sizeof h);
        if (h.size < sizeof h || h.size > head - tail) {  // not a record the kernel writes
            tail = head;
            break;
        }
        if (off + h.size > size) rec = unwrap_perf_record(scratch, data, size, off, h.size);
        const std::uint64_t at = tail;
        tail += h.size;
        // Records are read in order: small ones a few records ahead; after a longer one
        // the header of the record perf_prefetch_records ahead, guessed from this record's
        // size (not a line inside a payload, which may never be read, and not just the
        // next header, whose address is known only now). Only lines the kernel has
        // finished are prefetched.
        const std::uint64_t ahead = h.size >= 512 ? tail + (perf_prefetch_records - 1) * h.size : at + 512;
        if (ahead < head) __builtin_prefetch(data + (ahead & mask));
        bool more = true;
        if (h.type == PERF_RECORD_SAMPLE) {
            const std::uint32_t len = perf_sample_size(rec, h);
            if constexpr (Publish) {
                more = sample(std::span<const std::byte>(rec + perf_sample_data_offset, len));
            } else {
                more = sample(std::span<const std::byte>(rec + perf_sample_data_offset, len), at);
            }
        } else if (h.type == PERF_RECORD_LOST) {
            more = lost(perf_lost_count(rec));
        }
        if constexpr (Publish) {
            if (tail - published >= every) {
                std::atomic_ref(r.header->data_tail).store(tail, std::memory_order_release);
                published = tail;
            }
        }
        if (!more) break;
    }
    r.head = head;
    r.tail = tail;
    r.pending = pending;
    if constexpr (Publish) {
        r.published = published;
        r.publish();
    }
}

class PerfHandler {
public:
    virtual ~PerfHandler() = default;
    /// Delivers the records of `r` to the callbacks.
    virtual void drain(PerfCpuRing& r, std::vector<std::byte>& scratch) = 0;
    /// Counts `count` lost records of `cpu` and calls the lost callback (the iterator
    /// reports through this).
    virtual void lost(int cpu, std::uint64_t count) = 0;
};

/// A callback pair bound to the perf rings. The read loop is instantiated per callback
/// type, so both callbacks are inlined into it: one virtual call per CPU ring read.
template <class F, class L>
class PerfCallback final : public PerfHandler {
public:
    PerfCallback(F f, L l, PerfState* st) : f_(std::move(f)), l_(std::move(l)), st_(st) {}

    void drain(PerfCpuRing& r, std::vector<std::byte>& scratch) override {
        const int cpu = r.cpu;
        const std::atomic<bool>& stop = *st_->stop;
        read_perf_ring(
            r, scratch,
            [&](std::span<const std::byte> rec) -> bool {
                try {
                    deliver(cpu, rec);
                } catch (...) {
                    st_->error = std::current_exception();
                    return false;
                }
                return st_->delivered < st_->limit && !stop.load(std::memory_order_relaxed);
            },
            [&](std::uint64_t count) -> bool {
                try {
                    lost(cpu, count);
                } catch (...) {
                    st_->error = std::current_exception();
                    return false;
                }
                return !stop.load(std::memory_order_relaxed);
            });
    }

    void lost(int cpu, std::uint64_t count) override {
        if (cpu >= 0 && static_cast<std::size_t>(cpu) < st_->lost_slots)
            st_->lost[static_cast<std::size_t>(cpu)].fetch_add(count, std::memory_order_relaxed);
        if constexpr (!std::is_same_v<L, std::nullptr_t>) l_(cpu, count);
    }

private:
    void deliver(int cpu, std::span<const std::byte> rec) {
        if constexpr (std::is_same_v<F, std::nullptr_t>) {
            (void)cpu;
            (void)rec;
        } else if constexpr (std::is_invocable_v<F&, int, std::span<const std::byte>>) {
            ++st_->delivered;
            f_(cpu, rec);
        } else if constexpr (std::is_invocable_v<F&, std::span<const std::byte>>) {
            ++st_->delivered;
            f_(rec);
        } else {
            using R = TypedRecord<F>;
            if (rec.size() < R::min_size) {
                st_->shorts.report(st_->owner, rec.size(), R::min_size, R::shape);
                return;
            }
            ++st_->delivered;
            if constexpr (R::leading == 1) {
                invoke_typed(f_, rec, cpu);
            } else {
                invoke_typed(f_, rec);
            }
        }
    }

    [[no_unique_address]] F f_;
    [[no_unique_address]] L l_;
    PerfState* st_;
};

/// The CPUs that are online, from /sys/devices/system/cpu/online ("0-3,5").
LIBBPFCPP_INLINE std::vector<int> online_cpus();

}  // namespace detail

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE std::vector<int> detail::online_cpus() {
    std::vector<int> out;
    FILE* f = std::fopen("/sys/devices/system/cpu/online", "r");
    if (f == nullptr) return out;
    char buf[4096] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    const char* p = buf;
    while (*p != 0 && *p != '\n') {
        char* end = nullptr;
        long a = std::strtol(p, &end, 10);
        if (end == p) break;
        long b = a;
        p = end;
        if (*p == '-') {
            b = std::strtol(p + 1, &end, 10);
            p = end;
        }
        for (long c = a; c <= b; ++c) out.push_back(static_cast<int>(c));
        if (*p == ',') ++p;
    }
    return out;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
