// libFuzzer target: the skeleton generator (tools/libbpfcpp-gen) on arbitrary bytes, in
// process: gen::generate() reads the object with libbpf, walks its BTF and writes the
// header's text, which nothing here writes to a file.
//
// A gen::GenError is the expected answer to bad input; anything else (a crash, a hang, a
// sanitizer report, another exception) is a finding. The corpus starts from real objects
// and from tests/fuzz/btf_mutate.py's damaged type graphs (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>
#include <span>

#include "generate.hpp"
#include "types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The first byte picks options, so both the embedded form and the --type lookups run.
    gen::Options options;
    options.object = "fuzz.bpf.o";
    if (size > 0) {
        options.embed = (data[0] & 1) != 0;
        if ((data[0] & 2) != 0) options.types = {"struct event", "enum e", "u32"};
        if ((data[0] & 4) != 0) options.name = "fuzzed";
    }
    try {
        const gen::Output out = gen::generate(std::span(reinterpret_cast<const char*>(data), size), options);
        // Keeps the text from being optimised away.
        asm volatile("" : : "r"(out.text.size() + out.warnings.size()));
    } catch (const gen::GenError&) {
    }
    return 0;
}
