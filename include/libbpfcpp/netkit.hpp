// netkit: programs of a netkit device pair (kernel >= 6.7, libbpf >= 1.3), attached
// through bpf_links on the primary device, in a chosen order.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cstdint>
#include <string>

#include <net/if.h>

#include "detail/uapi.hpp"
#include "error.hpp"
#include "version.hpp"
#include "prog.hpp"
#include "detail/ifindex.hpp"
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

namespace detail {
inline constexpr MprogFamily netkit_family{
    "netkit", {uapi::attach_netkit_primary, uapi::attach_netkit_peer}, {"primary", "peer"},
    "SEC(\"netkit/primary\") or SEC(\"netkit/peer\")", "bpf::netkit_attach_type(side)",
    "netkit needs kernel >= 6.7, and the interface must be a netkit primary device", "",
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    mprog_link<bpf_netkit_opts, bpf_program__attach_netkit>,
#else
    nullptr,
#endif
};
}  // namespace detail

/// The programs of `side` of the netkit pair whose primary is `ifindex`, in run order.
inline MprogQuery netkit_query(int ifindex, NetkitSide side) {
    return detail::netkit_family.query(ifindex, side == NetkitSide::Primary ? 0 : 1);
}

/// The programs of `side` of the netkit pair whose primary is `ifname`, in run order.
inline MprogQuery netkit_query(const std::string& ifname, NetkitSide side) {
    return netkit_query(detail::ifindex_of(ifname, "querying netkit of"), side);
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_netkit(const std::string& ifname, const NetkitOptions& o) {
    return attach_netkit(detail::ifindex_of(ifname, "attaching netkit program to"), o, ifname);
}

LIBBPFCPP_INLINE Link& Prog::attach_netkit(int ifindex, const NetkitOptions& o, const std::string& ifname) {
    return attach_mprog(detail::netkit_family, ifindex, o.order, o.expected_revision, ifname);
}

LIBBPFCPP_INLINE Link& Prog::attach_netkit(const std::string& ifname) { return attach_netkit(ifname, NetkitOptions{}); }

LIBBPFCPP_INLINE Link& Prog::attach_netkit(int ifindex) { return attach_netkit(ifindex, NetkitOptions{}, {}); }

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
