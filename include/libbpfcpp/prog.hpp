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
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/fd.hpp"
#include "detail/module_state.hpp"
#include "detail/needs_libbpf.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"
#include "link.hpp"
#include "log.hpp"
#include "kprobe_multi.hpp"
#include "netfilter.hpp"
#include "netkit.hpp"
#include "tcx.hpp"
#include "version.hpp"

namespace bpf {

/// Options of Prog::attach_kprobe / attach_kretprobe.
///
/// ```cpp
/// bpf::KprobeOptions o;
/// o.cookie = 42;   // bpf_get_attach_cookie(ctx) returns 42 in the program
/// mod.program("kp").attach_kprobe("tcp_v4_connect", o);
/// ```
struct KprobeOptions {
    std::uint64_t offset = 0;  ///< offset inside the function
    std::uint64_t cookie = 0;  ///< read by the program with bpf_get_attach_cookie()
};

/// Options of Prog::attach_uprobe / attach_uretprobe.
///
/// ```cpp
/// bpf::UprobeOptions o;
/// o.cookie = 7;
/// mod.program("up").attach_uprobe(-1, "/usr/bin/bash", "readline", o);
/// ```
struct UprobeOptions {
    std::uint64_t cookie = 0;          ///< read with bpf_get_attach_cookie()
    std::uint64_t ref_ctr_offset = 0;  ///< USDT-style semaphore offset, if any
};

// ---- parity: options and results of the attach kinds below ----------------------------

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

/// Flags of the program-attach API (cgroup legacy attach, attach_generic_fd).
///
/// ```cpp
/// mod.program("egress").attach_cgroup_legacy("/sys/fs/cgroup/app", BPF_CGROUP_INET_EGRESS,
///                                           bpf::AttachFlag::AllowMulti);
/// ```
enum class AttachFlag : std::uint32_t {
    None = 0,
    AllowOverride = BPF_F_ALLOW_OVERRIDE,  ///< a descendant cgroup may override this program
    AllowMulti = BPF_F_ALLOW_MULTI,        ///< several programs at this hook, all run
    Replace = BPF_F_REPLACE,               ///< replace the program given in the options
};
constexpr AttachFlag operator|(AttachFlag a, AttachFlag b) noexcept {
    return static_cast<AttachFlag>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}

/// What an iterator program walks (Prog::attach_iter). Zero fields mean "all".
///
/// ```cpp
/// bpf::IterOptions o;
/// o.pid = static_cast<std::uint32_t>(getpid());   // only this process's tasks
/// bpf::IterReader r(mod.program("dump_task").attach_iter(o));
/// ```
struct IterOptions {
    int map_fd = -1;                                          ///< for iter/bpf_map_elem and friends
    int cgroup_fd = -1;                                       ///< for iter/cgroup
    std::uint64_t cgroup_id = 0;                              ///< for iter/cgroup, instead of cgroup_fd
    bpf_cgroup_iter_order cgroup_order = BPF_CGROUP_ITER_ORDER_UNSPEC;  ///< walk order of iter/cgroup
    std::uint32_t tid = 0;     ///< iter/task*: only this thread
    std::uint32_t pid = 0;     ///< iter/task*: only this process
    int pid_fd = -1;           ///< iter/task*: the process behind this pidfd
};

/// Input of Prog::test_run (BPF_PROG_TEST_RUN). Every field is optional.
///
/// ```cpp
/// bpf::TestRunOptions o;
/// o.data_in = packet_bytes;  o.data_out_size = 1500;  o.repeat = 100;
/// auto r = mod.program("xdp_count").test_run(o);
/// if (r.retval == XDP_PASS) use(r.data_out, r.duration);
/// ```
struct TestRunOptions {
    std::span<const std::byte> data_in;  ///< packet (skb/xdp programs)
    std::size_t data_out_size = 0;       ///< room for the packet after the run (0: do not return it)
    std::span<const std::byte> ctx_in;   ///< context (e.g. struct xdp_md, __sk_buff, raw_tp args)
    std::size_t ctx_out_size = 0;        ///< room for the context after the run
    int repeat = 0;                      ///< run this many times (0 and 1 both run once)
    std::uint32_t flags = 0;             ///< BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES, ...
    std::uint32_t cpu = 0;               ///< with BPF_F_TEST_RUN_ON_CPU: where to run
    std::uint32_t batch_size = 0;        ///< with BPF_F_TEST_XDP_LIVE_FRAMES
};

/// Output of Prog::test_run.
///
/// ```cpp
/// auto r = mod.program("xdp_drop_udp").test_run({.data_in = packet});
/// if (r.retval == XDP_DROP) report(r.duration);
/// ```
struct TestRunResult {
    std::uint32_t retval = 0;              ///< the program's return value
    std::uint32_t duration = 0;            ///< mean run time per repetition, in ns
    std::vector<std::byte> data_out;       ///< the packet after the run (resized to its length)
    std::vector<std::byte> ctx_out;        ///< the context after the run
};

/// An attachment made without a bpf_link (legacy XDP over netlink, cgroup
/// BPF_PROG_ATTACH). The Module owns it like a Link: it is undone when the Module is
/// destroyed, or earlier with detach().
///
/// ```cpp
/// auto& a = mod.program("xdp_pass").attach_xdp_legacy("veth0");
/// a.detach();   // or leave it to the Module
/// ```
class LegacyAttachment : public detail::Resource {
public:
    /// An attachment described by `description`, undone by calling `undo` (returns 0 or -errno).
    LegacyAttachment(std::string description, std::function<int()> undo)
        : description_(std::move(description)), undo_(std::move(undo)) {}
    LegacyAttachment(const LegacyAttachment&) = delete;
    LegacyAttachment& operator=(const LegacyAttachment&) = delete;
    ~LegacyAttachment() override {
        if (undo_) undo_();
    }

