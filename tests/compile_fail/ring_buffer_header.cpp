// Module::ring_buffer() without <libbpfcpp/ring_buffer.hpp>: rejected at the call, with
// the name of the header (module.hpp only declares the buffer types).
#include <libbpfcpp/module.hpp>
#ifdef ACCEPTED
#include <libbpfcpp/ring_buffer.hpp>
#endif

#include <cstddef>
#include <span>

void make(bpf::Module& mod) {
    mod.ring_buffer("events", [](std::span<const std::byte> rec) { (void)rec; });  // rejected here
}
