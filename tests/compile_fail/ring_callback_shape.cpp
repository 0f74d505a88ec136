// A ring buffer callback of a perf buffer's shape: rejected at the call.
#include <libbpfcpp/libbpfcpp.hpp>

struct Event {
    int pid;
};

void make(bpf::Module& mod) {
#ifdef ACCEPTED
    mod.ring_buffer("events", [](const Event& e) { (void)e; });
#else
    mod.ring_buffer("events", [](int cpu, const Event& e) { (void)cpu, (void)e; });  // rejected here
#endif
}
