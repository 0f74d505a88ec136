// tcx: sched_cls programs on an interface's ingress or egress through bpf_links, in a
// chosen order (kernel >= 6.6, libbpf >= 1.3), without a clsact qdisc.
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

namespace detail {
inline constexpr MprogFamily tcx_family{
    "tcx", {uapi::attach_tcx_ingress, uapi::attach_tcx_egress}, {"ingress", "egress"},
    "SEC(\"tcx/ingress\") or SEC(\"tcx/egress\")", "bpf::tcx_attach_type(dir)", "tcx needs kernel >= 6.6",
    "attach through a clsact qdisc with bpf::TcHook instead",
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    mprog_link<bpf_tcx_opts, bpf_program__attach_tcx>,
#else
    nullptr,
#endif
};
}  // namespace detail

/// The programs attached at `dir` of interface `ifindex` through tcx, in run order.
inline MprogQuery tcx_query(int ifindex, TcxDirection dir) {
    return detail::tcx_family.query(ifindex, dir == TcxDirection::Ingress ? 0 : 1);
}

/// The programs attached at `dir` of interface `ifname` through tcx, in run order.
inline MprogQuery tcx_query(const std::string& ifname, TcxDirection dir) {
    return tcx_query(detail::ifindex_of(ifname, "querying tcx of"), dir);
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_tcx(const std::string& ifname, const TcxOptions& o) {
    return attach_tcx(detail::ifindex_of(ifname, "attaching tcx program to"), o, ifname);
}

LIBBPFCPP_INLINE Link& Prog::attach_tcx(int ifindex, const TcxOptions& o, const std::string& ifname) {
    return attach_mprog(detail::tcx_family, ifindex, o.order, o.expected_revision, ifname);
}

LIBBPFCPP_INLINE Link& Prog::attach_tcx(const std::string& ifname) { return attach_tcx(ifname, TcxOptions{}); }

LIBBPFCPP_INLINE Link& Prog::attach_tcx(int ifindex) { return attach_tcx(ifindex, TcxOptions{}, {}); }

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
