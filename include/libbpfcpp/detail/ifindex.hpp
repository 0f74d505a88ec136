// The one lookup of a network interface by name, for every call that takes one.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

#include <net/if.h>

#include "../error.hpp"

namespace bpf::detail {

/// The index of interface `ifname` in this network namespace; throws ENODEV naming `op`
/// when there is none.
inline int ifindex_of(const std::string& ifname, std::string_view op) {
    const unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0) throw Error(ENODEV, describe(op, ifname, "no such network interface in this namespace"));
    return static_cast<int>(idx);
}

}  // namespace bpf::detail
