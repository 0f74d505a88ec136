// What main.cpp and skel_main.cpp of the recipes' tool check, and how they report it.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

namespace recipe {

inline int passed = 0, failed = 0;

inline void check(bool ok, const char* what, unsigned long long got, unsigned long long want) {
    std::printf("%s: %s (got %llu, want %llu)\n", ok ? "ok" : "FAILED", what, got, want);
    ++(ok ? passed : failed);
}

inline int finish(int skipped = 0) {
    std::printf("libbpfcpp-test-cases: passed=%d failed=%d skipped=%d\n", passed, failed, skipped);
    return skipped > 0 ? 77 : failed == 0 ? 0 : 1;
}

inline void trigger(int n) {
    for (int i = 0; i < n; ++i) syscall(SYS_getppid);
}

// The recipes compile the BPF side with -DMYTOOL_FLAG=3.
constexpr unsigned expected_flag = 3;

}  // namespace recipe
