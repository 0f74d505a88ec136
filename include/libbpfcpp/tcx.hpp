// tcx: sched_cls programs on an interface's ingress or egress through bpf_links, in a
// chosen order (kernel >= 6.6, libbpf >= 1.3), without a clsact qdisc.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cstdint>
#include <string>

#include <net/if.h>

#include "detail/uapi.hpp"
#include "error.hpp"
#include "mprog.hpp"

namespace bpf {

/// The side of an interface a tcx program runs on.
enum class TcxDirection { Ingress, Egress };

/// The attach type of a tcx program of `dir`: give it to Prog::set_expected_attach_type()
/// before load when the program's section is a plain SEC("tc") (SEC("tcx/ingress") and
/// SEC("tcx/egress") set it themselves with libbpf >= 1.3).
constexpr bpf_attach_type tcx_attach_type(TcxDirection dir) noexcept {
    return dir == TcxDirection::Ingress ? detail::uapi::attach_tcx_ingress : detail::uapi::attach_tcx_egress;
}

/// Options of Prog::attach_tcx.
///
/// ```cpp
/// auto& a = mod.program("count").attach_tcx("veth0");
/// bpf::TcxOptions o;
/// o.order = bpf::AttachOrder::before_link(a.fd());
/// o.expected_revision = bpf::tcx_query("veth0", bpf::TcxDirection::Ingress).revision;
/// mod.program("filter").attach_tcx("veth0", o);     // runs first; fails if the hook changed
/// ```
struct TcxOptions {
    AttachOrder order;                    ///< where among the attached programs (default: last)
    std::uint64_t expected_revision = 0;  ///< attach only if the hook's revision is this (0: any)
};

/// The programs attached at `dir` of interface `ifindex` through tcx, in run order.
inline MprogQuery tcx_query(int ifindex, TcxDirection dir) {
    return detail::mprog_query(ifindex, tcx_attach_type(dir),
                               std::string(dir == TcxDirection::Ingress ? "tcx ingress" : "tcx egress") +
                                   " of ifindex " + std::to_string(ifindex));
}

/// The programs attached at `dir` of interface `ifname` through tcx, in run order.
inline MprogQuery tcx_query(const std::string& ifname, TcxDirection dir) {
    const unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0) throw Error(ENODEV, detail::describe("querying tcx of", ifname, "no such network interface in this namespace"));
    return tcx_query(static_cast<int>(idx), dir);
}

}  // namespace bpf
