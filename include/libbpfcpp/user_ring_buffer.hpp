// bpf::UserRingBuffer: user space writes records that BPF programs drain
// (BPF_MAP_TYPE_USER_RINGBUF, bpf_user_ringbuf_drain(); wraps user_ring_buffer).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "callbacks.hpp"
#include "detail/module_state.hpp"
#include "detail/timeout.hpp"
#include "error.hpp"
#include "map.hpp"
#include "module.hpp"

namespace bpf {

/// Writes records into a user ring buffer map for BPF programs to drain with
/// bpf_user_ringbuf_drain(). Create it with Module::user_ring_buffer() after load().
/// Not thread-safe: use it from one thread at a time (libbpf's producer is single).
///
/// ```cpp
/// auto& urb = mod.user_ring_buffer("commands");
/// urb.send(Command{.op = 1});                         // copy a struct in
/// if (auto c = urb.reserve<Command>()) {              // or build it in place
///     c->op = 2;
///     c.submit();
/// }
/// auto bytes = urb.reserve(64, std::chrono::milliseconds(10));  // blocking, bytes
/// if (!bytes.empty()) { fill(bytes); urb.submit(bytes); }
/// ```
class UserRingBuffer : public detail::Resource {
public:
    /// A reserved record holding a T, built in place in the ring. Submit it or it is
    /// discarded when destroyed. Converts to false when the reservation failed.
    template <EventType T>
    class Sample {
    public:
        Sample() = default;
        /// A reservation `p` in `owner`'s ring; UserRingBuffer::reserve() makes these.
        Sample(UserRingBuffer* owner, T* p) noexcept : owner_(owner), p_(p) {}
        /// Takes over `o`'s reservation.
        Sample(Sample&& o) noexcept : owner_(o.owner_), p_(std::exchange(o.p_, nullptr)) {}
        /// Discards the reservation held, then takes over `o`'s.
        Sample& operator=(Sample&& o) noexcept {
            if (this != &o) {
                discard();
                owner_ = o.owner_;
                p_ = std::exchange(o.p_, nullptr);
            }
            return *this;
        }
        Sample(const Sample&) = delete;
        Sample& operator=(const Sample&) = delete;
        ~Sample() { discard(); }

        /// False when the reservation failed (ring full).
        explicit operator bool() const noexcept { return p_ != nullptr; }
        /// The record, to fill in before submit().
        T& operator*() const noexcept { return *p_; }
        /// The record's members.
        T* operator->() const noexcept { return p_; }
        /// The record, or nullptr.
        T* get() const noexcept { return p_; }

        /// Hands the record to the kernel.
        void submit() noexcept {
            if (p_ != nullptr) user_ring_buffer__submit(owner_->urb_, std::exchange(p_, nullptr));
        }
        /// Gives the space back unsent.
        void discard() noexcept {
            if (p_ != nullptr) user_ring_buffer__discard(owner_->urb_, std::exchange(p_, nullptr));
        }

    private:
        UserRingBuffer* owner_ = nullptr;
        T* p_ = nullptr;
    };

    /// A producer into the loaded user ring buffer `map`; Module::user_ring_buffer() makes these.
    explicit UserRingBuffer(const Map& map) : name_(map.name()) {
        if (map.fd() < 0)
            throw Error(EBADF, detail::describe("creating a user ring buffer on map", name_,
                                                "the map has no fd; call Module::load() first"));
        if (map.type() != BPF_MAP_TYPE_USER_RINGBUF)
            throw Error(EINVAL, detail::describe("creating a user ring buffer on map", name_,
                                                 "the map is not a BPF_MAP_TYPE_USER_RINGBUF"));
        size_ = map.max_entries();
        urb_ = user_ring_buffer__new(map.fd(), nullptr);
        if (urb_ == nullptr) detail::throw_errno(errno, "creating a user ring buffer on map", name_);
    }
    UserRingBuffer(const UserRingBuffer&) = delete;
    UserRingBuffer& operator=(const UserRingBuffer&) = delete;
    ~UserRingBuffer() override { user_ring_buffer__free(urb_); }

