// bpf::EmbeddedObject: a BPF object compiled into the executable.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cstddef>
#include <span>
#include <string_view>

namespace bpf {

/// The bytes of a BPF object built into the program, with the object's name; the
/// headers that scripts/embed.py generates return one. Open it with Module::open_memory().
///
/// ```cpp
/// #include "tcpconnect.bpf.hpp"        // generated at build time
/// auto mod = bpf::Module::open_memory(bpf_objects::tcpconnect());
/// ```
struct EmbeddedObject {
    /// The object's name (its file name without .bpf.o), used in error messages.
    std::string_view name;
    /// The ELF object's bytes, static for the program's lifetime.
    std::span<const std::byte> bytes;
};

}  // namespace bpf
