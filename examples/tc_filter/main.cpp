// tc_filter: a TC ingress filter that drops UDP datagrams to one port on an interface
// and lets everything else through; prints how many packets it dropped and passed.
//
//   sudo ./tc_filter -i IFNAME -p PORT [-d SECONDS]
#include <libbpfcpp/libbpfcpp.hpp>

#include <getopt.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tc_filter.bpf.hpp"

namespace {
volatile std::sig_atomic_t stop = 0;
}

int main(int argc, char** argv) {
    std::string ifname;
    long port = 0;
    double seconds = 0;
    bool bad = false;
    for (int c; (c = getopt(argc, argv, "i:p:d:h")) != -1;) {
        switch (c) {
            case 'i': ifname = optarg; break;
            case 'p': port = std::atol(optarg); break;
            case 'd': seconds = std::atof(optarg); break;
            default: bad = true; break;
        }
    }
    if (bad || ifname.empty() || port <= 0 || port > 65535 || optind != argc) {
        std::fprintf(stderr,
                     "usage: tc_filter -i IFNAME -p PORT [-d SECONDS]\n"
                     "Drops UDP datagrams to PORT arriving on IFNAME until Ctrl-C or SECONDS.\n");
        return 2;
    }
    std::signal(SIGINT, [](int) { stop = 1; });
    std::signal(SIGTERM, [](int) { stop = 1; });
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::tc_filter());
        mod.set_global("blocked_port", static_cast<std::uint16_t>(port));
        mod.load();

        // Declared after `mod`, so destroyed first: the filter is removed (and the clsact
        // qdisc, if this hook created it) before the program is freed.
        bpf::TcHook hook(ifname, bpf::TcAttachPoint::Ingress);
        hook.create();
        const bpf::TcFilter filter = hook.attach(mod.program("drop_udp_port"));
        std::fprintf(stderr, "tc_filter: dropping UDP to port %ld on %s (filter handle %u, priority %u); Ctrl-C to end\n",
                     port, ifname.c_str(), filter.handle, filter.priority);

        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (stop == 0 && (seconds <= 0 || std::chrono::steady_clock::now() < end)) usleep(50'000);

        std::printf("dropped=%llu passed=%llu\n",
                    static_cast<unsigned long long>(mod.global<std::uint64_t>("dropped")),
                    static_cast<unsigned long long>(mod.global<std::uint64_t>("passed")));
    } catch (const bpf::Error& e) {
        std::fprintf(stderr, "tc_filter: %s\n", e.what());
        return 1;
    }
    return 0;
}
