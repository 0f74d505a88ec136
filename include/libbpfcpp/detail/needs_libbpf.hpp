// The error of a call whose libbpf function is newer than the libbpf this program was
// compiled with.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

#include "../error.hpp"
#include "../version.hpp"

namespace bpf::detail {

/// Throws EOPNOTSUPP: "OP 'OBJECT': WHAT needs libbpf >= MAJOR.MINOR, this program was
/// built with libbpf X.Y; INSTEAD", with Error::missing() naming WHAT and the release.
/// FEATURE is the short name Error::missing() carries ("tcx", "BPF tokens").
[[noreturn, gnu::cold]] inline void libbpf_too_old(std::string_view op, std::string_view object, std::string_view what,
                                        std::string_view feature, int major, int minor, std::string_view instead) {
    const std::string cause = cat({what, " needs libbpf >= ", Decimal(major), ".", Decimal(minor),
                                   ", this program was built with libbpf ", bpf::libbpf_compiled_version(),
                                   instead.empty() ? "" : "; ", instead});
    throw Error(EOPNOTSUPP, describe(op, object, cause), missing_libbpf(std::string(feature), major, minor));
}

}  // namespace bpf::detail
