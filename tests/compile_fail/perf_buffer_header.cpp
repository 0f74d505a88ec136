// Module::perf_buffer() without <libbpfcpp/perf_buffer.hpp>: rejected at the call, with
// the name of the header (module.hpp only declares the buffer types).
#include <libbpfcpp/module.hpp>
#ifdef ACCEPTED
#include <libbpfcpp/perf_buffer.hpp>
#endif

#include <cstddef>
#include <span>

void make(bpf::Module& mod) {
    mod.perf_buffer("events", [](int cpu, std::span<const std::byte> rec) { (void)cpu, (void)rec; });  // rejected here
}
