// bpf::Prog: a handle to a program of a Module (wraps bpf_program).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/fd.hpp"
#include "detail/module_state.hpp"
#include "detail/needs_libbpf.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"
#include "legacy_attachment.hpp"
#include "link.hpp"
#include "log.hpp"
#include "version.hpp"

namespace bpf {

// The options of the attach families, defined in their headers (kprobe.hpp, uprobe.hpp,
// xdp.hpp, cgroup.hpp, iter.hpp, tcx.hpp, netkit.hpp, netfilter.hpp, kprobe_multi.hpp).
struct KprobeOptions;
struct KprobeAtOptions;
struct UprobeOptions;
struct UsdtOptions;
struct UprobeMultiOptions;
struct IterOptions;
struct TcxOptions;
struct NetkitOptions;
struct AttachOrder;
namespace detail {
struct MprogFamily;
}
struct NetfilterOptions;
struct KprobeMultiOptions;
enum class XdpFlag : std::uint32_t;
enum class AttachFlag : std::uint32_t;
enum class TcxDirection;
struct TestRunOptions;  // test_run.hpp
struct TestRunResult;

/// A program of a Module. Cheap to copy; valid while its Module lives. Every attach_*
/// returns a reference to a Link the Module owns: ignore it and the program stays
/// attached until the Module is destroyed, or keep it to destroy/pin it early.
///
/// ```cpp
/// auto prog = mod.program("on_exec");
/// prog.attach_tracepoint("sched", "sched_process_exec");
/// mod.program("on_ret").attach_uretprobe(-1, "/usr/bin/bash", "readline");
/// ```
///
/// The attach_* of each family are defined in the family's header (kprobe.hpp,
/// uprobe.hpp, tcx.hpp, ...); module.hpp and libbpfcpp.hpp include them all.
class Prog {
public:
    /// A handle to `prog` of module state `mod`; Module::program() makes these.
    Prog(bpf_program* prog, detail::ModuleState* mod) noexcept : prog_(prog), mod_(mod) {}

    // ---- properties -------------------------------------------------------------------
    /// The program's function name in the BPF source.
    [[nodiscard]] std::string_view name() const noexcept { return bpf_program__name(prog_); }
    /// The ELF section, e.g. "tracepoint/sched/sched_switch".
    [[nodiscard]] std::string_view section() const noexcept { return bpf_program__section_name(prog_); }
    /// The program type, e.g. BPF_PROG_TYPE_TRACEPOINT (from the section name).
    [[nodiscard]] bpf_prog_type type() const noexcept { return bpf_program__type(prog_); }
    /// The attach type the kernel expects at load (from the section name).
    [[nodiscard]] bpf_attach_type expected_attach_type() const noexcept {
        return bpf_program__expected_attach_type(prog_);
    }
    /// The program's fd, or -1 before load (or when autoload is off).
    [[nodiscard]] int fd() const noexcept { return bpf_program__fd(prog_); }
    /// Whether load() loads this program.
    [[nodiscard]] bool autoload() const noexcept { return bpf_program__autoload(prog_); }
    /// Whether Module::attach_all() attaches this program.
    [[nodiscard]] bool autoattach() const noexcept { return bpf_program__autoattach(prog_); }
    /// The raw libbpf program, for what is not wrapped.
    [[nodiscard]] bpf_program* get() const noexcept { return prog_; }
    /// Whether the SEC() name says where attach() attaches: "tracepoint/sched/sched_switch"
    /// or "kprobe/tcp_connect" do, a bare "kprobe", "uprobe" or "xdp" does not. BTF-typed
    /// sections (fentry, fexit, fmod_ret, tp_btf, lsm, freplace) name their target by BTF
    /// id, from the section or set_attach_target(), and count as naming one.
    [[nodiscard]] bool section_names_attach_point() const noexcept;

    // ---- before load ------------------------------------------------------------------
    /// Whether load() loads this program (false: skip it, e.g. an unsupported hook).
    void set_autoload(bool on) { check_config(bpf_program__set_autoload(prog_, on), "setting autoload of"); }
    /// Whether Module::attach_all() attaches it.
    void set_autoattach(bool on) { bpf_program__set_autoattach(prog_, on); }
    /// Overrides the program type before load (for sections libbpf does not know).
    void set_type(bpf_prog_type t) { check_config(bpf_program__set_type(prog_, t), "setting the type of"); }
    /// Overrides the expected attach type before load.
    void set_expected_attach_type(bpf_attach_type t) {
        check_config(bpf_program__set_expected_attach_type(prog_, t), "setting the attach type of");
    }
    /// The function an fentry/fexit/freplace program attaches to: a kernel function
    /// (`target_fd` 0) or a function of the BPF program `target_fd`.
    void set_attach_target(const std::string& function, int target_fd = 0);

