// netkit: programs of a netkit device pair (kernel >= 6.7, libbpf >= 1.3), attached
// through bpf_links on the primary device, in a chosen order.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cstdint>
#include <string>

#include <net/if.h>

#include "detail/uapi.hpp"
#include "error.hpp"
#include "mprog.hpp"

namespace bpf {

/// Which traffic of a netkit pair a program sees. Both attach on the primary device.
enum class NetkitSide {
    Primary,  ///< what the primary transmits (from the host side towards the peer)
    Peer,     ///< what the peer transmits (leaving the peer, e.g. a container, towards the host)
};

/// The attach type of a netkit program of `side`, for Prog::set_expected_attach_type()
/// before load of a plain SEC("tc") program (SEC("netkit/primary") and SEC("netkit/peer")
/// set it themselves with libbpf >= 1.3).
constexpr bpf_attach_type netkit_attach_type(NetkitSide side) noexcept {
    return side == NetkitSide::Primary ? detail::uapi::attach_netkit_primary : detail::uapi::attach_netkit_peer;
}

/// Options of Prog::attach_netkit.
///
/// ```cpp
/// bpf::NetkitOptions o;
/// o.order = bpf::AttachOrder::first();
/// mod.program("nk_filter").attach_netkit("nk0", o);
/// ```
struct NetkitOptions {
    AttachOrder order;                    ///< where among the attached programs (default: last)
    std::uint64_t expected_revision = 0;  ///< attach only if the hook's revision is this (0: any)
};

/// The programs of `side` of the netkit pair whose primary is `ifindex`, in run order.
inline MprogQuery netkit_query(int ifindex, NetkitSide side) {
    return detail::mprog_query(ifindex, netkit_attach_type(side),
                               std::string(side == NetkitSide::Primary ? "netkit primary" : "netkit peer") +
                                   " of ifindex " + std::to_string(ifindex));
}

/// The programs of `side` of the netkit pair whose primary is `ifname`, in run order.
inline MprogQuery netkit_query(const std::string& ifname, NetkitSide side) {
    const unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0)
        throw Error(ENODEV, detail::describe("querying netkit of", ifname, "no such network interface in this namespace"));
    return netkit_query(static_cast<int>(idx), side);
}

}  // namespace bpf
