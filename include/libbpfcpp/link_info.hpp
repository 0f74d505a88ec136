// What the kernel says about a link (bpf_link_info): its type, program and where it is
// attached.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/uapi.hpp"
#include "error.hpp"

namespace bpf {

/// The kernel's description of a link (bpf_link_get_info_by_fd). The fields of the
/// attach point are those of the link's type; the others stay 0.
///
/// ```cpp
/// bpf::LinkInfo i = mod.program("count").attach_tcx("eth0").info();
/// if (i.type == bpf::LinkInfo::tcx) std::printf("prog %u on ifindex %u\n", i.prog_id, i.ifindex);
/// ```
struct LinkInfo {
    // The link types (enum bpf_link_type), also those newer than the system's <linux/bpf.h>.
    static constexpr std::uint32_t raw_tracepoint = detail::uapi::link_type_raw_tracepoint;  ///< raw tracepoint
    static constexpr std::uint32_t tracing = detail::uapi::link_type_tracing;  ///< fentry/fexit/fmod_ret/tp_btf/lsm/freplace
    static constexpr std::uint32_t cgroup = detail::uapi::link_type_cgroup;  ///< cgroup
    static constexpr std::uint32_t iter = detail::uapi::link_type_iter;  ///< iterator
    static constexpr std::uint32_t netns = detail::uapi::link_type_netns;  ///< network namespace (flow_dissector, sk_lookup)
    static constexpr std::uint32_t xdp = detail::uapi::link_type_xdp;  ///< XDP
    static constexpr std::uint32_t perf_event = detail::uapi::link_type_perf_event;  ///< perf event (kprobe, uprobe, tracepoint through perf)
    static constexpr std::uint32_t kprobe_multi = detail::uapi::link_type_kprobe_multi;  ///< kprobe_multi
    static constexpr std::uint32_t struct_ops = detail::uapi::link_type_struct_ops;  ///< struct_ops
    static constexpr std::uint32_t netfilter = detail::uapi::link_type_netfilter;  ///< netfilter
    static constexpr std::uint32_t tcx = detail::uapi::link_type_tcx;  ///< tcx
    static constexpr std::uint32_t uprobe_multi = detail::uapi::link_type_uprobe_multi;  ///< uprobe_multi
    static constexpr std::uint32_t netkit = detail::uapi::link_type_netkit;  ///< netkit

    std::uint32_t type = 0;      ///< one of the constants above (enum bpf_link_type)
    std::uint32_t id = 0;        ///< the link's kernel id (bpftool link show id N)
    std::uint32_t prog_id = 0;   ///< the attached program's id (0 once it was detached)

    std::uint32_t attach_type = 0;  ///< tracing, cgroup, netns, tcx, netkit: enum bpf_attach_type
    std::uint32_t ifindex = 0;      ///< xdp, tcx, netkit: the interface (0 once it is gone)
    std::uint64_t cgroup_id = 0;    ///< cgroup
    std::uint32_t netns_ino = 0;    ///< netns: the namespace's inode
    std::string tp_name;            ///< raw_tracepoint: the tracepoint
    std::uint32_t target_obj_id = 0;  ///< tracing: the BTF object (or program) of the target
    std::uint32_t target_btf_id = 0;  ///< tracing: the target's BTF type id
    std::uint32_t map_id = 0;         ///< struct_ops: the map; iter over a map: that map
    std::uint32_t nf_family = 0;      ///< netfilter: NFPROTO_*
    std::uint32_t nf_hook = 0;        ///< netfilter: NF_INET_*
    std::int32_t nf_priority = 0;     ///< netfilter
    std::uint32_t nf_flags = 0;       ///< netfilter
    std::uint32_t count = 0;          ///< kprobe_multi, uprobe_multi: functions attached
    std::uint32_t flags = 0;          ///< kprobe_multi, uprobe_multi: e.g. BPF_F_KPROBE_MULTI_RETURN
    std::uint64_t missed = 0;         ///< kprobe_multi: runs missed (recursion) (kernel >= 6.7)