    /// Undoes the attachment now; throws when the kernel refuses.
    void detach() {
        if (!undo_) return;
        int ret = std::exchange(undo_, nullptr)();
        if (ret < 0) detail::throw_errno(-ret, "detaching", description_);
    }
    /// True until detach() (or the destructor) undid it.
    [[nodiscard]] bool attached() const noexcept { return static_cast<bool>(undo_); }
    /// What is attached where, e.g. "xdp (legacy) on ifindex 3".
    [[nodiscard]] const std::string& description() const noexcept { return description_; }

private:
    std::string description_;
    std::function<int()> undo_;
};

/// A program of a Module. Cheap to copy; valid while its Module lives. Every attach_*
/// returns a reference to a Link the Module owns: ignore it and the program stays
/// attached until the Module is destroyed, or keep it to destroy/pin it early.
///
/// ```cpp
/// auto prog = mod.program("on_exec");
/// prog.attach_tracepoint("sched", "sched_process_exec");
/// mod.program("on_ret").attach_uretprobe(-1, "/usr/bin/bash", "readline");
/// ```
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
    Link& attach_kprobe(const std::string& function, const KprobeOptions& o = {});
    /// Attaches to the return of kernel function `function` (libbpfgo's AttachKretprobe).
    Link& attach_kretprobe(const std::string& function, const KprobeOptions& o = {});

    /// Attaches a kprobe (or with `retprobe`, a kretprobe) at the absolute kernel address
    /// `address`, e.g. one read from /proc/kallsyms (libbpfgo's AttachKprobeOffset /
    /// AttachKretprobeOnOffset). Prefer attach_kprobe(symbol, {.offset = n}): an address
    /// is only valid for the running kernel's boot (KASLR).
    Link& attach_kprobe_at(std::uint64_t address, bool retprobe = false, std::uint64_t cookie = 0);

