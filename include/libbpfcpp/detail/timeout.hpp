// A poll timeout as epoll_wait() and libbpf take it.
#pragma once

#include <chrono>
#include <cstdint>

namespace bpf::detail {

/// Milliseconds as an int: negative means forever (-1), longer than INT32_MAX is capped.
inline int to_timeout_ms(std::chrono::milliseconds timeout) noexcept {
    if (timeout.count() < 0) return -1;
    if (timeout.count() > INT32_MAX) return INT32_MAX;
    return static_cast<int>(timeout.count());
}

}  // namespace bpf::detail
