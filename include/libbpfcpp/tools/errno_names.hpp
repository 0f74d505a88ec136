// Errno names ("EPERM") for printing a syscall's or a helper's error the way strace and
// the C tools do.
#pragma once

#include "../detail/cxx20.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

namespace bpf::tools {

/// The symbolic name of errno value `err` ("ENOENT"); a negative value (a kernel return,
/// -ENOENT) is taken as its magnitude. "E" + the number when the C library knows no name.
/// From glibc's strerrorname_np (2.32 and later); other C libraries get the number.
[[nodiscard]] inline std::string errno_name(int err) {
    err = std::abs(err);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    if (const char* name = strerrorname_np(err)) return name;
#endif
    return "E" + std::to_string(err);
}

}  // namespace bpf::tools
