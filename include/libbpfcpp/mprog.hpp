// Multi-program hooks (tcx, netkit): where a new program goes among those attached, what
// is attached, and the attach both families share (a link on an interface, before or
// after an anchor); tcx.hpp and netkit.hpp only name their family's parts.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/bpf.h>

#include "detail/needs_libbpf.hpp"
#include "log.hpp"
#include "version.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"
#include "prog.hpp"

namespace bpf {

/// Where a program is inserted among the programs of a multi-program hook (tcx, netkit;
/// kernel >= 6.6). The kernel runs them in list order. The relative program or link is
/// given by fd or by kernel id.
///
/// ```cpp
/// bpf::TcxOptions o;
/// o.order = bpf::AttachOrder::before_prog(first.fd());   // runs ahead of `first`
/// o.order = bpf::AttachOrder::after_link(link.fd());     // right after that link's program
/// o.order = bpf::AttachOrder::first();                   // ahead of all
/// ```
struct AttachOrder {
    std::uint32_t flags = 0;         ///< BPF_F_BEFORE / BPF_F_AFTER, BPF_F_LINK (BPF_F_ID is set from relative_id)
    int relative_fd = 0;             ///< the program or link fd it is relative to (0: none)
    std::uint32_t relative_id = 0;   ///< or its kernel id (0: none)

    /// At the end of the list (the default).
    static AttachOrder last() noexcept { return {}; }
    /// At the front of the list.
    static AttachOrder first() noexcept { return {detail::uapi::f_before, 0, 0}; }
    /// Just before the program `prog_fd`.
    static AttachOrder before_prog(int prog_fd) noexcept { return {detail::uapi::f_before, prog_fd, 0}; }
    /// Just after the program `prog_fd`.
    static AttachOrder after_prog(int prog_fd) noexcept { return {detail::uapi::f_after, prog_fd, 0}; }
    /// Just before the program with kernel id `id`.
    static AttachOrder before_prog_id(std::uint32_t id) noexcept { return {detail::uapi::f_before, 0, id}; }
    /// Just after the program with kernel id `id`.
    static AttachOrder after_prog_id(std::uint32_t id) noexcept { return {detail::uapi::f_after, 0, id}; }
    /// Just before the program of link `link_fd`.
    static AttachOrder before_link(int link_fd) noexcept {
        return {detail::uapi::f_before | detail::uapi::f_link, link_fd, 0};
    }
    /// Just after the program of link `link_fd`.
    static AttachOrder after_link(int link_fd) noexcept {
        return {detail::uapi::f_after | detail::uapi::f_link, link_fd, 0};
    }
    /// Just before the program of the link with kernel id `id`.
    static AttachOrder before_link_id(std::uint32_t id) noexcept {
        return {detail::uapi::f_before | detail::uapi::f_link, 0, id};
    }
    /// Just after the program of the link with kernel id `id`.
    static AttachOrder after_link_id(std::uint32_t id) noexcept {
        return {detail::uapi::f_after | detail::uapi::f_link, 0, id};
    }