    // ---- attach -----------------------------------------------------------------------
    /// Attaches as its SEC() name says (libbpf auto-attach).
    Link& attach();

    /// Attaches to tracepoint `category`:`name` (see /sys/kernel/tracing/events/); needs tracefs.
    Link& attach_tracepoint(const std::string& category, const std::string& name);

    /// Attaches to raw tracepoint `name` (e.g. "sys_enter"); the program gets the raw arguments.
    Link& attach_raw_tracepoint(const std::string& name);

    /// Attaches to the entry of kernel function `function` (libbpfgo's AttachKprobe).
    Link& attach_kprobe(const std::string& function);
    /// attach_kprobe() with a cookie or an offset.
    Link& attach_kprobe(const std::string& function, const KprobeOptions& o);
    /// Attaches to the return of kernel function `function` (libbpfgo's AttachKretprobe).
    Link& attach_kretprobe(const std::string& function);
    /// attach_kretprobe() with a cookie or an offset.
    Link& attach_kretprobe(const std::string& function, const KprobeOptions& o);

    /// Attaches a kprobe (or with `retprobe`, a kretprobe) at the absolute kernel address
    /// `address`, e.g. one read from /proc/kallsyms (libbpfgo's AttachKprobeOffset /
    /// AttachKretprobeOnOffset). Prefer attach_kprobe(symbol, {.offset = n}): an address
    /// is only valid for the running kernel's boot (KASLR).
    Link& attach_kprobe_at(std::uint64_t address, const KprobeAtOptions& o);
    /// attach_kprobe_at() with positional arguments (kept for existing callers; prefer
    /// the options form, where `{.retprobe = true}` says what `true` means).
    Link& attach_kprobe_at(std::uint64_t address, bool retprobe = false, std::uint64_t cookie = 0);

    /// Attaches to `symbol` (a function name of `binary`) in process `pid` (-1: every
    /// process, 0: this one).
    Link& attach_uprobe(pid_t pid, const std::string& binary, const std::string& symbol);
    /// attach_uprobe() by symbol with a cookie or a semaphore offset.
    Link& attach_uprobe(pid_t pid, const std::string& binary, const std::string& symbol, const UprobeOptions& o);
    /// Attaches at a file offset of `binary` (libbpfgo's AttachUprobe(pid, path, offset)).
    Link& attach_uprobe(pid_t pid, const std::string& binary, std::uint64_t offset);
    /// attach_uprobe() by offset with a cookie or a semaphore offset.
    Link& attach_uprobe(pid_t pid, const std::string& binary, std::uint64_t offset, const UprobeOptions& o);
    /// Attaches to the return of `symbol` of `binary` in process `pid` (-1: every process).
    Link& attach_uretprobe(pid_t pid, const std::string& binary, const std::string& symbol);
    /// attach_uretprobe() by symbol with a cookie or a semaphore offset.
    Link& attach_uretprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                           const UprobeOptions& o);
    /// Attaches to the return of the function at file offset `offset` of `binary`.
    Link& attach_uretprobe(pid_t pid, const std::string& binary, std::uint64_t offset);
    /// attach_uretprobe() by offset with a cookie or a semaphore offset.
    Link& attach_uretprobe(pid_t pid, const std::string& binary, std::uint64_t offset, const UprobeOptions& o);

    /// Attaches to an opened perf event; the link takes ownership of `perf_fd`.
    Link& attach_perf_event(int perf_fd);

    /// Records a link made elsewhere (raw libbpf call) so the Module owns it.
    Link& adopt(bpf_link* link, std::string description);

    // ---- parity: more attach kinds, pinning, test runs ---------------------------------
    /// Attaches an XDP program to interface `ifindex` through a bpf_link (kernel >= 5.9).
    Link& attach_xdp(int ifindex);
    /// Attaches an XDP program to the interface called `ifname` (libbpfgo's AttachXDP).
    Link& attach_xdp(const std::string& ifname);