    /// Attaches to `symbol` (a function name of `binary`) in process `pid` (-1: every
    /// process, 0: this one).
    Link& attach_uprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                        const UprobeOptions& o = {});
    /// Attaches at a file offset of `binary` (libbpfgo's AttachUprobe(pid, path, offset)).
    Link& attach_uprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                        const UprobeOptions& o = {});
    /// Attaches to the return of `symbol` of `binary` in process `pid` (-1: every process).
    Link& attach_uretprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                           const UprobeOptions& o = {});
    /// Attaches to the return of the function at file offset `offset` of `binary`.
    Link& attach_uretprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                           const UprobeOptions& o = {});

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
    LegacyAttachment& attach_xdp_legacy(const std::string& ifname, XdpFlag flags = XdpFlag::None);
    /// attach_xdp_legacy() by interface index.
    LegacyAttachment& attach_xdp_legacy(int ifindex, XdpFlag flags = XdpFlag::None);

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
    void detach_xdp_legacy(const std::string& ifname, XdpFlag flags = XdpFlag::None);

    /// Attaches a cgroup program to the cgroup v2 directory `path` through a bpf_link.
    Link& attach_cgroup(const std::string& path);

    /// Attaches a cgroup program with BPF_PROG_ATTACH (no link; the way of kernels before
    /// 5.7), with `flags` such as AttachFlag::AllowMulti. Undone when the Module goes.
    LegacyAttachment& attach_cgroup_legacy(const std::string& path, bpf_attach_type type,
                                           AttachFlag flags = AttachFlag::None);

    /// Detaches this program from the cgroup `path` at `type` (libbpfgo's
    /// DetachCgroupLegacy), for attachments made elsewhere.
    void detach_cgroup_legacy(const std::string& path, bpf_attach_type type);

    /// Attaches a flow_dissector or sk_lookup program to the network namespace at `path`
    /// (e.g. "/proc/self/ns/net").
    Link& attach_netns(const std::string& path);

    /// Attaches an iterator program; read its output with bpf::IterReader (iter.hpp).
    Link& attach_iter(const IterOptions& o = {});

    /// Attaches an LSM program (SEC("lsm/...")); needs CONFIG_BPF_LSM and "bpf" in the
    /// kernel's lsm= list.
    Link& attach_lsm();

    /// Attaches a BTF-typed tracing program: fentry/fexit/fmod_ret/tp_btf (target from
    /// its section or from set_attach_target()). `cookie` is read with bpf_get_attach_cookie().
    Link& attach_trace(std::uint64_t cookie = 0);

    /// Attaches to USDT probe `provider`:`probe` of `binary` in process `pid` (-1: all),
    /// e.g. a DTRACE_PROBE of <sys/sdt.h>; the program reads arguments with bpf_usdt_arg().
    Link& attach_usdt(pid_t pid, const std::string& binary, const std::string& provider,
                      const std::string& probe, std::uint64_t cookie = 0);

    /// Attaches one uprobe program to every function of `binary` matching `pattern`
    /// (glob), in one kernel link. Needs libbpf >= 1.3 at build time and kernel >= 6.6.
    Link& attach_uprobe_multi(pid_t pid, const std::string& binary, const std::string& pattern,
                              bool retprobe = false);

    /// Attaches one uprobe program at several file offsets of `binary`, each with its
    /// cookie (`cookies` empty or as long as `offsets`), in one kernel link (libbpfgo's
    /// AttachUprobeMulti). Needs libbpf >= 1.3 at build time and kernel >= 6.6.
    Link& attach_uprobe_multi(pid_t pid, const std::string& binary, std::span<const std::uint64_t> offsets,
                              std::span<const std::uint64_t> cookies = {}, bool retprobe = false);

    // ---- attach kinds of libbpf 1.3+ (tcx, netkit, netfilter) and kprobe_multi --------
    /// Attaches a sched_cls program to interface `ifname` through a tcx link (kernel >=
    /// 6.6, libbpf >= 1.3), on the side its attach type says: SEC("tcx/ingress") or
    /// SEC("tcx/egress"), or a SEC("tc") program given
    /// set_expected_attach_type(bpf::tcx_attach_type(dir)) before load. No qdisc is made;
    /// the link's destruction detaches it.
    Link& attach_tcx(const std::string& ifname, const TcxOptions& o = {});
    /// attach_tcx() by interface index.
    Link& attach_tcx(int ifindex, const TcxOptions& o = {}) { return attach_tcx(ifindex, o, {}); }

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
    Link& attach_netkit(const std::string& ifname, const NetkitOptions& o = {});
    /// attach_netkit() by the primary device's index.
    Link& attach_netkit(int ifindex, const NetkitOptions& o = {}) { return attach_netkit(ifindex, o, {}); }

    /// Attaches a SEC("netfilter") program as a netfilter hook (kernel >= 6.4, libbpf >= 1.3).
    Link& attach_netfilter(const NetfilterOptions& o);

    /// Attaches a kprobe program to every kernel function matching the glob `pattern`
    /// (e.g. "tcp_v*_connect") in one link (kernel >= 5.18, CONFIG_FPROBE).
    Link& attach_kprobe_multi(const std::string& pattern, bool retprobe = false);
    /// Attaches a kprobe program to the kernel functions `o.symbols`, each with its
    /// cookie, in one link (kernel >= 5.18, CONFIG_FPROBE); `o.session` makes it a kprobe
    /// session (kernel >= 6.10, libbpf >= 1.5).
    Link& attach_kprobe_multi(const KprobeMultiOptions& o) { return kprobe_multi(nullptr, o); }

    /// BPF_PROG_ATTACH to an arbitrary fd (e.g. a sockmap for sk_msg/sk_skb programs);
    /// no link: undo it with detach_generic_fd().
    void attach_generic_fd(int target_fd, bpf_attach_type type, AttachFlag flags = AttachFlag::None);
    /// Undoes attach_generic_fd() (BPF_PROG_DETACH).
    void detach_generic_fd(int target_fd, bpf_attach_type type);

    /// Pins the loaded program at `path` (on a bpffs).
    void pin(const std::string& path);
    /// Removes the pin at `path`.
    void unpin(const std::string& path);

    /// Runs the loaded program once (or `repeat` times) on the given input in the kernel
    /// (BPF_PROG_TEST_RUN) and returns what it produced (libbpfgo's Run).
    TestRunResult test_run(const TestRunOptions& o = {}) const;

private:
    static constexpr int ENOTSUPP_ = 524;  // the kernel's internal ENOTSUPP, not in libc

    [[noreturn]] void uprobe_multi_unavailable(const std::string& what, std::string_view unit) const;

    Link& attach_tcx(int ifindex, const TcxOptions& o, const std::string& ifname);

    Link& attach_netkit(int ifindex, const NetkitOptions& o, const std::string& ifname);

    // The causes of a refused multi-program (tcx, netkit) attach that errno alone hides.
    void mprog_refusal(int err, const std::string& what, std::uint64_t revision, std::string_view needs) const;

    Link& kprobe_multi(const std::string* pattern, const KprobeMultiOptions& o);

    static int ifindex_of(const std::string& ifname, std::string_view op);

    detail::Fd open_path(const std::string& path, int flags, std::string_view kind) const;

    void require_fd(const std::string& what) const;

    LegacyAttachment& keep_legacy(const std::string& what, std::function<int()> undo);

    Link& kprobe(const std::string& function, const KprobeOptions& o, bool ret);

    Link& uprobe(pid_t pid, const std::string& binary, const std::string& symbol, std::uint64_t offset,
                 const UprobeOptions& o, bool ret);

    // `by_section`: attach() by the SEC() name, where EOPNOTSUPP/ESRCH are libbpf's way of
    // saying the section names no target; for an explicit target they mean other things.
    // Why a uprobe or USDT attach to `binary` in `pid` failed, when errno tells more than
    // its generic text: a process that is gone, a file that is not ELF, a missing probe.
    [[nodiscard]] static std::optional<std::string> user_target_cause(int err, pid_t pid, const std::string& binary,
                                                                      bool usdt);

    Link& keep(bpf_link* link, int err, const std::string& what, bool by_section = false);

    void check_config(int ret, std::string_view what);

    // Every attach failure: "attaching program 'NAME': CAUSE", with what was missing when
    // that is the cause.
    [[noreturn]] void attach_failed(int err, const std::string& cause) const;
    [[noreturn]] void attach_failed(int err, const std::string& cause, Missing missing) const;

    bpf_program* prog_;
    detail::ModuleState* mod_;
};

