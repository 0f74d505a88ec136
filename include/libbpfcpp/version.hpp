// Versions of libbpfcpp and of the libbpf it was compiled against and runs with.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cstddef>
#include <string>
#include <string_view>

#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

/// True when the libbpf headers compiled against are at least MAJOR.MINOR. A macro only
/// because `#if` needs it: it guards calls to functions and option fields that older
/// libbpf headers do not declare. Elsewhere use bpf::libbpf_at_least().
#define LIBBPFCPP_LIBBPF_AT_LEAST(major, minor) \
    (LIBBPF_MAJOR_VERSION > (major) || (LIBBPF_MAJOR_VERSION == (major) && LIBBPF_MINOR_VERSION >= (minor)))

namespace bpf {

/// This library's version.
inline constexpr std::string_view version = "0.1.0";

/// The libbpf headers this program was compiled with.
inline constexpr int libbpf_compiled_major = LIBBPF_MAJOR_VERSION;
inline constexpr int libbpf_compiled_minor = LIBBPF_MINOR_VERSION;

/// True when the compile-time libbpf is at least `major.minor`; features of newer
/// libbpf are guarded with it and raise a bpf::Error naming the version when absent.
constexpr bool libbpf_at_least(int major, int minor) noexcept {
    return libbpf_compiled_major > major ||
           (libbpf_compiled_major == major && libbpf_compiled_minor >= minor);
}

namespace detail {
/// "MAJOR.MINOR", written at compile time: the messages that name the version are built
/// in error paths compiled into every tool, where two to_string() calls and their
/// concatenation were three strings' code.
struct VersionText {
    char text[24];
    std::size_t size;
};
constexpr VersionText version_text(int major, int minor) noexcept {
    VersionText v{};
    auto put = [&v](int n) {
        char digits[12] = {};
        std::size_t k = 0;
        do digits[k++] = static_cast<char>('0' + n % 10);
        while ((n /= 10) > 0);
        while (k > 0) v.text[v.size++] = digits[--k];
    };
    put(major);
    v.text[v.size++] = '.';
    put(minor);
    return v;
}
inline constexpr VersionText libbpf_compiled_text = version_text(libbpf_compiled_major, libbpf_compiled_minor);
static_assert(version_text(1, 10).size == 4 && version_text(1, 10).text[3] == '0');
}  // namespace detail

/// The compile-time libbpf as "MAJOR.MINOR", for messages.
inline std::string libbpf_compiled_version() {
    return std::string(detail::libbpf_compiled_text.text, detail::libbpf_compiled_text.size);
}

/// The libbpf linked at run time, e.g. "v1.1".
inline std::string_view libbpf_version_string() noexcept { return ::libbpf_version_string(); }
inline int libbpf_major_version() noexcept { return static_cast<int>(::libbpf_major_version()); }
inline int libbpf_minor_version() noexcept { return static_cast<int>(::libbpf_minor_version()); }

}  // namespace bpf