    /// Attaches an XDP program the legacy way (netlink, no bpf_link), with XDP_FLAGS_*;
    /// works on kernels before 5.9 and lets the mode be chosen. Undone when the Module
    /// goes, or with LegacyAttachment::detach().
    LegacyAttachment& attach_xdp_legacy(const std::string& ifname, XdpFlag flags = XdpFlag{});
    /// attach_xdp_legacy() by interface index.
    LegacyAttachment& attach_xdp_legacy(int ifindex, XdpFlag flags = XdpFlag{});

    /// Detaches the XDP program running on `ifname` in the mode of `flags` (libbpfgo's
    /// DetachXDPLegacy). With XdpFlag::Replace it detaches only if that program is this
    /// one (libbpf's XDP_FLAGS_REPLACE with this program as the expected old one) and
    /// throws EEXIST when another program is attached; without it, it detaches whatever
    /// runs there, e.g. one attached by another process. Own attachments are better undone
    /// with LegacyAttachment::detach().
    ///
    /// ```cpp
    /// mod.program("xdp_pass").detach_xdp_legacy("eth0", bpf::XdpFlag::SkbMode | bpf::XdpFlag::Replace);
    /// ```
    void detach_xdp_legacy(const std::string& ifname, XdpFlag flags = XdpFlag{});

    /// Attaches a cgroup program to the cgroup v2 directory `path` through a bpf_link.
    Link& attach_cgroup(const std::string& path);

    /// Attaches a cgroup program with BPF_PROG_ATTACH (no link; the way of kernels before
    /// 5.7), with `flags` such as AttachFlag::AllowMulti. Undone when the Module goes.
    LegacyAttachment& attach_cgroup_legacy(const std::string& path, bpf_attach_type type,
                                           AttachFlag flags = AttachFlag{});

    /// Detaches this program from the cgroup `path` at `type` (libbpfgo's
    /// DetachCgroupLegacy), for attachments made elsewhere.
    void detach_cgroup_legacy(const std::string& path, bpf_attach_type type);

    /// Attaches a flow_dissector or sk_lookup program to the network namespace at `path`
    /// (e.g. "/proc/self/ns/net").
    Link& attach_netns(const std::string& path);

    /// Attaches an iterator program; read its output with bpf::IterReader (iter.hpp).
    Link& attach_iter();
    /// attach_iter() on the map, cgroup or task of `o`.
    Link& attach_iter(const IterOptions& o);

    /// Attaches an LSM program (SEC("lsm/...")); needs CONFIG_BPF_LSM and "bpf" in the
    /// kernel's lsm= list.
    Link& attach_lsm();

    /// Attaches a BTF-typed tracing program: fentry/fexit/fmod_ret/tp_btf (target from
    /// its section or from set_attach_target()). `cookie` is read with bpf_get_attach_cookie().
    Link& attach_trace(std::uint64_t cookie = 0);

    /// Attaches to USDT probe `provider`:`probe` of `binary` in process `pid` (-1: all),
    /// e.g. a DTRACE_PROBE of <sys/sdt.h>; the program reads arguments with bpf_usdt_arg().
    Link& attach_usdt(pid_t pid, const std::string& binary, const std::string& provider,
                      const std::string& probe, const UsdtOptions& o);
    /// attach_usdt() with the cookie positional (kept for existing callers).
    Link& attach_usdt(pid_t pid, const std::string& binary, const std::string& provider,
                      const std::string& probe, std::uint64_t cookie = 0);

    /// Attaches one uprobe program to every function of `binary` matching `pattern`
    /// (glob), in one kernel link. Needs libbpf >= 1.3 at build time and kernel >= 6.6.
    Link& attach_uprobe_multi(pid_t pid, const std::string& binary, const std::string& pattern,
                              const UprobeMultiOptions& o);
    /// attach_uprobe_multi() with `retprobe` positional (kept for existing callers).
    Link& attach_uprobe_multi(pid_t pid, const std::string& binary, const std::string& pattern,
                              bool retprobe = false);

    /// Attaches one uprobe program at several file offsets of `binary`, each with its
    /// cookie (`cookies` empty or as long as `offsets`), in one kernel link (libbpfgo's
    /// AttachUprobeMulti). Needs libbpf >= 1.3 at build time and kernel >= 6.6.
    Link& attach_uprobe_multi(pid_t pid, const std::string& binary, std::span<const std::uint64_t> offsets,
                              std::span<const std::uint64_t> cookies, const UprobeMultiOptions& o);
    /// The same with `retprobe` positional (kept for existing callers).
    Link& attach_uprobe_multi(pid_t pid, const std::string& binary, std::span<const std::uint64_t> offsets,
                              std::span<const std::uint64_t> cookies = {}, bool retprobe = false);