/// Replaces the program of this link by `prog` (bpf_link__update_program).

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void Link::update_program(const Prog& prog) {
    require("updating the program of link");
    if (prog.fd() < 0)
        throw Error(EBADF, detail::describe("updating the program of link", description_,
                                            "program '" + std::string(prog.name()) + "' is not loaded"));
    if (int err = bpf_link__update_program(link_, prog.get()); err != 0) {
        const int e = detail::positive_errno(err);
        detail::throw_errno(e, "updating the program of link", description_,
                            "to program '" + std::string(prog.name()) + "': " +
                                (e == EINVAL ? std::string("the kernel cannot update this kind of link, or the "
                                                           "program's type or attach type differs")
                                             : detail::explain_errno(e)));
    }
}

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

LIBBPFCPP_INLINE Link& Prog::attach_tracepoint(const std::string& category, const std::string& name) {
    const detail::QuietLog quiet;
    std::string what = "tracepoint " + category + ":" + name;
    if (detail::tracefs_root() == nullptr)
        attach_failed(ENOENT, what + ": " + std::string(detail::tracefs_hint));
    bpf_link* l = bpf_program__attach_tracepoint(prog_, category.c_str(), name.c_str());
    int err = errno;
    if (l == nullptr && err == ENOENT && fd() >= 0)
        attach_failed(ENOENT, what + " does not exist in this kernel (see " +
                      detail::tracefs_root() + "/events/)");
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::attach_raw_tracepoint(const std::string& name) {
    const detail::QuietLog quiet;
    bpf_link* l = bpf_program__attach_raw_tracepoint(prog_, name.c_str());
    int err = errno;
    return keep(l, err, "raw tracepoint " + name);
}

LIBBPFCPP_INLINE Link& Prog::attach_kprobe(const std::string& function, const KprobeOptions& o) {
    return kprobe(function, o, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_kretprobe(const std::string& function, const KprobeOptions& o) {
    return kprobe(function, o, true);
}

LIBBPFCPP_INLINE Link& Prog::attach_kprobe_at(std::uint64_t address, bool retprobe, std::uint64_t cookie) {
    const detail::QuietLog quiet;
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(address));
    const std::string what = std::string(retprobe ? "kretprobe at " : "kprobe at ") + hex;
    if (!detail::kernel_has_kprobes())
        attach_failed(EOPNOTSUPP, what + ": " + std::string(detail::kprobes_hint), detail::missing_kprobes());
    if (address == 0)
        attach_failed(EINVAL, what + ": address 0 (/proc/kallsyms shows zeros without "
                      "CAP_SYSLOG or with kernel.kptr_restrict=2)");
    LIBBPF_OPTS(bpf_kprobe_opts, opts, .bpf_cookie = cookie, .offset = address, .retprobe = retprobe);
    bpf_link* l = bpf_program__attach_kprobe_opts(prog_, nullptr, &opts);
    int err = errno;
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                                           const UprobeOptions& o) {
    return uprobe(pid, binary, symbol, 0, o, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                                           const UprobeOptions& o) {
    return uprobe(pid, binary, {}, offset, o, false);
}

LIBBPFCPP_INLINE Link& Prog::attach_uretprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                                              const UprobeOptions& o) {
    return uprobe(pid, binary, symbol, 0, o, true);
}

LIBBPFCPP_INLINE Link& Prog::attach_uretprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                                              const UprobeOptions& o) {
    return uprobe(pid, binary, {}, offset, o, true);
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

LIBBPFCPP_INLINE Link& Prog::attach_xdp(int ifindex) {
    const detail::QuietLog quiet;
    bpf_link* l = bpf_program__attach_xdp(prog_, ifindex);
    int err = errno;
    return keep(l, err, "xdp on ifindex " + std::to_string(ifindex));
}

LIBBPFCPP_INLINE Link& Prog::attach_xdp(const std::string& ifname) {
    return attach_xdp(ifindex_of(ifname, "attaching xdp to"));
}

LIBBPFCPP_INLINE LegacyAttachment& Prog::attach_xdp_legacy(const std::string& ifname, XdpFlag flags) {
    return attach_xdp_legacy(ifindex_of(ifname, "attaching xdp to"), flags);
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
    const int ifindex = ifindex_of(ifname, "detaching xdp from");
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

LIBBPFCPP_INLINE Link& Prog::attach_cgroup(const std::string& path) {
    const detail::QuietLog quiet;
    detail::Fd cg = open_path(path, O_RDONLY | O_DIRECTORY, "cgroup");
    bpf_link* l = bpf_program__attach_cgroup(prog_, cg.get());
    int err = errno;
    return keep(l, err, "cgroup " + path);
}

LIBBPFCPP_INLINE LegacyAttachment& Prog::attach_cgroup_legacy(const std::string& path, bpf_attach_type type,
        AttachFlag flags) {
    const std::string what = "cgroup (legacy) " + path;
    require_fd(what);
    detail::Fd cg = open_path(path, O_RDONLY | O_DIRECTORY, "cgroup");
    if (bpf_prog_attach(fd(), cg.get(), type, static_cast<std::uint32_t>(flags)) != 0)
        attach_failed(errno, what + ": " + detail::explain_errno(errno));
    const int prog_fd = fd();
    return keep_legacy(what, [path, prog_fd, type] {
        int cgfd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0) return -errno;
        int ret = bpf_prog_detach2(prog_fd, cgfd, type);
        int err = errno;
        ::close(cgfd);
        return ret == 0 ? 0 : -err;
    });
}

LIBBPFCPP_INLINE void Prog::detach_cgroup_legacy(const std::string& path, bpf_attach_type type) {
    detail::Fd cg = open_path(path, O_RDONLY | O_DIRECTORY, "cgroup");
    if (bpf_prog_detach2(fd(), cg.get(), type) != 0)
        detail::throw_errno(errno, "detaching program", name(), "from cgroup " + path + ": " +
                                                                    detail::explain_errno(errno));
}

LIBBPFCPP_INLINE Link& Prog::attach_netns(const std::string& path) {
    const detail::QuietLog quiet;
    detail::Fd ns = open_path(path, O_RDONLY, "network namespace");
    bpf_link* l = bpf_program__attach_netns(prog_, ns.get());
    int err = errno;
    return keep(l, err, "netns " + path);
}

LIBBPFCPP_INLINE Link& Prog::attach_iter(const IterOptions& o) {
    const detail::QuietLog quiet;
    bpf_iter_link_info info{};
    if (o.map_fd >= 0) info.map.map_fd = static_cast<std::uint32_t>(o.map_fd);
    if (o.cgroup_fd >= 0 || o.cgroup_id != 0 || o.cgroup_order != BPF_CGROUP_ITER_ORDER_UNSPEC) {
        info.cgroup.order = o.cgroup_order;
        if (o.cgroup_fd >= 0) info.cgroup.cgroup_fd = static_cast<std::uint32_t>(o.cgroup_fd);
        info.cgroup.cgroup_id = o.cgroup_id;
    }
    if (o.tid != 0 || o.pid != 0 || o.pid_fd >= 0) {
        info.task.tid = o.tid;
        info.task.pid = o.pid;
        if (o.pid_fd >= 0) info.task.pid_fd = static_cast<std::uint32_t>(o.pid_fd);
    }
    const bool any = o.map_fd >= 0 || o.cgroup_fd >= 0 || o.cgroup_id != 0 ||
                     o.cgroup_order != BPF_CGROUP_ITER_ORDER_UNSPEC || o.tid != 0 || o.pid != 0 ||
                     o.pid_fd >= 0;
    LIBBPF_OPTS(bpf_iter_attach_opts, opts);
    if (any) {
        opts.link_info = &info;
        opts.link_info_len = sizeof info;
    }
    bpf_link* l = bpf_program__attach_iter(prog_, &opts);
    int err = errno;
    return keep(l, err, "iterator " + std::string(section()));
}

LIBBPFCPP_INLINE Link& Prog::attach_lsm() {
    const detail::QuietLog quiet;
    bpf_link* l = bpf_program__attach_lsm(prog_);
    int err = errno;
    return keep(l, err, "lsm " + std::string(section()));
}

LIBBPFCPP_INLINE Link& Prog::attach_trace(std::uint64_t cookie) {
    const detail::QuietLog quiet;
    LIBBPF_OPTS(bpf_trace_opts, opts, .cookie = cookie);
    bpf_link* l = bpf_program__attach_trace_opts(prog_, &opts);
    int err = errno;
    return keep(l, err, "trace " + std::string(section()));
}

LIBBPFCPP_INLINE Link& Prog::attach_usdt(pid_t pid, const std::string& binary, const std::string& provider,
                                         const std::string& probe, std::uint64_t cookie) {
    const detail::QuietLog quiet;
    std::string what = "usdt " + binary + ":" + provider + ":" + probe;
    // A bare name ("libfoo.so", "tool") is resolved by libbpf through LD_LIBRARY_PATH
    // and the library directories, or PATH; only a path can be checked here.
    const bool bare = binary.find('/') == std::string::npos;
    if (!bare && access(binary.c_str(), R_OK) != 0)
        attach_failed(errno, what + ": cannot read '" + binary + "'");
    LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = cookie);
    bpf_link* l = bpf_program__attach_usdt(prog_, pid, binary.c_str(), provider.c_str(), probe.c_str(), &opts);
    int err = errno;
    if (l == nullptr && fd() >= 0) {
        if (bare && err == ENOENT)
            attach_failed(ENOENT, what + ": '" + binary + "' was not found in LD_LIBRARY_PATH, "
                          "the library directories or PATH, or it has no such "
                          "USDT probe (list them with: readelf -n)");
        if (auto why = user_target_cause(err, pid, binary, true))
            attach_failed(err == ESRCH || err == ENOENT ? err : EINVAL, what + ": " + *why);
    }
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe_multi(pid_t pid, const std::string& binary,
                                                 const std::string& pattern, bool retprobe) {
    const detail::QuietLog quiet;
    std::string what = "uprobe_multi " + binary + ":" + pattern;
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .retprobe = retprobe);
    bpf_link* l = bpf_program__attach_uprobe_multi(prog_, pid, binary.c_str(), pattern.c_str(), &opts);
    int err = errno;
    return keep(l, err, what);
#else
    (void)pid;
    (void)retprobe;
    uprobe_multi_unavailable(what, "function");
#endif
}

LIBBPFCPP_INLINE Link& Prog::attach_uprobe_multi(pid_t pid, const std::string& binary,
                                                 std::span<const std::uint64_t> offsets,
                                                 std::span<const std::uint64_t> cookies, bool retprobe) {
    const detail::QuietLog quiet;
    std::string what = "uprobe_multi " + binary + " at " + std::to_string(offsets.size()) + " offsets";
    if (!cookies.empty() && cookies.size() != offsets.size())
        attach_failed(EINVAL, what + ": " + std::to_string(cookies.size()) +
                      " cookies for " + std::to_string(offsets.size()) + " offsets");
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    // libbpf takes unsigned long offsets and __u64 (unsigned long long) cookies.
    std::vector<unsigned long> offs(offsets.begin(), offsets.end());
    const std::vector<__u64> cooks(cookies.begin(), cookies.end());  // __u64 is not std::uint64_t's type
    LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .offsets = offs.data(),
                .cookies = cooks.empty() ? nullptr : cooks.data(), .cnt = offs.size(), .retprobe = retprobe);
    bpf_link* l = bpf_program__attach_uprobe_multi(prog_, pid, binary.c_str(), nullptr, &opts);
    int err = errno;
    return keep(l, err, what);
#else
    (void)pid;
    (void)retprobe;
    uprobe_multi_unavailable(what, "offset");
#endif
}

