// xdp_counter: counts the packets arriving on a network interface by IP protocol with an
// XDP program (every packet is passed on), summing the per-CPU counters in user space.
//
//   sudo ./xdp_counter -i IFNAME [-d SECONDS]
#include <libbpfcpp/libbpfcpp.hpp>

#include <getopt.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "xdp_counter.bpf.hpp"
#include "xdp_counter.h"

namespace {

volatile std::sig_atomic_t stop = 0;

std::string protocol_name(std::uint32_t proto) {
    switch (proto) {
        case 0: return "ipv6-hopopt";  // IPv6 hop-by-hop options (e.g. MLD reports)
        case 1: return "icmp";
        case 6: return "tcp";
        case 17: return "udp";
        case 58: return "icmpv6";
        case XDP_COUNTER_NOT_IP: return "non-ip";
        default: return "proto-" + std::to_string(proto);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string ifname;
    double seconds = 0;
    for (int c; (c = getopt(argc, argv, "i:d:h")) != -1;) {
        switch (c) {
            case 'i': ifname = optarg; break;
            case 'd': seconds = std::atof(optarg); break;
            default: ifname.clear(); optind = argc + 1; break;
        }
    }
    if (ifname.empty() || optind != argc) {
        std::fprintf(stderr,
                     "usage: xdp_counter -i IFNAME [-d SECONDS]\n"
                     "Counts packets received on IFNAME by protocol until Ctrl-C or SECONDS.\n");
        return 2;
    }
    std::signal(SIGINT, [](int) { stop = 1; });
    std::signal(SIGTERM, [](int) { stop = 1; });
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::xdp_counter());
        mod.load();
        // A bpf_link: the program leaves the interface when the module is destroyed,
        // even if this process is killed.
        mod.program("count_packets").attach_xdp(ifname);
        std::fprintf(stderr, "xdp_counter: counting packets on %s; Ctrl-C to end\n", ifname.c_str());

        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (stop == 0 && (seconds <= 0 || std::chrono::steady_clock::now() < end)) usleep(50'000);

        auto counters = mod.map("counters");
        std::printf("%-10s %10s %12s\n", "PROTOCOL", "PACKETS", "BYTES");
        for (std::uint32_t proto = 0; proto < XDP_COUNTER_SLOTS; ++proto) {
            // One value per possible CPU; the total is their sum.
            auto per_cpu = counters.lookup_percpu<std::uint32_t, xdp_counter_value>(proto);
            if (!per_cpu) continue;
            xdp_counter_value sum{};
            for (const auto& v : *per_cpu) {
                sum.packets += v.packets;
                sum.bytes += v.bytes;
            }
            if (sum.packets == 0) continue;
            std::printf("%-10s %10llu %12llu\n", protocol_name(proto).c_str(),
                        static_cast<unsigned long long>(sum.packets), static_cast<unsigned long long>(sum.bytes));
        }
    } catch (const bpf::Error& e) {
        std::fprintf(stderr, "xdp_counter: %s\n", e.what());
        return 1;
    }
    return 0;
}