    // ---- attach kinds of libbpf 1.3+ (tcx, netkit, netfilter) and kprobe_multi --------
    /// Attaches a sched_cls program to interface `ifname` through a tcx link (kernel >=
    /// 6.6, libbpf >= 1.3), on the side its attach type says: SEC("tcx/ingress") or
    /// SEC("tcx/egress"), or a SEC("tc") program given
    /// set_expected_attach_type(bpf::tcx_attach_type(dir)) before load. No qdisc is made;
    /// the link's destruction detaches it.
    Link& attach_tcx(const std::string& ifname);
    /// attach_tcx() in a chosen order or at an expected revision.
    Link& attach_tcx(const std::string& ifname, const TcxOptions& o);
    /// attach_tcx() by interface index.
    Link& attach_tcx(int ifindex);
    /// attach_tcx() by interface index, with options.
    Link& attach_tcx(int ifindex, const TcxOptions& o) { return attach_tcx(ifindex, o, {}); }

    /// Attaches a sched_cls program as a direct-action filter on a clsact qdisc of
    /// `ifname` (made if missing), the way before tcx (any kernel, any libbpf; no link).
    /// The Module undoes it: the filter goes, and the qdisc too when this call made it.
    /// Several programs at one hook are better served by attach_tcx() where it exists;
    /// bpf::TcHook gives handle, priority and query.
    LegacyAttachment& attach_clsact(const std::string& ifname, TcxDirection dir);

    /// Attaches a sched_cls program to the netkit pair whose primary device is `ifname`
    /// (kernel >= 6.7, libbpf >= 1.3), on the side its attach type says:
    /// SEC("netkit/primary") or SEC("netkit/peer"), or a SEC("tc") program given
    /// set_expected_attach_type(bpf::netkit_attach_type(side)) before load. The program
    /// returns NETKIT_PASS (0), NETKIT_DROP (2), NETKIT_REDIRECT (7) or NETKIT_NEXT (-1).
    Link& attach_netkit(const std::string& ifname);
    /// attach_netkit() in a chosen order or at an expected revision.
    Link& attach_netkit(const std::string& ifname, const NetkitOptions& o);
    /// attach_netkit() by the primary device's index.
    Link& attach_netkit(int ifindex);
    /// attach_netkit() by the primary device's index, with options.
    Link& attach_netkit(int ifindex, const NetkitOptions& o) { return attach_netkit(ifindex, o, {}); }

    /// Attaches a SEC("netfilter") program as a netfilter hook (kernel >= 6.4, libbpf >= 1.3).
    Link& attach_netfilter(const NetfilterOptions& o);

    /// Attaches a kprobe program to every kernel function matching the glob `pattern`
    /// (e.g. "tcp_v*_connect") in one link (kernel >= 5.18, CONFIG_FPROBE).
    Link& attach_kprobe_multi(const std::string& pattern, bool retprobe = false);
    /// attach_kprobe_multi() by glob with options (`retprobe`, `session`; `symbols` and
    /// `cookies` stay empty).
    Link& attach_kprobe_multi(const std::string& pattern, const KprobeMultiOptions& o) {
        return kprobe_multi(&pattern, o);
    }
    /// Attaches a kprobe program to the kernel functions `o.symbols`, each with its
    /// cookie, in one link (kernel >= 5.18, CONFIG_FPROBE); `o.session` makes it a kprobe
    /// session (kernel >= 6.10, libbpf >= 1.5).
    Link& attach_kprobe_multi(const KprobeMultiOptions& o) { return kprobe_multi(nullptr, o); }

    /// BPF_PROG_ATTACH to an arbitrary fd (e.g. a sockmap for sk_msg/sk_skb programs);
    /// no link: undo it with detach_generic_fd().
    void attach_generic_fd(int target_fd, bpf_attach_type type, AttachFlag flags = AttachFlag{});
    /// Undoes attach_generic_fd() (BPF_PROG_DETACH).
    void detach_generic_fd(int target_fd, bpf_attach_type type);

