// Catch2 main for every test binary. Prints one machine-readable line of case counts
// (read by scripts/test-summary.py) and exits 77 when every selected case skipped, so
// meson reports the binary as skipped rather than passed. Catch2's implementation is in
// catch_impl.cpp; the listener needs the reporter interfaces, which the plain header
// leaves out.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <dirent.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <libbpfcpp/error.hpp>

#include "harness.hpp"

namespace {

struct Counts {
    int passed = 0;
    int failed = 0;
    int skipped = 0;
    std::string current;
    std::set<std::string> skipped_names;
    std::vector<std::string> reasons;
};

Counts& counts() {
    static Counts c;
    return c;
}

class CountingListener : public Catch::TestEventListenerBase {
public:
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseStarting(Catch::TestCaseInfo const& info) override { counts().current = info.name; }

    void testCaseEnded(Catch::TestCaseStats const& stats) override {
        auto& c = counts();
        const std::string& name = stats.testInfo.name;
        if (!stats.totals.assertions.allOk() || stats.totals.testCases.failed > 0) {
            ++c.failed;
        } else if (c.skipped_names.count(name) != 0) {
            ++c.skipped;
        } else {
            ++c.passed;
        }
    }
};

}  // namespace

CATCH_REGISTER_LISTENER(CountingListener)

namespace testing {

/// Catch::Session().run(), in catch_impl.cpp (Session is declared only with the implementation).
int run_session(int argc, char* argv[]);

void skip(const std::string& reason) {
    auto& c = counts();
    c.skipped_names.insert(c.current);
    c.reasons.push_back(c.current + ": " + reason);
    std::printf("SKIP %s: %s\n", c.current.c_str(), reason.c_str());
}

int count_open_fds() {
    DIR* d = opendir("/proc/self/fd");
    if (d == nullptr) return -1;
    int n = 0;
    while (readdir(d) != nullptr) ++n;
    closedir(d);
    return n - 3;  // ".", "..", and the fd of the DIR itself
}

}  // namespace testing

int main(int argc, char* argv[]) {
    int rc = testing::run_session(argc, argv);
    const auto& c = counts();
    for (const auto& r : c.reasons) std::printf("skipped: %s\n", r.c_str());
    // The names alone, since a name may itself contain ": " (scripts/test-summary.py).
    for (const auto& n : c.skipped_names) std::printf("libbpfcpp-test-skipped-case: %s\n", n.c_str());
    std::printf("libbpfcpp-test-cases: passed=%d failed=%d skipped=%d\n", c.passed, c.failed, c.skipped);
    std::fflush(stdout);
    if (rc != 0 || c.failed != 0) return 1;
    if (c.skipped > 0 && c.passed == 0) return 77;
    return 0;
}