LIBBPFCPP_INLINE Link& Prog::attach_tcx(const std::string& ifname, const TcxOptions& o) {
    return attach_tcx(ifindex_of(ifname, "attaching tcx program to"), o, ifname);
}

LIBBPFCPP_INLINE LegacyAttachment& Prog::attach_clsact(const std::string& ifname, TcxDirection dir) {
    require_fd("clsact " + ifname);
    const int ifindex = ifindex_of(ifname, "attaching tc program to");
    const auto point = dir == TcxDirection::Ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
    const std::string what = std::string("clsact ") + (dir == TcxDirection::Ingress ? "ingress" : "egress") +
                             " of " + ifname;
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    const int made = bpf_tc_hook_create(&hook);
    if (made != 0 && made != -EEXIST)
        detail::throw_errno(-made, "attaching program", name(),
                            what + ": creating the clsact qdisc: " + detail::explain_errno(-made));
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd());
    if (int ret = bpf_tc_attach(&hook, &opts); ret != 0) {
        if (made == 0) {
            hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
            bpf_tc_hook_destroy(&hook);
        }
        detail::throw_errno(-ret, "attaching program", name(), what + ": " + detail::explain_errno(-ret));
    }
    const std::uint32_t handle = opts.handle, priority = opts.priority;
    const bool created = made == 0;
    return keep_legacy(what, [ifindex, point, handle, priority, created] {
        LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = point);
        LIBBPF_OPTS(bpf_tc_opts, o, .handle = handle, .priority = priority);
        int ret = bpf_tc_detach(&h, &o);
        if (created) {
            h.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
            bpf_tc_hook_destroy(&h);  // the interface may be gone already: nothing to undo then
        }
        return ret == -ENODEV || ret == -ENOENT ? 0 : ret;
    });
}