    /// Pins the loaded program at `path` (on a bpffs).
    void pin(const std::string& path);
    /// Removes the pin at `path`.
    void unpin(const std::string& path);

    /// Runs the loaded program once (or `repeat` times) on the given input in the kernel
    /// (BPF_PROG_TEST_RUN) and returns what it produced (libbpfgo's Run).
    TestRunResult test_run(const TestRunOptions& o) const;
    /// The same with every option at its default: one plain run, no data or context.
    TestRunResult test_run() const;

private:
    static constexpr int ENOTSUPP_ = 524;  // the kernel's internal ENOTSUPP, not in libc

    [[noreturn]] void uprobe_multi_unavailable(const std::string& what, std::string_view unit) const;

    Link& attach_tcx(int ifindex, const TcxOptions& o, const std::string& ifname);

    Link& attach_netkit(int ifindex, const NetkitOptions& o, const std::string& ifname);

    // tcx and netkit alike (mprog.hpp): the family's link at `ifindex` in `order`, with the
    // causes of a refusal that errno alone hides.
    Link& attach_mprog(const detail::MprogFamily& family, int ifindex, const AttachOrder& order,
                       std::uint64_t expected_revision, const std::string& ifname);

    Link& kprobe_multi(const std::string* pattern, const KprobeMultiOptions& o);

    detail::Fd open_path(const std::string& path, int flags, std::string_view kind) const;

    void require_fd(const std::string& what) const;

    LegacyAttachment& keep_legacy(const std::string& what, std::function<int()> undo);

    Link& kprobe(const std::string& function, const KprobeOptions& o, bool ret);

    Link& uprobe(pid_t pid, const std::string& binary, const std::string& symbol, std::uint64_t offset,
                 const UprobeOptions& o, bool ret);

    // Why a uprobe or USDT attach to `binary` in `pid` failed, when errno tells more than
    // its generic text: a process that is gone, a file that is not ELF, a missing probe.
    [[nodiscard]] static std::optional<std::string> user_target_cause(int err, pid_t pid, const std::string& binary,
                                                                      bool usdt);

    // `by_section`: attach() by the SEC() name, where EOPNOTSUPP/ESRCH are libbpf's way of
    // saying the section names no target; for an explicit target they mean other things.
    Link& keep(bpf_link* link, int err, const std::string& what, bool by_section = false);

    void check_config(int ret, std::string_view what);

    // Every attach failure: "attaching program 'NAME': CAUSE", with what was missing when
    // that is the cause.
    [[noreturn, gnu::cold]] void attach_failed(int err, const std::string& cause) const;
    [[noreturn, gnu::cold]] void attach_failed(int err, const std::string& cause, Missing missing) const;

