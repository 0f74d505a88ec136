// Module::section_memory() on a const Module is read-only memory (a loaded .rodata is
// mapped read-only by the kernel): taking it as writable bytes is rejected at the call.
#include <libbpfcpp/module.hpp>

#include <cstddef>
#include <span>

#ifdef ACCEPTED
void write(bpf::Module& mod) {
#else
void write(const bpf::Module& mod) {
#endif
    std::span<std::byte> bytes = mod.section_memory(".rodata");  // rejected here
    bytes[0] = std::byte{1};
}