    /// "tcx", "xdp", "kprobe_multi", ... (or "link type N" for a type this library does not know).
    [[nodiscard]] std::string type_name() const {
        static constexpr const char* names[] = {"unspec",     "raw_tracepoint", "tracing", "cgroup",
                                                "iter",       "netns",          "xdp",     "perf_event",
                                                "kprobe_multi", "struct_ops",   "netfilter", "tcx",
                                                "uprobe_multi", "netkit",       "sockmap"};
        if (type < sizeof names / sizeof names[0]) return names[type];
        return "link type " + std::to_string(type);
    }
};

namespace detail {
template <class T>
T union_field(const uapi::LinkInfoRaw& raw, std::size_t offset) {
    T v;
    std::memcpy(&v, raw.u + offset, sizeof v);
    return v;
}
}  // namespace detail

/// The kernel's description of the link behind `fd`.
inline LinkInfo link_info_by_fd(int fd) {
    detail::uapi::LinkInfoRaw raw{};
    std::uint32_t len = sizeof raw;
    if (bpf_obj_get_info_by_fd(fd, &raw, &len) != 0)
        detail::throw_errno(errno, "reading the info of link fd", std::to_string(fd));
    char tp_name[256] = {};
    if (raw.type == detail::uapi::link_type_raw_tracepoint) {
        // Only this type reads a buffer from the union: a second call with it.
        const std::uint64_t ptr = reinterpret_cast<std::uintptr_t>(tp_name);
        const std::uint32_t size = sizeof tp_name;
        std::memcpy(raw.u, &ptr, sizeof ptr);
        std::memcpy(raw.u + 8, &size, sizeof size);
        len = sizeof raw;
        if (bpf_obj_get_info_by_fd(fd, &raw, &len) != 0)
            detail::throw_errno(errno, "reading the info of link fd", std::to_string(fd));
    }
    using detail::union_field;
    LinkInfo i;
    i.type = raw.type;
    i.id = raw.id;
    i.prog_id = raw.prog_id;
    switch (raw.type) {
        case detail::uapi::link_type_raw_tracepoint: i.tp_name = tp_name; break;
        case detail::uapi::link_type_tracing:
            i.attach_type = union_field<std::uint32_t>(raw, 0);
            i.target_obj_id = union_field<std::uint32_t>(raw, 4);
            i.target_btf_id = union_field<std::uint32_t>(raw, 8);
            break;
        case detail::uapi::link_type_cgroup:
            i.cgroup_id = union_field<std::uint64_t>(raw, 0);
            i.attach_type = union_field<std::uint32_t>(raw, 8);
            break;
        case detail::uapi::link_type_iter: i.map_id = union_field<std::uint32_t>(raw, 12); break;
        case detail::uapi::link_type_netns:
            i.netns_ino = union_field<std::uint32_t>(raw, 0);
            i.attach_type = union_field<std::uint32_t>(raw, 4);
            break;
        case detail::uapi::link_type_xdp: i.ifindex = union_field<std::uint32_t>(raw, 0); break;
        case detail::uapi::link_type_struct_ops: i.map_id = union_field<std::uint32_t>(raw, 0); break;
        case detail::uapi::link_type_netfilter:
            i.nf_family = union_field<std::uint32_t>(raw, 0);
            i.nf_hook = union_field<std::uint32_t>(raw, 4);
            i.nf_priority = union_field<std::int32_t>(raw, 8);
            i.nf_flags = union_field<std::uint32_t>(raw, 12);
            break;
        case detail::uapi::link_type_kprobe_multi:
            i.count = union_field<std::uint32_t>(raw, 8);
            i.flags = union_field<std::uint32_t>(raw, 12);
            i.missed = union_field<std::uint64_t>(raw, 16);
            break;
        case detail::uapi::link_type_uprobe_multi:
            i.count = union_field<std::uint32_t>(raw, 36);
            i.flags = union_field<std::uint32_t>(raw, 40);
            break;
        case detail::uapi::link_type_tcx:
        case detail::uapi::link_type_netkit:
            i.ifindex = union_field<std::uint32_t>(raw, 0);
            i.attach_type = union_field<std::uint32_t>(raw, 4);
            break;
        default: break;
    }
    return i;
}

}  // namespace bpf