LIBBPFCPP_INLINE Link& Prog::attach_netkit(const std::string& ifname, const NetkitOptions& o) {
    return attach_netkit(ifindex_of(ifname, "attaching netkit program to"), o, ifname);
}

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

LIBBPFCPP_INLINE Link& Prog::attach_kprobe_multi(const std::string& pattern, bool retprobe) {
    KprobeMultiOptions o;
    o.retprobe = retprobe;
    return kprobe_multi(&pattern, o);
}

LIBBPFCPP_INLINE void Prog::attach_generic_fd(int target_fd, bpf_attach_type type, AttachFlag flags) {
    require_fd("attaching to fd " + std::to_string(target_fd));
    if (bpf_prog_attach(fd(), target_fd, type, static_cast<std::uint32_t>(flags)) != 0)
        detail::throw_errno(errno, "attaching program", name(),
                            "to fd " + std::to_string(target_fd) + ": " + detail::explain_errno(errno));
}

LIBBPFCPP_INLINE void Prog::detach_generic_fd(int target_fd, bpf_attach_type type) {
    if (bpf_prog_detach2(fd(), target_fd, type) != 0)
        detail::throw_errno(errno, "detaching program", name(),
                            "from fd " + std::to_string(target_fd) + ": " + detail::explain_errno(errno));
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

LIBBPFCPP_INLINE TestRunResult Prog::test_run(const TestRunOptions& o) const {
    TestRunResult r;
    r.data_out.resize(o.data_out_size);
    r.ctx_out.resize(o.ctx_out_size);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = o.data_in.empty() ? nullptr : o.data_in.data();
    opts.data_size_in = static_cast<std::uint32_t>(o.data_in.size());
    opts.data_out = r.data_out.empty() ? nullptr : r.data_out.data();
    opts.data_size_out = static_cast<std::uint32_t>(r.data_out.size());
    opts.ctx_in = o.ctx_in.empty() ? nullptr : o.ctx_in.data();
    opts.ctx_size_in = static_cast<std::uint32_t>(o.ctx_in.size());
    opts.ctx_out = r.ctx_out.empty() ? nullptr : r.ctx_out.data();
    opts.ctx_size_out = static_cast<std::uint32_t>(r.ctx_out.size());
    opts.repeat = o.repeat;
    opts.flags = o.flags;
    opts.cpu = o.cpu;
    opts.batch_size = o.batch_size;
    if (fd() < 0)
        throw Error(EBADF, detail::describe("test-running program", std::string(name()),
                                            "the program is not loaded; call Module::load() first"));
    if (int ret = bpf_prog_test_run_opts(fd(), &opts); ret != 0) {
        int err = detail::positive_errno(ret);
        std::string cause;
        if (err == ENOTSUPP_ || err == EOPNOTSUPP)
            cause = "this program type cannot be test-run on this kernel";
        else if (err == ENOSPC)
            cause = "data_out_size/ctx_out_size is too small for the output";
        else if (err == EINVAL)
            cause = "the kernel rejected the input (data/ctx sizes or flags do not fit this program type)";
        else
            cause = detail::explain_errno(err);
        throw Error(err, detail::describe("test-running program", std::string(name()), cause));
    }
    r.retval = opts.retval;
    r.duration = opts.duration;
    r.data_out.resize(std::min<std::size_t>(r.data_out.size(), opts.data_size_out));
    r.ctx_out.resize(std::min<std::size_t>(r.ctx_out.size(), opts.ctx_size_out));
    return r;
}

LIBBPFCPP_INLINE void Prog::uprobe_multi_unavailable(const std::string& what, std::string_view unit) const {
    attach_failed(EOPNOTSUPP, what + ": uprobe_multi needs libbpf >= 1.3, this program was built "
                  "with libbpf " + bpf::libbpf_compiled_version() + "; attach one uprobe per " +
                  std::string(unit) + " with attach_uprobe()",
                  detail::missing_libbpf("uprobe_multi", 1, 3));
}

LIBBPFCPP_INLINE void Prog::attach_failed(int err, const std::string& cause) const {
    throw Error(err, detail::describe("attaching program", name(), cause));
}

LIBBPFCPP_INLINE void Prog::attach_failed(int err, const std::string& cause, Missing missing) const {
    throw Error(err, detail::describe("attaching program", name(), cause), std::move(missing));
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

LIBBPFCPP_INLINE void Prog::mprog_refusal(int err, const std::string& what, std::uint64_t revision,
                                          std::string_view needs) const {
    std::string cause;
    if (err == ESTALE && revision != 0)
        cause = "the hook changed since revision " + std::to_string(revision) + " (query it again)";
    else if (err == ENOENT)
        cause = "the program or link given as relative is not attached there";
    else if (err == EEXIST)
        cause = "this program is already attached there";
    else if (err == ERANGE)
        cause = "the hook is full (64 programs)";
    else if (err == ENXIO)
        cause = "the interface is not a netkit primary device";
    else if (err == EINVAL)
        cause = "the kernel refused (" + std::string(needs) + ")";
    if (!cause.empty())
        attach_failed(err, what + ": " + cause);
}

LIBBPFCPP_INLINE Link& Prog::kprobe_multi(const std::string* pattern, const KprobeMultiOptions& o) {
    const detail::QuietLog quiet;
    std::string what = std::string(o.session ? "kprobe_session " : o.retprobe ? "kretprobe_multi " : "kprobe_multi ");
    if (pattern != nullptr) {
        what += *pattern;
    } else {
        what += std::to_string(o.symbols.size()) + " functions";
        if (!o.symbols.empty()) what += " (" + o.symbols.front() + (o.symbols.size() > 1 ? ", ...)" : ")");
    }
    const auto fail = [&](int err, const std::string& cause) {
        attach_failed(err, what + ": " + cause);
    };
    if (pattern != nullptr && pattern->empty()) fail(EINVAL, "empty pattern");
    if (pattern == nullptr && o.symbols.empty()) fail(EINVAL, "no functions given");
    if (!o.cookies.empty() && o.cookies.size() != o.symbols.size())
        fail(EINVAL, std::to_string(o.cookies.size()) + " cookies for " + std::to_string(o.symbols.size()) +
                         " functions");
    if (o.session && o.retprobe) fail(EINVAL, "a session runs at entry and return; do not set retprobe too");
#if !LIBBPFCPP_LIBBPF_AT_LEAST(1, 5)
    if (o.session)
        detail::libbpf_too_old("attaching program", name(), what, "kprobe session", 1, 5,
                               "attach a kprobe_multi and a kretprobe_multi program instead");
#endif
    if (!detail::kernel_has_kprobes())
        attach_failed(EOPNOTSUPP, what + ": " + std::string(detail::kprobes_hint), detail::missing_kprobes());
    std::vector<const char*> syms;
    for (const auto& s : o.symbols) syms.push_back(s.c_str());
    const std::vector<__u64> cookies(o.cookies.begin(), o.cookies.end());
    LIBBPF_OPTS(bpf_kprobe_multi_opts, opts, .syms = syms.empty() ? nullptr : syms.data(),
                .cookies = cookies.empty() ? nullptr : cookies.data(), .cnt = syms.size(),
                .retprobe = o.retprobe);
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 5)
    opts.session = o.session;
#endif
    bpf_link* l = bpf_program__attach_kprobe_multi_opts(prog_, pattern != nullptr ? pattern->c_str() : nullptr, &opts);
    int err = errno;
    if (l == nullptr && fd() >= 0) {
        if (err == ENOENT || err == ESRCH)
            fail(ENOENT, pattern != nullptr ? "no kernel function matches (see /sys/kernel/tracing/available_filter_functions)"
                                            : "a function is not in this kernel or cannot be traced (see "
                                              "/sys/kernel/tracing/available_filter_functions)");
        if (err == EOPNOTSUPP || err == EINVAL) {
            const bpf_attach_type want = o.session ? detail::uapi::attach_kprobe_session : BPF_TRACE_KPROBE_MULTI;
            if (expected_attach_type() != want)
                fail(EINVAL, std::string("the program was not loaded as ") +
                                 (o.session ? "a kprobe session; use SEC(\"kprobe.session\")"
                                            : "kprobe_multi; use SEC(\"kprobe.multi\") or SEC(\"kretprobe.multi\")"));
            fail(err, "the kernel refused: kprobe_multi needs kernel >= 5.18 with CONFIG_FPROBE"
                      " (a session >= 6.10)");
        }
    }
    return keep(l, err, what);
}

LIBBPFCPP_INLINE int Prog::ifindex_of(const std::string& ifname, std::string_view op) {
    unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0)
        throw Error(ENODEV, detail::describe(op, ifname, "no such network interface in this namespace"));
    return static_cast<int>(idx);
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

LIBBPFCPP_INLINE Link& Prog::kprobe(const std::string& function, const KprobeOptions& o, bool ret) {
    const detail::QuietLog quiet;
    std::string what = std::string(ret ? "kretprobe " : "kprobe ") + function;
    if (o.offset != 0) what += "+" + std::to_string(o.offset);
    if (!detail::kernel_has_kprobes())
        attach_failed(EOPNOTSUPP, what + ": " + std::string(detail::kprobes_hint), detail::missing_kprobes());
    LIBBPF_OPTS(bpf_kprobe_opts, opts, .bpf_cookie = o.cookie, .offset = o.offset, .retprobe = ret);
    bpf_link* l = bpf_program__attach_kprobe_opts(prog_, function.c_str(), &opts);
    int err = errno;
    if (l == nullptr && err == ENOENT && fd() >= 0)
        attach_failed(ENOENT, what + ": no such kernel function (see /proc/kallsyms)");
    return keep(l, err, what);
}

LIBBPFCPP_INLINE Link& Prog::uprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                                    std::uint64_t offset, const UprobeOptions& o, bool ret) {
    const detail::QuietLog quiet;
    std::string what = std::string(ret ? "uretprobe " : "uprobe ") + binary + ":" +
                       (symbol.empty() ? "+" + std::to_string(offset) : symbol);
    // A bare name ("libc.so.6") is resolved by libbpf through the library search path.
    if (binary.find('/') != std::string::npos && access(binary.c_str(), R_OK) != 0)
        attach_failed(errno, what + ": cannot read '" + binary + "'");
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = o.ref_ctr_offset, .bpf_cookie = o.cookie,
                .retprobe = ret, .func_name = symbol.empty() ? nullptr : symbol.c_str());
    bpf_link* l = bpf_program__attach_uprobe_opts(prog_, pid, binary.c_str(), offset, &opts);
    int err = errno;
    if (l == nullptr && err == ENOENT && !symbol.empty() && fd() >= 0)
        attach_failed(ENOENT, what + ": symbol '" + symbol + "' not found in '" + binary + "'");
    if (l == nullptr && fd() >= 0)
        if (auto why = user_target_cause(err, pid, binary, false))
            attach_failed(err == ESRCH ? ESRCH : EINVAL, what + ": " + *why);
    return keep(l, err, what);
}

