// XDP: programs on an interface's receive path, through a bpf_link or the legacy netlink way.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstdint>
#include <string>

#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "detail/ifindex.hpp"
#include "error.hpp"
#include "legacy_attachment.hpp"
#include "log.hpp"
#include "prog.hpp"

namespace bpf {

/// Flags of Prog::attach_xdp_legacy (the netlink XDP_FLAGS_*), combinable with `|`.
///
/// ```cpp
/// mod.program("xdp_pass").attach_xdp_legacy("veth0", bpf::XdpFlag::SkbMode | bpf::XdpFlag::UpdateIfNoExist);
/// ```
enum class XdpFlag : std::uint32_t {
    None = 0,
    UpdateIfNoExist = XDP_FLAGS_UPDATE_IF_NOEXIST,  ///< fail when a program is already attached
    SkbMode = XDP_FLAGS_SKB_MODE,                   ///< generic XDP (any device)
    DrvMode = XDP_FLAGS_DRV_MODE,                   ///< native driver XDP
    HwMode = XDP_FLAGS_HW_MODE,                     ///< offloaded to the NIC
    Replace = XDP_FLAGS_REPLACE,                    ///< act only if this program is the one attached
    Modes = XDP_FLAGS_MODES,                        ///< mask of SkbMode | DrvMode | HwMode
};
constexpr XdpFlag operator|(XdpFlag a, XdpFlag b) noexcept {
    return static_cast<XdpFlag>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr XdpFlag operator&(XdpFlag a, XdpFlag b) noexcept {
    return static_cast<XdpFlag>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_xdp(int ifindex) {
    const detail::QuietLog quiet;
    bpf_link* l = bpf_program__attach_xdp(prog_, ifindex);
    int err = errno;
    return keep(l, err, "xdp on ifindex " + std::to_string(ifindex));
}

LIBBPFCPP_INLINE Link& Prog::attach_xdp(const std::string& ifname) {
    return attach_xdp(detail::ifindex_of(ifname, "attaching xdp to"));
}

LIBBPFCPP_INLINE LegacyAttachment& Prog::attach_xdp_legacy(const std::string& ifname, XdpFlag flags) {
    return attach_xdp_legacy(detail::ifindex_of(ifname, "attaching xdp to"), flags);
}

LIBBPFCPP_INLINE LegacyAttachment& Prog::attach_xdp_legacy(int ifindex, XdpFlag flags) {
    const std::string what = "xdp (legacy) on ifindex " + std::to_string(ifindex);
    require_fd(what);
    const auto f = static_cast<std::uint32_t>(flags);
    if (int ret = bpf_xdp_attach(ifindex, fd(), f, nullptr); ret < 0) {
        int err = -ret;
        std::string cause = what + ": ";
        if (err == EBUSY || err == EEXIST)
            cause += "another XDP program is attached (drop XdpFlag::UpdateIfNoExist to replace it)";
        else
            cause += detail::explain_errno(err);
        attach_failed(err, cause);
    }
    const int prog_fd = fd();
    const std::uint32_t mode = f & XDP_FLAGS_MODES;
    return keep_legacy(what, [ifindex, prog_fd, mode] {
        // Detach only if our program is still the one attached. When it is not (someone
        // detached or replaced it), the kernel's "Active program does not match
        // expected" is the expected outcome, not a warning worth printing.
        LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = prog_fd);
        detail::LogCapture quiet(detail::LogCapture::Silent);
        return bpf_xdp_attach(ifindex, -1, mode | XDP_FLAGS_REPLACE, &o);
    });
}

LIBBPFCPP_INLINE void Prog::detach_xdp_legacy(const std::string& ifname, XdpFlag flags) {
    const int ifindex = detail::ifindex_of(ifname, "detaching xdp from");
    const auto f = static_cast<std::uint32_t>(flags);
    const bool only_own = (f & XDP_FLAGS_REPLACE) != 0;
    if (only_own) require_fd("detaching xdp from " + ifname);
    LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = only_own ? fd() : -1);
    int ret = 0;
    {
        detail::LogCapture quiet(detail::LogCapture::Silent);  // the kernel's refusal becomes the Error
        ret = bpf_xdp_detach(ifindex, f & (XDP_FLAGS_MODES | XDP_FLAGS_REPLACE), only_own ? &o : nullptr);
    }
    if (ret < 0) {
        const int err = -ret;
        if (only_own && err == EEXIST)
            throw Error(err, detail::describe("detaching xdp from", ifname,
                                              "another XDP program than '" + std::string(name()) +
                                                  "' is attached (XdpFlag::Replace detaches only this one)"));
        detail::throw_errno(err, "detaching xdp from", ifname);
    }
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
