// A perf buffer callback taking the event by pointer: rejected at the call.
#include <libbpfcpp/libbpfcpp.hpp>

struct Event {
    int pid;
};

void make(bpf::Module& mod) {
#ifdef ACCEPTED
    mod.perf_buffer("events", [](int cpu, const Event& e) { (void)cpu, (void)e; });
#else
    mod.perf_buffer("events", [](int cpu, const Event* e) { (void)cpu, (void)e; });  // rejected here
#endif
}
