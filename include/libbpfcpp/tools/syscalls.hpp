// Syscall names by number and numbers by name, for x86_64 and aarch64, whatever the
// machine the tool runs on (a tool may read a trace taken elsewhere). The table is
// generated from the kernel's UAPI headers by scripts/gen-syscall-table.py.
#pragma once

#include "../detail/cxx20.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "detail/syscall_table.hpp"

namespace bpf::tools {

enum class Arch {
    x86_64,
    aarch64,
#if defined(__aarch64__)
    native = aarch64,
#else
    native = x86_64,
#endif
};

namespace detail {
inline std::span<const std::string_view> syscall_table(Arch arch) noexcept {
    if (arch == Arch::aarch64) return syscalls_aarch64;
    return syscalls_x86_64;
}
}  // namespace detail

/// The name of syscall `nr` ("openat"), or "[unknown: N]" for a number without one (a
/// syscall newer than the table, or a bad value read from a trace).
[[nodiscard]] inline std::string syscall_name(long nr, Arch arch = Arch::native) {
    const auto table = detail::syscall_table(arch);
    if (nr >= 0 && static_cast<std::size_t>(nr) < table.size() && !table[static_cast<std::size_t>(nr)].empty())
        return std::string(table[static_cast<std::size_t>(nr)]);
    return "[unknown: " + std::to_string(nr) + "]";
}

/// The number of syscall `name` ("openat"), or nullopt when the architecture has none of
/// that name (aarch64 has no "open").
[[nodiscard]] inline std::optional<long> syscall_number(std::string_view name, Arch arch = Arch::native) noexcept {
    const auto table = detail::syscall_table(arch);
    for (std::size_t nr = 0; nr < table.size(); ++nr)
        if (!table[nr].empty() && table[nr] == name) return static_cast<long>(nr);
    return std::nullopt;
}

}  // namespace bpf::tools
