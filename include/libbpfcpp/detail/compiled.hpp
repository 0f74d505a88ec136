// Header-only (the default) or compiled mode. With LIBBPFCPP_COMPILED_LIB on the compile
// line the headers only declare the library's larger non-template functions, and the tool
// links libbpfcpp-compiled.a (pkg-config libbpfcpp-compiled, CMake libbpfcpp::compiled),
// which defines them once; docs/compile-time.md says when that pays. Templates and small
// functions stay in the headers in both modes.
#pragma once

#include <bpf/libbpf_version.h>

// LIBBPFCPP_INLINE marks a function whose body is in the headers' definition sections
// (#if LIBBPFCPP_DEFINITIONS): inline in header-only mode, an ordinary function of the
// library in compiled mode. src/libbpfcpp.cpp defines LIBBPFCPP_BUILDING_LIB.
#if defined(LIBBPFCPP_BUILDING_LIB)
#define LIBBPFCPP_INLINE
#define LIBBPFCPP_DEFINITIONS 1
#elif defined(LIBBPFCPP_COMPILED_LIB)
#define LIBBPFCPP_INLINE
#define LIBBPFCPP_DEFINITIONS 0
#else
#define LIBBPFCPP_INLINE inline
#define LIBBPFCPP_DEFINITIONS 1
#endif

// The library and the tool must agree on libbpfcpp's version and the libbpf headers they
// were compiled with (struct layouts, the functions guarded by LIBBPF_MINOR_VERSION). The
// library defines one symbol whose name says both; a compiled-mode tool refers to the one
// its own headers name, so a mismatch stops at link time with, e.g., "undefined reference
// to `bpf::detail::compiled_lib_0_1_0_with_libbpf_1_1'".
#define LIBBPFCPP_VERSION_MAJOR 0
#define LIBBPFCPP_VERSION_MINOR 1
#define LIBBPFCPP_VERSION_PATCH 0
#define LIBBPFCPP_CHECK_NAME_(a, b, c, d, e) compiled_lib_##a##_##b##_##c##_with_libbpf_##d##_##e
#define LIBBPFCPP_CHECK_NAME(a, b, c, d, e) LIBBPFCPP_CHECK_NAME_(a, b, c, d, e)
#define LIBBPFCPP_COMPILED_CHECK                                                                       \
    LIBBPFCPP_CHECK_NAME(LIBBPFCPP_VERSION_MAJOR, LIBBPFCPP_VERSION_MINOR, LIBBPFCPP_VERSION_PATCH, \
                         LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION)

namespace bpf::detail {
extern const int LIBBPFCPP_COMPILED_CHECK;
#if defined(LIBBPFCPP_COMPILED_LIB) && !defined(LIBBPFCPP_BUILDING_LIB)
// Kept in every object file (used), so that linking without the matching library fails.
[[gnu::used]] static const int* const compiled_lib_check = &LIBBPFCPP_COMPILED_CHECK;
#endif
}  // namespace bpf::detail
