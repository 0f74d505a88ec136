// Events and the callbacks that receive them: EventType and decode(), and the callback
// shapes event buffers accept, as concepts. Module::ring_buffer(), Module::perf_buffer()
// and RingBuffer::add() check their callbacks with these, so a callback of the wrong
// shape is reported at the caller's line, naming the shapes.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <tuple>
#include <type_traits>

#include "detail/callback_traits.hpp"

namespace bpf {

/// A struct that events are decoded into: copied byte for byte out of the buffer, so it
/// must be trivially copyable (share its definition with the BPF side through a header).
template <class T>
concept EventType = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && std::is_object_v<T>;

/// Copies the first sizeof(T) bytes of a record into a T, or returns nullopt when the
/// record is shorter. Safe for any alignment of `record`.
///
/// ```cpp
/// if (auto e = bpf::decode<Event>(bytes)) use(e->pid);
/// ```
template <EventType T>
[[nodiscard]] inline std::optional<T> decode(std::span<const std::byte> record) noexcept {
    if (record.size() < sizeof(T)) return std::nullopt;
    T out;
    std::memcpy(&out, record.data(), sizeof(T));
    return out;
}

namespace detail {

/// A callable with exactly `N` parameters, the last a `const Event&` of an EventType.
template <class F, std::size_t N>
concept typed_event_callback = has_call_signature<F>::value && std::tuple_size_v<callback_args<F>> == N &&
                               EventType<typed_event_t<F>> &&
                               std::is_reference_v<std::tuple_element_t<N - 1, callback_args<F>>>;

/// A callable with exactly `N` parameters ending in `const Header&, std::span<const std::byte>`:
/// a record that is a fixed header followed by a variable-length tail (the BPF side
/// submits only the used part of its struct).
template <class F, std::size_t N>
concept header_tail_callback =
    has_call_signature<F>::value && std::tuple_size_v<callback_args<F>> == N && N >= 2 &&
    std::is_same_v<std::remove_cvref_t<std::tuple_element_t<N - 1, callback_args<F>>>, std::span<const std::byte>> &&
    std::is_reference_v<std::tuple_element_t<N - 2, callback_args<F>>> && EventType<header_event_t<F>>;

}  // namespace detail

/// What a ring buffer callback may be: `(std::span<const std::byte> record)`,
/// `(const Event& event)` with a trivially copyable Event, or `(const Header& header,
/// std::span<const std::byte> tail)` for records of a fixed header and a variable tail.
///
/// ```cpp
/// static_assert(bpf::RingEventCallback<decltype([](const Event&) {})>);
/// ```
template <class F>
concept RingEventCallback = std::is_invocable_v<std::decay_t<F>&, std::span<const std::byte>> ||
                            (detail::typed_event_callback<std::decay_t<F>, 1> &&
                             std::is_invocable_v<std::decay_t<F>&, const detail::typed_event_t<std::decay_t<F>>&>) ||
                            (detail::header_tail_callback<std::decay_t<F>, 2> &&
                             std::is_invocable_v<std::decay_t<F>&, const detail::header_event_t<std::decay_t<F>>&,
                                                 std::span<const std::byte>>);

/// What a perf buffer event callback may be: `(int cpu, std::span<const std::byte>)`,
/// `(int cpu, const Event&)`, `(int cpu, const Header&, std::span<const std::byte> tail)`,
/// any of them without the cpu, or nullptr (read with events<T>()).
template <class F>
concept PerfEventCallback =
    std::is_null_pointer_v<std::decay_t<F>> ||
    std::is_invocable_v<std::decay_t<F>&, int, std::span<const std::byte>> ||
    std::is_invocable_v<std::decay_t<F>&, std::span<const std::byte>> ||
    (detail::typed_event_callback<std::decay_t<F>, 1> &&
     std::is_invocable_v<std::decay_t<F>&, const detail::typed_event_t<std::decay_t<F>>&>) ||
    (detail::typed_event_callback<std::decay_t<F>, 2> &&
     std::is_invocable_v<std::decay_t<F>&, int, const detail::typed_event_t<std::decay_t<F>>&>) ||
    (detail::header_tail_callback<std::decay_t<F>, 2> &&
     std::is_invocable_v<std::decay_t<F>&, const detail::header_event_t<std::decay_t<F>>&, std::span<const std::byte>>) ||
    (detail::header_tail_callback<std::decay_t<F>, 3> &&
     std::is_invocable_v<std::decay_t<F>&, int, const detail::header_event_t<std::decay_t<F>>&,
                         std::span<const std::byte>>);

/// What a perf buffer lost-records callback may be: `(int cpu, std::uint64_t count)` or nullptr.
template <class F>
concept PerfLostCallback =
    std::is_null_pointer_v<std::decay_t<F>> || std::is_invocable_v<std::decay_t<F>&, int, std::uint64_t>;

}  // namespace bpf