LIBBPFCPP_INLINE std::optional<std::string> Prog::user_target_cause(int err, pid_t pid,
        const std::string& binary, bool usdt) {
    if (err == ESRCH && pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
        return "no process with pid " + std::to_string(pid) + " (give a running process, or -1 for all)";
    if (err == LIBBPF_ERRNO__FORMAT || err == LIBBPF_ERRNO__LIBELF)
        return "'" + binary + "' is not an ELF executable or shared library";
    if (usdt && (err == ESRCH || err == ENOENT))
        return "no such USDT probe in '" + binary + "' (list them with: readelf -n)";
    return std::nullopt;
}

LIBBPFCPP_INLINE Link& Prog::keep(bpf_link* link, int err, const std::string& what, bool by_section) {
    if (link == nullptr) {
        if (err == 0) err = EINVAL;
        std::string cause = what + ": ";
        if (fd() < 0)
            cause += "the program is not loaded (call Module::load() first, and check its autoload)";
        else if (by_section && (err == EOPNOTSUPP || err == ESRCH))
            cause += "this program's section does not say where to attach; use an explicit attach_*";
        else
            cause += detail::explain_errno(err);
        attach_failed(err, cause);
    }
    return mod_->keep(link, what + " (prog '" + std::string(name()) + "')");
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
