// The parameter list of a callback, for the callback concepts of callbacks.hpp.
#pragma once

#include <tuple>
#include <type_traits>

namespace bpf::detail {

// The parameters of a callback (a lambda, a function object or a function); no `args`
// for anything else, so that the callback concepts are false for it rather than an error
// (they constrain Module::ring_buffer() beside overloads that take options).
template <class F, class = void>
struct call_signature {};
template <class F>
struct call_signature<F, std::void_t<decltype(&F::operator())>> : call_signature<decltype(&F::operator())> {};
template <class R, class C, class... A>
struct call_signature<R (C::*)(A...) const> { using args = std::tuple<A...>; };
template <class R, class C, class... A>
struct call_signature<R (C::*)(A...) const noexcept> { using args = std::tuple<A...>; };
template <class R, class C, class... A>
struct call_signature<R (C::*)(A...)> { using args = std::tuple<A...>; };
template <class R, class C, class... A>
struct call_signature<R (C::*)(A...) noexcept> { using args = std::tuple<A...>; };
template <class R, class... A>
struct call_signature<R (*)(A...)> { using args = std::tuple<A...>; };
template <class R, class... A>
struct call_signature<R (*)(A...) noexcept> { using args = std::tuple<A...>; };
template <class R, class... A>
struct call_signature<R(A...)> { using args = std::tuple<A...>; };

template <class F>
using callback_args = typename call_signature<std::remove_cvref_t<F>>::args;

/// The event type a typed callback takes as its last parameter (`const Event&`).
template <class F>
using typed_event_t =
    std::remove_cvref_t<std::tuple_element_t<std::tuple_size_v<callback_args<F>> - 1, callback_args<F>>>;

/// The header type of a header-and-tail callback (`const Header&, std::span<const std::byte>`).
template <class F>
using header_event_t =
    std::remove_cvref_t<std::tuple_element_t<std::tuple_size_v<callback_args<F>> - 2, callback_args<F>>>;

template <class F, class = void>
struct has_call_signature : std::false_type {};
template <class F>
struct has_call_signature<F, std::void_t<callback_args<F>>> : std::true_type {};

}  // namespace bpf::detail
