// A lost-records callback without the cpu: rejected at the call.
#include <libbpfcpp/libbpfcpp.hpp>

#include <cstdint>
#include <span>

void make(bpf::Module& mod) {
    auto on_event = [](int, std::span<const std::byte>) {};
#ifdef ACCEPTED
    mod.perf_buffer("events", on_event, [](int cpu, std::uint64_t n) { (void)cpu, (void)n; });
#else
    mod.perf_buffer("events", on_event, [](std::uint64_t n) { (void)n; });  // rejected here
#endif
}
