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
#include "log.hpp"
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

/// The programs of `side` of the netkit pair whose primary is `ifindex`, in run order.
inline MprogQuery netkit_query(int ifindex, NetkitSide side) {
    return detail::mprog_query(ifindex, netkit_attach_type(side),
                               std::string(side == NetkitSide::Primary ? "netkit primary" : "netkit peer") +
                                   " of ifindex " + std::to_string(ifindex));
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
    const detail::QuietLog quiet;
    const bpf_attach_type t = expected_attach_type();
    const char* side = t == detail::uapi::attach_netkit_primary ? "primary"
                       : t == detail::uapi::attach_netkit_peer  ? "peer"
                                                                : nullptr;
    std::string what = std::string("netkit ") + (side != nullptr ? side : "?") + " of " +
                       (ifname.empty() ? "ifindex " + std::to_string(ifindex) : ifname);
    if (o.order.flags != 0) what += " (" + o.order.describe() + ")";
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    if (side == nullptr)
        attach_failed(EINVAL, what + ": the program's attach type is not netkit; use "
                      "SEC(\"netkit/primary\") or SEC(\"netkit/peer\"), or call "
                      "set_expected_attach_type(bpf::netkit_attach_type(side)) "
                      "before Module::load()");
    LIBBPF_OPTS(bpf_netkit_opts, opts, .flags = o.order.flags,
                .relative_fd = static_cast<__u32>(o.order.relative_fd), .relative_id = o.order.relative_id,
                .expected_revision = o.expected_revision);
    bpf_link* l = bpf_program__attach_netkit(prog_, ifindex, &opts);
    int err = errno;
    if (l == nullptr && fd() >= 0)
        mprog_refusal(err, what, o.expected_revision,
                      "netkit needs kernel >= 6.7, and the interface must be a netkit primary device");
    return keep(l, err, what);
#else
    (void)ifindex;
    (void)o;
    detail::libbpf_too_old("attaching program", name(), what, "netkit", 1, 3, "");
#endif
}

LIBBPFCPP_INLINE Link& Prog::attach_netkit(const std::string& ifname) { return attach_netkit(ifname, NetkitOptions{}); }

LIBBPFCPP_INLINE Link& Prog::attach_netkit(int ifindex) { return attach_netkit(ifindex, NetkitOptions{}, {}); }

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
