// Kernel ABI numbers newer than the oldest <linux/bpf.h> this library builds with.
//
// The attach types, link types and flags below are fixed by the kernel's ABI; a system
// whose uapi headers predate them (Debian 12 ships 6.1's) still builds the code that uses
// them, and the kernel decides at run time whether it knows them.
#pragma once

#include <cstdint>

#include <linux/bpf.h>

namespace bpf::detail::uapi {

inline constexpr auto attach_netfilter = static_cast<bpf_attach_type>(45);
inline constexpr auto attach_tcx_ingress = static_cast<bpf_attach_type>(46);
inline constexpr auto attach_tcx_egress = static_cast<bpf_attach_type>(47);
inline constexpr auto attach_netkit_primary = static_cast<bpf_attach_type>(54);
inline constexpr auto attach_netkit_peer = static_cast<bpf_attach_type>(55);
inline constexpr auto attach_uprobe_multi = static_cast<bpf_attach_type>(48);
inline constexpr auto attach_kprobe_session = static_cast<bpf_attach_type>(56);

inline constexpr std::uint32_t link_type_raw_tracepoint = 1;
inline constexpr std::uint32_t link_type_tracing = 2;
inline constexpr std::uint32_t link_type_cgroup = 3;
inline constexpr std::uint32_t link_type_iter = 4;
inline constexpr std::uint32_t link_type_netns = 5;
inline constexpr std::uint32_t link_type_xdp = 6;
inline constexpr std::uint32_t link_type_perf_event = 7;
inline constexpr std::uint32_t link_type_kprobe_multi = 8;
inline constexpr std::uint32_t link_type_struct_ops = 9;
inline constexpr std::uint32_t link_type_netfilter = 10;
inline constexpr std::uint32_t link_type_tcx = 11;
inline constexpr std::uint32_t link_type_uprobe_multi = 12;
inline constexpr std::uint32_t link_type_netkit = 13;
inline constexpr std::uint32_t link_type_sockmap = 14;

inline constexpr auto prog_type_netfilter = static_cast<bpf_prog_type>(32);

// Flags of multi-program attachment (tcx, netkit): where a new program goes.
inline constexpr std::uint32_t f_before = 1U << 3;
inline constexpr std::uint32_t f_after = 1U << 4;
inline constexpr std::uint32_t f_id = 1U << 5;
inline constexpr std::uint32_t f_link = 1U << 13;

// BPF_F_TOKEN_FD: the command's token_fd field holds a BPF token (kernel >= 6.9).
inline constexpr std::uint32_t f_token_fd = 1U << 16;

/// struct bpf_link_info as kernels up to 6.18 define it: the header, then a union whose
/// largest member (uprobe_multi, perf_event) is 48 bytes. The kernel accepts a longer
/// buffer than it knows as long as the tail is zero.
struct LinkInfoRaw {
    std::uint32_t type = 0;
    std::uint32_t id = 0;
    std::uint32_t prog_id = 0;
    std::uint32_t pad_ = 0;
    alignas(8) unsigned char u[48] = {};
};
static_assert(sizeof(LinkInfoRaw) == 64);

}  // namespace bpf::detail::uapi
