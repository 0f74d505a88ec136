// Exclusive maps (libbpf 1.7, Linux 6.18): a map the kernel lets only one program use.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <string>

#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

#include "detail/needs_libbpf.hpp"
#include "error.hpp"
#include "map.hpp"
#include "prog.hpp"
#include "version.hpp"

namespace bpf {

/// Makes `map` exclusive to `prog`, both of one opened Module, before load
/// (bpf_map__set_exclusive_program): libbpf creates the map bound to the program's
/// SHA-256, and the kernel refuses to load any other program that uses it. A kernel
/// before 6.18 refuses the map at load. Throws naming libbpf 1.7 on an older libbpf.
///
/// ```cpp
/// bpf::set_exclusive_program(mod.map("secrets"), mod.program("guard"));
/// mod.load();
/// ```
inline void set_exclusive_program(const Map& map, const Prog& prog) {
    const std::string what = std::string(map.name());
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 7)
    if (map.get() == nullptr || prog.get() == nullptr)
        throw Error(EINVAL, detail::describe("making map exclusive", what,
                                             "the map or the program is not part of an opened object"));
    if (bpf_map__fd(map.get()) >= 0 || prog.fd() >= 0)
        throw Error(EBUSY, detail::describe("making map exclusive", what,
                                            "the object is already loaded (or prepared); call this before Module::load()"));
    if (int ret = bpf_map__set_exclusive_program(map.get(), prog.get()); ret != 0)
        detail::throw_errno(detail::positive_errno(ret), "making map exclusive", what,
                            "the program must belong to the same object as the map (" + std::string(prog.name()) + ")");
#else
    (void)prog;
    detail::libbpf_too_old("making map exclusive", what, "bpf::set_exclusive_program (bpf_map__set_exclusive_program)",
                           "exclusive maps", 1, 7, {});
#endif
}

}  // namespace bpf
