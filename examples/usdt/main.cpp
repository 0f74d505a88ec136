// usdt: prints each hit of a USDT probe (a DTRACE_PROBE of <sys/sdt.h>, as found in
// many runtimes and servers) with its first two arguments, read from a ring buffer.
//
//   sudo ./usdt [-p PID] [-n COUNT] [-d SECONDS] BINARY PROVIDER PROBE
//   readelf -n BINARY      lists the probes of a binary ("stapsdt" notes)
#include <libbpfcpp/libbpfcpp.hpp>

#include <getopt.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "usdt.bpf.hpp"
#include "usdt.h"

namespace {
volatile std::sig_atomic_t stop = 0;
}

int main(int argc, char** argv) {
    pid_t pid = -1;
    long limit = 0;
    double seconds = 0;
    bool bad = false;
    for (int c; (c = getopt(argc, argv, "p:n:d:h")) != -1;) {
        switch (c) {
            case 'p': pid = static_cast<pid_t>(std::atoi(optarg)); break;
            case 'n': limit = std::atol(optarg); break;
            case 'd': seconds = std::atof(optarg); break;
            default: bad = true; break;
        }
    }
    if (bad || argc - optind != 3) {
        std::fprintf(stderr,
                     "usage: usdt [-p PID] [-n COUNT] [-d SECONDS] BINARY PROVIDER PROBE\n"
                     "Prints each hit of the USDT probe PROVIDER:PROBE of BINARY (in PID, or in every\n"
                     "process) until Ctrl-C, COUNT hits or SECONDS.\n");
        return 2;
    }
    const std::string binary = argv[optind], provider = argv[optind + 1], probe = argv[optind + 2];
    std::signal(SIGINT, [](int) { stop = 1; });
    std::signal(SIGTERM, [](int) { stop = 1; });
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::usdt());
        mod.load();
        mod.program("on_probe").attach_usdt(pid, binary, provider, probe);

        long seen = 0;
        auto& hits = mod.ring_buffer("hits", [&](const usdt_hit& h) {
            std::printf("%-16.16s pid=%u tid=%u arg0=%lld arg1=%lld\n", h.comm, h.pid, h.tid,
                        static_cast<long long>(h.args[0]), static_cast<long long>(h.args[1]));
            ++seen;
        });
        std::fprintf(stderr, "usdt: tracing %s:%s in %s; Ctrl-C to end\n", provider.c_str(), probe.c_str(),
                     binary.c_str());

        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (stop == 0 && (limit <= 0 || seen < limit) &&
               (seconds <= 0 || std::chrono::steady_clock::now() < end)) {
            if (hits.poll(std::chrono::milliseconds(100)) > 0) std::fflush(stdout);
        }
        std::fprintf(stderr, "usdt: %ld hits\n", seen);
    } catch (const bpf::Error& e) {
        std::fprintf(stderr, "usdt: %s\n", e.what());
        return 1;
    }
    return 0;
}
