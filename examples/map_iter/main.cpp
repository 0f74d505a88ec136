// map_iter: counts system calls per process and syscall number for a while, then reads
// the whole BPF hash map two ways — a key-by-key walk (keys(), one get_next_key system
// call per key) and a batch read (items(), a few system calls for the whole map) — and
// prints the busiest entries. Finally it empties the map with one batch erase.
//
//   sudo ./map_iter [-d SECONDS] [-n TOP] [-p PID]
#include <libbpfcpp/libbpfcpp.hpp>

#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "map_iter.bpf.hpp"
#include "map_iter.h"

int main(int argc, char** argv) {
    double seconds = 1;
    std::size_t top = 10;
    std::uint32_t only_pid = 0;
    for (int c; (c = getopt(argc, argv, "d:n:p:h")) != -1;) {
        switch (c) {
            case 'd': seconds = std::atof(optarg); break;
            case 'n': top = static_cast<std::size_t>(std::atol(optarg)); break;
            case 'p': only_pid = static_cast<std::uint32_t>(std::atol(optarg)); break;
            default:
                std::fprintf(stderr,
                             "usage: map_iter [-d SECONDS] [-n TOP] [-p PID]\n"
                             "Counts system calls for SECONDS (default 1), then prints the TOP (default 10)\n"
                             "process and syscall pairs, or only those of PID.\n");
                return 2;
        }
    }
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::map_iter());
        mod.load();
        mod.program("on_sys_enter").attach_tracepoint("raw_syscalls", "sys_enter");
        std::fprintf(stderr, "map_iter: counting system calls for %.1f s\n", seconds);
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        mod.detach_all();  // a still map reads the same both ways

        auto counts = mod.map("counts");
        std::size_t walked = 0;
        for (const syscall_key& k : counts.keys<syscall_key>()) {
            (void)k;
            ++walked;
        }
        auto items = counts.items<syscall_key, syscall_count>();
        std::printf("map 'counts': %zu entries read in a batch, %zu walked key by key\n", items.size(), walked);

        std::sort(items.begin(), items.end(),
                  [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
        std::printf("%-8s %-16s %8s %10s\n", "PID", "COMM", "SYSCALL", "COUNT");
        std::size_t shown = 0;
        for (const auto& [key, value] : items) {
            if (only_pid != 0 && key.pid != only_pid) continue;
            if (shown++ == top) break;
            std::printf("%-8u %-16.16s %8u %10llu\n", key.pid, value.comm, key.nr,
                        static_cast<unsigned long long>(value.count));
        }

        std::vector<syscall_key> keys;
        keys.reserve(items.size());
        for (const auto& item : items) keys.push_back(item.first);
        const std::size_t erased = counts.erase_batch<syscall_key>(keys);
        std::printf("erased %zu entries; %zu left\n", erased, counts.all_keys<syscall_key>().size());
    } catch (const bpf::Error& e) {
        std::fprintf(stderr, "map_iter: %s\n", e.what());
        return 1;
    }
    return 0;
}
