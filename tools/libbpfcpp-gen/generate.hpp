// The skeleton generator as a function of the object's bytes: what libbpfcpp-gen's main()
// runs after reading the file, and what the fuzz target (tests/fuzz) runs on its inputs.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace gen {

/// What a skeleton is generated from, besides the object's bytes.
struct Options {
    std::string object;               ///< the object's path: error messages, the default name
    std::vector<std::string> linked;  ///< the objects `bytes` was linked from (several), or empty
    std::string name;                 ///< --name: the namespace and the object's name
    std::vector<std::string> types;   ///< --type: further types to define
    bool embed = true;                ///< false: --no-embed
};

/// A generated header and what it is lossy about.
struct Output {
    std::string text;                   ///< NAME.skel.hpp
    std::vector<std::string> warnings;  ///< for the user, one line each
};

/// NAME.skel.hpp for the BPF object `bytes`. Throws gen::GenError (types.hpp) with what is
/// wrong and what to do, for any input: a damaged object is an error, never a crash or a
/// hang.
[[nodiscard]] Output generate(std::span<const char> bytes, const Options& options);

}  // namespace gen
