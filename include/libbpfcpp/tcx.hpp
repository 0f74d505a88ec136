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
#include "log.hpp"
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

/// The programs attached at `dir` of interface `ifindex` through tcx, in run order.
inline MprogQuery tcx_query(int ifindex, TcxDirection dir) {
    return detail::mprog_query(ifindex, tcx_attach_type(dir),
                               std::string(dir == TcxDirection::Ingress ? "tcx ingress" : "tcx egress") +
                                   " of ifindex " + std::to_string(ifindex));
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
    const detail::QuietLog quiet;
    const bpf_attach_type t = expected_attach_type();
    const char* side = t == detail::uapi::attach_tcx_ingress  ? "ingress"
                       : t == detail::uapi::attach_tcx_egress ? "egress"
                                                              : nullptr;
    std::string what = std::string("tcx ") + (side != nullptr ? side : "?") + " of " +
                       (ifname.empty() ? "ifindex " + std::to_string(ifindex) : ifname);
    if (o.order.flags != 0) what += " (" + o.order.describe() + ")";
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    if (side == nullptr)
        attach_failed(EINVAL, what + ": the program's attach type is not tcx; use SEC(\"tcx/ingress\") "
                      "or SEC(\"tcx/egress\"), or call set_expected_attach_type("
                      "bpf::tcx_attach_type(dir)) before Module::load()");
    LIBBPF_OPTS(bpf_tcx_opts, opts, .flags = o.order.flags, .relative_fd = static_cast<__u32>(o.order.relative_fd),
                .relative_id = o.order.relative_id, .expected_revision = o.expected_revision);
    bpf_link* l = bpf_program__attach_tcx(prog_, ifindex, &opts);
    int err = errno;
    if (l == nullptr && fd() >= 0) mprog_refusal(err, what, o.expected_revision, "tcx needs kernel >= 6.6");
    return keep(l, err, what);
#else
    (void)ifindex;
    (void)o;
    detail::libbpf_too_old("attaching program", name(), what, "tcx", 1, 3,
                           "attach through a clsact qdisc with bpf::TcHook instead");
#endif
}

LIBBPFCPP_INLINE Link& Prog::attach_tcx(const std::string& ifname) { return attach_tcx(ifname, TcxOptions{}); }

LIBBPFCPP_INLINE Link& Prog::attach_tcx(int ifindex) { return attach_tcx(ifindex, TcxOptions{}, {}); }

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