    bpf_program* prog_;
    detail::ModuleState* mod_;
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void Link::update_program(const Prog& prog) { update_program(prog.get()); }

LIBBPFCPP_INLINE bool Prog::section_names_attach_point() const noexcept {
    const std::string_view sec = section();
    const std::string_view kind = sec.substr(0, sec.find('/'));
    const bool has_target = kind.size() + 1 < sec.size();
    for (std::string_view btf_kind : {"fentry", "fexit", "fmod_ret", "fentry.s", "fexit.s", "fmod_ret.s",
                                      "tp_btf", "lsm", "lsm.s", "freplace"})
        if (kind == btf_kind) return true;
    for (std::string_view k : {"kprobe", "kretprobe", "kprobe.multi", "kretprobe.multi", "ksyscall",
                               "kretsyscall", "uprobe", "uretprobe", "uprobe.s", "uretprobe.s", "uprobe.multi",
                               "uretprobe.multi", "uprobe.multi.s", "uretprobe.multi.s", "usdt", "usdt.s",
                               "tracepoint", "tp", "raw_tracepoint", "raw_tp", "raw_tracepoint.w", "raw_tp.w",
                               "iter", "iter.s"})
        if (kind == k) return has_target;
    return false;
}

LIBBPFCPP_INLINE void Prog::set_attach_target(const std::string& function, int target_fd) {
    check_config(bpf_program__set_attach_target(prog_, target_fd, function.c_str()),
                 "setting the attach target of");
}

LIBBPFCPP_INLINE Link& Prog::attach() {
    const detail::QuietLog quiet;
    // Tracepoint and kprobe sections go through the explicit calls for their diagnostics.
    const std::string sec(section());
    for (std::string_view prefix : {"tracepoint/", "tp/"}) {
        if (sec.rfind(prefix, 0) != 0) continue;
        const auto slash = sec.find('/', prefix.size());
        if (slash != std::string::npos)
            return attach_tracepoint(sec.substr(prefix.size(), slash - prefix.size()), sec.substr(slash + 1));
    }
    for (std::string_view prefix : {"kprobe/", "kretprobe/", "ksyscall/", "kretsyscall/"}) {
        if (sec.rfind(prefix, 0) == 0 && !detail::kernel_has_kprobes())
            attach_failed(EOPNOTSUPP, "section '" + sec + "': " + std::string(detail::kprobes_hint),
                          detail::missing_kprobes());
    }
    bpf_link* l = bpf_program__attach(prog_);
    int err = errno;
    return keep(l, err, "by section '" + std::string(section()) + "'", true);
}

LIBBPFCPP_INLINE Link& Prog::attach_perf_event(int perf_fd) {
    const detail::QuietLog quiet;
    bpf_link* l = bpf_program__attach_perf_event(prog_, perf_fd);
    int err = errno;
    return keep(l, err, "perf event fd " + std::to_string(perf_fd));
}

LIBBPFCPP_INLINE Link& Prog::adopt(bpf_link* link, std::string description) {
    return mod_->keep(link, std::move(description) + " (prog '" + std::string(name()) + "')");
}

LIBBPFCPP_INLINE void Prog::pin(const std::string& path) {
    detail::require_bpffs(path, "pinning program", name());
    if (int err = bpf_program__pin(prog_, path.c_str()); err != 0)
        detail::throw_errno(detail::positive_errno(err), "pinning program", name(), "at '" + path + "'");
}

LIBBPFCPP_INLINE void Prog::unpin(const std::string& path) {
    if (int err = bpf_program__unpin(prog_, path.c_str()); err != 0)
        detail::throw_errno(detail::positive_errno(err), "unpinning program", name(), "at '" + path + "'");
}

LIBBPFCPP_INLINE void Prog::attach_failed(int err, const std::string& cause) const {
    throw Error(err, detail::describe("attaching program", name(), cause));
}

LIBBPFCPP_INLINE void Prog::attach_failed(int err, const std::string& cause, Missing missing) const {
    throw Error(err, detail::describe("attaching program", name(), cause), std::move(missing));
}

LIBBPFCPP_INLINE detail::Fd Prog::open_path(const std::string& path, int flags, std::string_view kind) const {
    int f = ::open(path.c_str(), flags | O_CLOEXEC);
    if (f < 0)
        attach_failed(errno, "cannot open " + std::string(kind) + " '" + path + "': " +
                      std::strerror(errno));
    return detail::Fd(f);
}

LIBBPFCPP_INLINE void Prog::require_fd(const std::string& what) const {
    if (fd() < 0)
        attach_failed(EBADF, what + ": the program is not loaded (call Module::load() first, "
                      "and check its autoload)");
}

LIBBPFCPP_INLINE LegacyAttachment& Prog::keep_legacy(const std::string& what, std::function<int()> undo) {
    auto a = std::make_unique<LegacyAttachment>(what + " (prog '" + std::string(name()) + "')", std::move(undo));
    LegacyAttachment& ref = *a;
    mod_->resources.push_back(std::move(a));
    return ref;
}

LIBBPFCPP_INLINE Link& Prog::keep(bpf_link* link, int err, const std::string& what, bool by_section) {
    if (link == nullptr) {
        if (err == 0) err = EINVAL;
        attach_failed(err, detail::cat({what, ": ",
                                        fd() < 0 ? "the program is not loaded (call Module::load() first, and check "
                                                   "its autoload)"
                                        : by_section && (err == EOPNOTSUPP || err == ESRCH)
                                            ? "this program's section does not say where to attach; use an "
                                              "explicit attach_*"
                                            : detail::explain_errno(err)}));
    }
    return mod_->keep(link, detail::cat({what, " (prog '", name(), "')"}));
}

LIBBPFCPP_INLINE void Prog::check_config(int ret, std::string_view what) {
    if (ret == 0) return;
    int err = detail::positive_errno(ret);
    std::string cause = err == EBUSY ? "the object is already loaded; configure programs before Module::load()"
                                     : detail::explain_errno(err);
    throw Error(err, detail::describe(std::string(what) + " program", std::string(name()), cause));
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