    /// Reserves `size` bytes; an empty span when the ring is full (a normal condition:
    /// retry after the BPF side drained). Throws only for a size that can never fit.
    [[nodiscard]] std::span<std::byte> reserve(std::size_t size) {
        check_size(size);
        void* p = user_ring_buffer__reserve(urb_, static_cast<__u32>(size));
        if (p == nullptr) return {};
        return {static_cast<std::byte*>(p), size};
    }

    /// Like reserve(size), waiting up to `timeout` for the BPF side to make room;
    /// empty on timeout.
    [[nodiscard]] std::span<std::byte> reserve(std::size_t size, std::chrono::milliseconds timeout) {
        check_size(size);
        void* p = user_ring_buffer__reserve_blocking(urb_, static_cast<__u32>(size), detail::to_timeout_ms(timeout));
        if (p == nullptr) {
            if (errno != ENOSPC && errno != ETIMEDOUT && errno != EAGAIN && errno != EINTR)
                detail::throw_errno(errno, "waiting for room in user ring buffer", name_);
            return {};
        }
        return {static_cast<std::byte*>(p), size};
    }

    /// Reserves a record for a T (value-initialised) in the ring.
    template <EventType T>
    [[nodiscard]] Sample<T> reserve() {
        return make_sample<T>(reserve(sizeof(T)));
    }
    /// reserve<T>() waiting up to `timeout` for room.
    template <EventType T>
    [[nodiscard]] Sample<T> reserve(std::chrono::milliseconds timeout) {
        return make_sample<T>(reserve(sizeof(T), timeout));
    }

    /// Submits bytes returned by reserve().
    void submit(std::span<std::byte> sample) noexcept { user_ring_buffer__submit(urb_, sample.data()); }
    /// Discards bytes returned by reserve().
    void discard(std::span<std::byte> sample) noexcept { user_ring_buffer__discard(urb_, sample.data()); }

    /// Copies `value` in as one record; false when the ring is full.
    template <EventType T>
    bool send(const T& value) {
        auto s = reserve(sizeof(T));
        if (s.empty()) return false;
        std::memcpy(s.data(), &value, sizeof(T));
        submit(s);
        return true;
    }

    /// send() waiting up to `timeout` for room.
    template <EventType T>
    bool send(const T& value, std::chrono::milliseconds timeout) {
        auto s = reserve(sizeof(T), timeout);
        if (s.empty()) return false;
        std::memcpy(s.data(), &value, sizeof(T));
        submit(s);
        return true;
    }

    /// The name of the map this buffer writes.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// The raw libbpf user ring buffer, for what is not wrapped.
    [[nodiscard]] user_ring_buffer* get() const noexcept { return urb_; }

private:
    template <EventType T>
    Sample<T> make_sample(std::span<std::byte> s) noexcept {
        // Records start 8 bytes after an 8-aligned header, so T fits in place.
        static_assert(alignof(T) <= 8, "user ring buffer records are 8-byte aligned");
        if (s.empty()) return {};
        return Sample<T>(this, ::new (s.data()) T{});
    }

    void check_size(std::size_t size) const {
        // A record and its 8-byte header must fit in the ring with room to spare.
        // Compared as size > ring - 8 (never size + 8, which wraps for sizes near SIZE_MAX
        // and would report "full" to a caller that then retries forever).
        if (size == 0 || size_ < 8 || size > size_ - 8)
            throw Error(E2BIG, detail::describe("reserving in user ring buffer", name_,
                                                std::to_string(size) + " bytes can never fit in a " +
                                                    std::to_string(size_) + "-byte ring; make the map larger"));
    }

    std::string name_;
    std::size_t size_ = 0;
    user_ring_buffer* urb_ = nullptr;
};

/// A producer into the user ring buffer map `map_name` of `mod`; `mod` owns it.
/// Module::user_ring_buffer() is the usual spelling.
inline UserRingBuffer& build_user_ring_buffer(Module& mod, std::string_view map_name) {
    return detail::own_buffer(mod, std::make_unique<UserRingBuffer>(mod.map(map_name)));
}

}  // namespace bpf
