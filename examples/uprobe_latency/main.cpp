// uprobe_latency: how long calls to one function of a user-space program take, as a
// log2 histogram of microseconds (a uprobe at the entry, a uretprobe at the return).
//
//   sudo ./uprobe_latency [-p PID] [-d SECONDS] BINARY FUNCTION
//   sudo ./uprobe_latency /usr/lib/x86_64-linux-gnu/libc.so.6 getaddrinfo
#include <libbpfcpp/libbpfcpp.hpp>

#include <getopt.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "uprobe_latency.bpf.hpp"
#include "uprobe_latency.h"

namespace {

volatile std::sig_atomic_t stop = 0;

int usage() {
    std::fprintf(stderr,
                 "usage: uprobe_latency [-p PID] [-d SECONDS] BINARY FUNCTION\n"
                 "Histogram of the time spent in FUNCTION of BINARY (an executable or a\n"
                 "shared library), in every process or only in PID, until Ctrl-C or SECONDS.\n");
    return 2;
}

void print_histogram(bpf::Module& mod) {
    auto histogram = mod.map("histogram");
    std::uint64_t counts[UPROBE_LATENCY_SLOTS] = {};
    int last = -1;
    for (std::uint32_t slot = 0; slot < UPROBE_LATENCY_SLOTS; ++slot) {
        counts[slot] = histogram.lookup<std::uint32_t, std::uint64_t>(slot).value_or(0);
        if (counts[slot] != 0) last = static_cast<int>(slot);
    }
    std::printf("%20s : count\n", "usecs");
    for (int slot = 0; slot <= last; ++slot) {
        const std::uint64_t low = slot == 0 ? 0 : 1ULL << slot, high = (1ULL << (slot + 1)) - 1;
        std::printf("%9llu -> %-8llu : %llu\n", static_cast<unsigned long long>(low),
                    static_cast<unsigned long long>(high), static_cast<unsigned long long>(counts[slot]));
    }
}

}  // namespace

int main(int argc, char** argv) {
    pid_t pid = -1;
    double seconds = 0;
    for (int c; (c = getopt(argc, argv, "p:d:h")) != -1;) {
        switch (c) {
            case 'p': pid = static_cast<pid_t>(std::atoi(optarg)); break;
            case 'd': seconds = std::atof(optarg); break;
            default: return usage();
        }
    }
    if (argc - optind != 2) return usage();
    const std::string binary = argv[optind], function = argv[optind + 1];

    std::signal(SIGINT, [](int) { stop = 1; });
    std::signal(SIGTERM, [](int) { stop = 1; });
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::uprobe_latency());
        if (pid > 0) mod.set_global("target_tgid", static_cast<std::uint32_t>(pid));
        mod.load();
        // Both probes stay attached while `mod` lives; the links need not be kept.
        mod.program("on_entry").attach_uprobe(pid, binary, function);
        mod.program("on_return").attach_uretprobe(pid, binary, function);
        std::fprintf(stderr, "uprobe_latency: tracing %s:%s; Ctrl-C to end\n", binary.c_str(), function.c_str());

        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (stop == 0 && (seconds <= 0 || std::chrono::steady_clock::now() < end)) usleep(50'000);

        const auto calls = mod.global<std::uint64_t>("calls");
        const auto total = mod.global<std::uint64_t>("total_ns");
        std::printf("%s:%s calls=%llu avg_us=%llu max_us=%llu\n", binary.c_str(), function.c_str(),
                    static_cast<unsigned long long>(calls),
                    static_cast<unsigned long long>(calls != 0 ? total / calls / 1000 : 0),
                    static_cast<unsigned long long>(mod.global<std::uint64_t>("max_ns") / 1000));
        print_histogram(mod);
    } catch (const bpf::Error& e) {
        std::fprintf(stderr, "uprobe_latency: %s\n", e.what());
        return 1;
    }
    return 0;
}