    /// E.g. "before link fd 7", "last".
    [[nodiscard]] std::string describe() const {
        const bool before = (flags & detail::uapi::f_before) != 0, after = (flags & detail::uapi::f_after) != 0;
        if (!before && !after) return "last";
        if (relative_fd == 0 && relative_id == 0) return before ? "first" : "last";
        std::string s = before ? "before " : "after ";
        s += (flags & detail::uapi::f_link) != 0 ? "link " : "prog ";
        s += relative_id != 0 ? "id " + std::to_string(relative_id) : "fd " + std::to_string(relative_fd);
        return s;
    }
};

/// The programs at a multi-program hook, in the order they run (bpf_prog_query).
///
/// ```cpp
/// bpf::MprogQuery q = bpf::tcx_query("eth0", bpf::TcxDirection::Ingress);
/// for (std::size_t i = 0; i < q.prog_ids.size(); ++i)
///     std::printf("prog %u (link %u)\n", q.prog_ids[i], q.link_ids[i]);
/// ```
struct MprogQuery {
    /// Changes with every attach and detach; give it as `expected_revision` to attach only
    /// if nothing changed since this query.
    std::uint64_t revision = 0;
    /// Program ids in run order.
    std::vector<std::uint32_t> prog_ids;
    /// The link of each program (0: attached without a link).
    std::vector<std::uint32_t> link_ids;
};

namespace detail {

/// Queries the multi-program hook `type` of interface `ifindex`; `what` names it in errors.
inline MprogQuery mprog_query(int ifindex, bpf_attach_type type, const std::string& what) {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    constexpr std::uint32_t max_progs = 64;  // the kernel's limit per hook (BPF_MPROG_MAX)
    std::vector<std::uint32_t> progs(max_progs), links(max_progs);
    LIBBPF_OPTS(bpf_prog_query_opts, o, .prog_ids = progs.data(), .prog_cnt = max_progs, .link_ids = links.data());
    if (bpf_prog_query_opts(ifindex, type, &o) != 0) {
        const int err = errno;
        throw_errno(err, "querying", what,
                    err == EINVAL ? "this kernel has no multi-program hooks (tcx and netkit need kernel >= 6.6)"
                                  : explain_errno(err));
    }
    progs.resize(o.prog_cnt);
    links.resize(o.prog_cnt);
    return {o.revision, std::move(progs), std::move(links)};
#else
    (void)ifindex;
    (void)type;
    libbpf_too_old("querying", what, "the query of multi-program hooks", "multi-program hook queries", 1, 3, "");
#endif
}

#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
/// The libbpf call `Attach` of a family (bpf_program__attach_tcx, ...), whose options
/// (`Opts`) have the same fields in each family.
template <class Opts, bpf_link* (*Attach)(const bpf_program*, int, const Opts*)>
bpf_link* mprog_link(bpf_program* prog, int ifindex, const AttachOrder& order, std::uint64_t revision) {
    Opts opts{};
    opts.sz = sizeof(Opts);
    opts.flags = order.flags;
    opts.relative_fd = static_cast<__u32>(order.relative_fd);
    opts.relative_id = order.relative_id;
    opts.expected_revision = revision;
    return Attach(prog, ifindex, &opts);
}
#endif

/// What sets one family of multi-program hooks on an interface apart from the other:
/// its name and two attach types, what its errors advise, and the libbpf call that makes
/// its link (null where the libbpf built against predates it).
struct MprogFamily {
    std::string_view name;                    // "tcx"
    bpf_attach_type types[2];                 // the two hooks of an interface
    std::string_view sides[2];                // "ingress", "egress"
    std::string_view sections;                // the SEC() names that set the attach type
    std::string_view attach_type_call;        // how to set it on a plain SEC("tc")
    std::string_view kernel_needs;            // said when the kernel refuses with EINVAL
    std::string_view without;                 // what to use with a libbpf too old for it
    bpf_link* (*attach)(bpf_program*, int ifindex, const AttachOrder&, std::uint64_t revision);

    /// The hook `side` (0 or 1) of interface `ifindex`, in run order.
    [[nodiscard]] MprogQuery query(int ifindex, int side) const {
        return mprog_query(ifindex, types[side],
                           std::string(name) + " " + std::string(sides[side]) + " of ifindex " + std::to_string(ifindex));
    }
};

}  // namespace detail
}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_mprog(const detail::MprogFamily& f, int ifindex, const AttachOrder& order,
                                          std::uint64_t expected_revision, const std::string& ifname) {
    const detail::QuietLog quiet;
    const bpf_attach_type t = expected_attach_type();
    const int side = t == f.types[0] ? 0 : t == f.types[1] ? 1 : -1;
    std::string what = std::string(f.name) + " " + std::string(side >= 0 ? f.sides[side] : "?") + " of " +
                       (ifname.empty() ? "ifindex " + std::to_string(ifindex) : ifname);
    if (order.flags != 0) what += " (" + order.describe() + ")";
    if (f.attach == nullptr)
        detail::libbpf_too_old("attaching program", name(), what, f.name, 1, 3, f.without);
    if (side < 0)
        attach_failed(EINVAL, what + ": the program's attach type is not " + std::string(f.name) + "; use " +
                                  std::string(f.sections) + ", or call set_expected_attach_type(" +
                                  std::string(f.attach_type_call) + ") before Module::load()");
    bpf_link* l = f.attach(prog_, ifindex, order, expected_revision);
    const int err = errno;
    if (l == nullptr && fd() >= 0) {
        std::string cause;
        if (err == ESTALE && expected_revision != 0)
            cause = "the hook changed since revision " + std::to_string(expected_revision) + " (query it again)";
        else if (err == ENOENT)
            cause = "the program or link given as relative is not attached there";
        else if (err == EEXIST)
            cause = "this program is already attached there";
        else if (err == ERANGE)
            cause = "the hook is full (64 programs)";
        else if (err == ENXIO)
            cause = "the interface is not a netkit primary device";
        else if (err == EINVAL)
            cause = "the kernel refused (" + std::string(f.kernel_needs) + ")";
        if (!cause.empty()) attach_failed(err, what + ": " + cause);
    }
    return keep(l, err, what);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
