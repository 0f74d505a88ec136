// minimal: prints every process that calls exec, read from a BPF hash map once a second.
//
//   sudo ./minimal [SECONDS]
#include <libbpfcpp/libbpfcpp.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "minimal.bpf.hpp"
#include "minimal.h"

namespace {
volatile std::sig_atomic_t stop = 0;
}

int main(int argc, char** argv) {
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 0;  // 0: until Ctrl-C
    std::signal(SIGINT, [](int) { stop = 1; });
    std::signal(SIGTERM, [](int) { stop = 1; });
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::minimal());
        mod.load();
        mod.program("on_exec").attach_tracepoint("sched", "sched_process_exec");
        auto execs = mod.map("execs");
        std::printf("%-7s %-7s %-16s %s\n", "PID", "PPID", "COMM", "EXECS");
        for (int tick = 0; !stop && (seconds == 0 || tick < seconds * 10); ++tick) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            std::vector<unsigned> pids;  // collected first: erasing while walking restarts the walk
            for (unsigned pid : execs.keys<unsigned>()) pids.push_back(pid);
            for (unsigned pid : pids) {
                if (auto e = execs.lookup_and_erase<unsigned, exec_seen>(pid))
                    std::printf("%-7u %-7u %-16.16s %u\n", pid, e->ppid, e->comm, e->count);
            }
            std::fflush(stdout);
        }
    } catch (const bpf::Error& e) {
        std::fprintf(stderr, "minimal: %s\n", e.what());
        return 1;
    }
    return 0;
}
