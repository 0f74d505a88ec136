// The test harness's kernel feature probes for scripts (the Python tests):
//   feature_probe NAME    prints the verdict on one feature and exits 0 when the kernel
//                         has it, 77 when it lacks it, 1 when a known kernel should have
//                         it but refuses it (a regression, not a skip)
//   feature_probe --report  one line per declared feature
#include <cstdio>
#include <string>

#include "features.hpp"

int main(int argc, char* argv[]) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s NAME | --report\n", argv[0]);
        return 2;
    }
    const std::string arg = argv[1];
    if (arg == "--report") {
        std::fputs(testing::feature_report().c_str(), stdout);
        return 0;
    }
    testing::Feature f{};
    if (!testing::feature_by_name(arg, f)) {
        std::fprintf(stderr, "%s: unknown feature '%s'; --report lists them\n", argv[0], arg.c_str());
        return 2;
    }
    const testing::FeatureStatus& s = testing::feature(f);
    const std::string why = testing::skip_reason(s);
    if (s.available) {
        std::printf("%s: available: %s\n", arg.c_str(), s.probe.c_str());
        return 0;
    }
    std::printf("%s\n", why.c_str());
    return s.expected ? 1 : 77;
}
