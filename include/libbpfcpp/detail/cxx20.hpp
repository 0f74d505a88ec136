// The one compile-time requirement of every libbpfcpp header: C++20 or later. The
// packages (pkg-config, CMake, meson) ask for no particular standard, so a consumer on
// C++23 stays on C++23; one below C++20 gets this message instead of errors deep inside.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
#error "libbpfcpp needs C++20 or later: compile with -std=c++20 (or -std=c++23, ...)"
// A missing header is fatal, so the compiler stops here instead of adding hundreds of
// errors from the C++20 code that follows.
#include <libbpfcpp-needs-c++20>
#endif
