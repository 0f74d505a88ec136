// The event buffers a Module owns: what Module::ring_buffer() & co. call when the
// buffer's header was not included (a compile error naming that header; the buffer
// headers' builders, taking Module&, outrank these wherever they are included, through
// argument-dependent lookup at the call), and Module::close() of one.
#pragma once

#include <algorithm>
#include <cerrno>
#include <exception>

#include "../error.hpp"
#include "module_state.hpp"

namespace bpf {

// The event buffers a Module makes and owns; each is defined by its own header
// (ring_buffer.hpp, perf_buffer.hpp, user_ring_buffer.hpp), which a tool includes only
// when it uses that buffer.
class RingBuffer;
struct RingBufferOptions;
class PerfBuffer;
struct PerfBufferOptions;
class UserRingBuffer;
class Module;

namespace detail {
/// Made from any Module: the parameter of the builders below, which the buffer headers'
/// builders (taking Module&) outrank wherever those headers were included.
struct BufferHeaderMissing {
    BufferHeaderMissing(const Module&) noexcept {}  // NOLINT: converts on purpose
};
template <class...>
inline constexpr bool header_missing = false;
}  // namespace detail

// Chosen by Module::ring_buffer() & co. only when the buffer's header is missing: they
// stop the compile with its name.
template <class... Args>
RingBuffer& build_ring_buffer(detail::BufferHeaderMissing, Args&&...) {
    static_assert(detail::header_missing<Args...>,
                  "Module::ring_buffer() needs #include <libbpfcpp/ring_buffer.hpp> "
                  "(module.hpp only declares bpf::RingBuffer and bpf::RingBufferOptions)");
    std::terminate();  // not compiled in a program that builds: the assertion fails first
}
template <class... Args>
PerfBuffer& build_perf_buffer(detail::BufferHeaderMissing, Args&&...) {
    static_assert(detail::header_missing<Args...>,
                  "Module::perf_buffer() needs #include <libbpfcpp/perf_buffer.hpp> "
                  "(module.hpp only declares bpf::PerfBuffer and bpf::PerfBufferOptions)");
    std::terminate();  // not compiled in a program that builds: the assertion fails first
}
template <class... Args>
UserRingBuffer& build_user_ring_buffer(detail::BufferHeaderMissing, Args&&...) {
    static_assert(detail::header_missing<Args...>,
                  "Module::user_ring_buffer() needs #include <libbpfcpp/user_ring_buffer.hpp> "
                  "(bpf::UserRingBuffer is only declared by module.hpp)");
    std::terminate();  // not compiled in a program that builds: the assertion fails first
}

namespace detail {
/// Where `buffer` is among the resources of `s`; throws when `s` does not own it.
inline auto owned_resource(ModuleState& s, const Resource* buffer) {
    auto& res = s.resources;
    auto it = std::find_if(res.begin(), res.end(), [&](const auto& r) { return r.get() == buffer; });
    if (it == res.end())
        throw Error(ENOENT, describe("closing an event buffer of object", s.name,
                                     "this module does not own it (closed already, or made by another module)"));
    return it;
}

/// Frees the resource at `it` (Module::close), then rethrows what its loop had thrown.
inline void free_resource(ModuleState& s, decltype(s.resources)::iterator it, const std::exception_ptr& error) {
    (*it)->retire();
    s.resources.erase(it);
    if (error) std::rethrow_exception(error);
}
}  // namespace detail

}  // namespace bpf
