// libFuzzer target: bpf::Module::open_memory on arbitrary bytes, then everything a tool
// does with an opened object before load(): enumerate maps, programs and globals, look
// them up by name, and read and write each global through the typed accessors. Nothing
// is loaded into the kernel, so it runs without privileges.
//
// A bpf::Error is the expected answer to bad input; anything else (a crash, a sanitizer
// report, another exception) is a finding. scripts/fuzz.sh runs it and sorts the crashes
// into ours and libbpf's.
#include <libbpfcpp/libbpfcpp.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace {

// Reads and writes `name` as a T; a size mismatch or a damaged section is a bpf::Error.
template <class T>
void touch_global(bpf::Module& mod, const std::string& name) {
    try {
        const T before = mod.global<T>(name);
        mod.set_global(name, static_cast<T>(before + 1));
        if (mod.global<T>(name) != static_cast<T>(before + 1)) __builtin_trap();  // a write that did not stick
    } catch (const bpf::Error&) {
    }
}

void exercise(bpf::Module& mod) {
    std::size_t sum = mod.name().size();
    for (const bpf::Map& m : mod.maps()) {
        sum += m.name().size() + m.key_size() + m.value_size() + m.max_entries() + m.flags();
        sum += static_cast<std::size_t>(m.type()) + m.per_cpu() + m.internal() + m.pin_path().size();
        sum += m.initial_value().size() + m.qualified_name().size();
        try {
            if (auto inner = m.inner_map()) sum += inner->name().size();
        } catch (const bpf::Error&) {
        }
        // Found again by name, or not at all when the name cannot be a C string.
        if (auto again = mod.find_map(m.name()); again && again->get() != m.get() && again->name() != m.name())
            __builtin_trap();
    }
    for (const bpf::Prog& p : mod.programs()) {
        sum += p.name().size() + p.section().size() + static_cast<std::size_t>(p.type());
        sum += static_cast<std::size_t>(p.expected_attach_type()) + p.autoload() + p.autoattach();
        if (auto again = mod.find_program(p.name()); again && again->name() != p.name()) __builtin_trap();
    }
    for (const std::string& g : mod.global_names()) {
        touch_global<std::uint8_t>(mod, g);
        touch_global<std::uint16_t>(mod, g);
        touch_global<std::uint32_t>(mod, g);
        touch_global<std::uint64_t>(mod, g);
        try {
            const std::vector<std::byte> zeros(16);
            for (std::size_t n = 1; n <= zeros.size(); ++n) mod.set_global_bytes(g, std::span(zeros.data(), n));
        } catch (const bpf::Error&) {
        }
    }
    try {
        (void)mod.map("no such map");
    } catch (const bpf::Error&) {
    }
    // Keeps the reads above from being optimised away.
    asm volatile("" : : "r"(sum));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = [] {
        bpf::set_logger([](bpf::LogLevel, std::string_view) {}, bpf::LogLevel::Off);
        return true;
    }();
    (void)quiet;
    try {
        auto mod = bpf::Module::open_memory(std::span(reinterpret_cast<const std::byte*>(data), size));
        exercise(mod);
    } catch (const bpf::Error&) {
    }
    return 0;
}
