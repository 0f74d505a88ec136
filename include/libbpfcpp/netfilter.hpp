// netfilter: BPF programs as netfilter hooks (kernel >= 6.4, libbpf >= 1.3).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cstdint>
#include <string>

#include <bpf/libbpf.h>

#include "detail/uapi.hpp"
#include "error.hpp"
#include "log.hpp"
#include "prog.hpp"
#include "version.hpp"

namespace bpf {

/// Where Prog::attach_netfilter hooks a SEC("netfilter") program. The program returns
/// NF_ACCEPT (1) or NF_DROP (0).
///
/// ```cpp
/// bpf::NetfilterOptions o;
/// o.family = bpf::NetfilterOptions::ipv4;         // NFPROTO_IPV4
/// o.hook = bpf::NetfilterOptions::local_in;       // NF_INET_LOCAL_IN
/// o.priority = -128;                              // before most iptables tables
/// mod.program("nf_drop").attach_netfilter(o);
/// ```
struct NetfilterOptions {
    static constexpr std::uint32_t ipv4 = 2;   ///< NFPROTO_IPV4
    static constexpr std::uint32_t ipv6 = 10;  ///< NFPROTO_IPV6
    static constexpr std::uint32_t pre_routing = 0;   ///< NF_INET_PRE_ROUTING
    static constexpr std::uint32_t local_in = 1;      ///< NF_INET_LOCAL_IN
    static constexpr std::uint32_t forward = 2;       ///< NF_INET_FORWARD
    static constexpr std::uint32_t local_out = 3;     ///< NF_INET_LOCAL_OUT
    static constexpr std::uint32_t post_routing = 4;  ///< NF_INET_POST_ROUTING
    /// Flag: defragment IP packets before the program sees them (kernel >= 6.6).
    static constexpr std::uint32_t ip_defrag = 1U << 0;

    std::uint32_t family = ipv4;     ///< protocol family (NFPROTO_*)
    std::uint32_t hook = local_in;   ///< hook number (NF_INET_*)
    /// Run order among the family's hooks (lower first); the kernel refuses INT_MIN and
    /// INT_MAX, which belong to its own first and last hooks.
    std::int32_t priority = 0;
    std::uint32_t flags = 0;         ///< ip_defrag

    /// E.g. "netfilter ipv4 local_in prio -128".
    [[nodiscard]] std::string describe() const {
        static constexpr const char* hooks[] = {"pre_routing", "local_in", "forward", "local_out", "post_routing"};
        std::string s = "netfilter ";
        s += family == ipv4 ? "ipv4" : family == ipv6 ? "ipv6" : "family " + std::to_string(family);
        s += ' ';
        s += hook < 5 ? std::string(hooks[hook]) : "hook " + std::to_string(hook);
        s += " prio " + std::to_string(priority);
        return s;
    }
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_netfilter(const NetfilterOptions& o) {
    const detail::QuietLog quiet;
    const std::string what = o.describe();
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    LIBBPF_OPTS(bpf_netfilter_opts, opts, .pf = o.family, .hooknum = o.hook, .priority = o.priority,
                .flags = o.flags);
    bpf_link* l = bpf_program__attach_netfilter(prog_, &opts);
    int err = errno;
    if (l == nullptr && fd() >= 0 && err == EINVAL && type() != detail::uapi::prog_type_netfilter)
        attach_failed(EINVAL, what + ": not a netfilter program (its section must be "
                      "SEC(\"netfilter\"))");
    if (l == nullptr && fd() >= 0 && err == ERANGE)
        attach_failed(err, what + ": the priority must lie strictly between INT_MIN and INT_MAX "
                      "(those belong to the kernel's own first and last hooks)");
    if (l == nullptr && fd() >= 0 && (err == EINVAL || err == EOPNOTSUPP || err == EPROTONOSUPPORT))
        attach_failed(err, what + ": the kernel refused the hook (no such family or hook "
                      "number; netfilter programs need kernel >= 6.4 with "
                      "CONFIG_NETFILTER_BPF_LINK, ip_defrag >= 6.6)");
    return keep(l, err, what);
#else
    detail::libbpf_too_old("attaching program", name(), what, "netfilter", 1, 3,
                           "hook the packets with a tc or XDP program instead");
#endif
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
