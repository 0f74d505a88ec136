// sched_ext (Linux 6.12+, CONFIG_SCHED_CLASS_EXT): a CPU scheduler written in BPF, run
// from C++. What the kernel supports (probe), what it runs (kernel_state), registering a
// scheduler (Scheduler::attach) and learning why the kernel ended it (the exit protocol:
// ops.exit writes a record, bpf/sched_ext.h on the BPF side, that wakes wait_exit()).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <linux/capability.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/sched_ext_exit.h"
#include "error.hpp"
#include "link.hpp"
#include "map.hpp"
#include "module.hpp"
#include "ring_buffer.hpp"

namespace bpf::scx {

/// The name of the exit ring that <libbpfcpp/bpf/sched_ext.h> declares.
inline constexpr std::string_view exit_ring_name = "libbpfcpp_scx_exits";
/// Where the kernel shows its sched_ext state.
inline constexpr std::string_view sysfs_root = "/sys/kernel/sched_ext";

/// Whether this process can run a sched_ext scheduler on this kernel now, and why not.
///
/// ```cpp
/// if (auto s = bpf::scx::probe(); !s) { std::fprintf(stderr, "%s\n", s.reason.c_str()); return 1; }
/// ```
struct Support {
    int error = 0;       ///< 0 when it can; EOPNOTSUPP (kernel), EPERM (privileges), EBUSY (another scheduler)
    std::string reason;  ///< what is missing, in words; empty when it can
    /// True when a scheduler can be loaded and attached now.
    explicit operator bool() const noexcept { return error == 0; }
};

/// Asks the kernel's BTF, this process's capabilities and /sys/kernel/sched_ext.
Support probe();

/// probe() that throws its reason as an Error (errno EOPNOTSUPP, EPERM or EBUSY).
void require_support();

/// The kernel's view of sched_ext (/sys/kernel/sched_ext).
struct KernelState {
    std::string state;             ///< "disabled", "enabling", "enabled" or "disabling"
    std::string ops;               ///< the running scheduler's ops name; empty when none
    std::uint64_t enable_seq = 0;  ///< schedulers enabled since boot
    bool switch_all = false;       ///< every task is on sched_ext (not only SCHED_EXT ones)
    /// True while a scheduler runs.
    [[nodiscard]] bool enabled() const noexcept { return state == "enabled"; }
};

/// Reads /sys/kernel/sched_ext; throws EOPNOTSUPP when the kernel has no sched_ext.
KernelState kernel_state();

/// Why the kernel ended a scheduler (enum scx_exit_kind).
enum class ExitKind : std::int32_t {
    None = 0,
    Done = 1,
    Unregistered = 64,          ///< user space unregistered it (its Link or Module went)
    UnregisteredByBpf = 65,     ///< the scheduler called scx_bpf_exit()
    UnregisteredByKernel = 66,  ///< the kernel unregistered it (e.g. a CPU hot-plug it does not handle)
    SysRq = 67,                 ///< SysRq-S
    Error = 1024,               ///< the kernel found it broken (e.g. ops.init failed)
    ErrorBpf = 1025,            ///< the scheduler called scx_bpf_error()
    ErrorStall = 1026,          ///< the watchdog: a runnable task was not run for timeout_ms
};

/// "unregistered", "scx_bpf_error", "stall", ...; the number for a kind newer than this header.
std::string to_string(ExitKind kind);

/// What ops.exit recorded: the kind, the kernel's reason and the message.
struct ExitInfo {
    ExitKind kind = ExitKind::None;  ///< why the scheduler ended
    std::int64_t exit_code = 0;      ///< scx_bpf_exit()'s code
    std::string reason;          ///< the kernel's words, e.g. "scx_bpf_error"
    std::string message;         ///< what the scheduler (or the watchdog) said
    /// True for the kinds that are failures (scx_bpf_error, stall, ...), false for an unregistration.
    [[nodiscard]] bool error() const noexcept { return static_cast<std::int32_t>(kind) >= 1024; }
    /// One line for a log: "scx_bpf_error (1025): runtime error: <message>".
    [[nodiscard]] std::string describe() const;
};

/// A sched_ext scheduler registered from a loaded Module. The registration is a Link the
/// Module keeps (Map::attach_struct_ops()), so the scheduler runs until the Module is
/// destroyed, detach() is called, or the kernel ejects it; in the last case wait_exit()
/// returns why. A handle into its Module (the link and the exit ring are the Module's):
/// valid while the Module lives.
///
/// ```cpp
/// bpf::scx::require_support();
/// auto mod = bpf::Module::open_file("fifo.bpf.o");
/// mod.load();
/// auto sched = bpf::scx::Scheduler::attach(mod);
/// while (running)
///     if (auto exit = sched.wait_exit(std::chrono::seconds(1))) { log(exit->describe()); break; }
/// ```
class Scheduler {
public:
    /// Registers the struct_ops map `ops_map` of `mod` (the object's only struct_ops map
    /// when empty) after checking that no other scheduler runs, and starts listening on
    /// the exit ring. Throws EBUSY naming the scheduler that runs, EOPNOTSUPP when the
    /// kernel has no sched_ext, and with the kernel's exit message when it refuses ours.
    static Scheduler attach(Module& mod, std::string_view ops_map = {});

    /// The ops map's name.
    [[nodiscard]] std::string_view map_name() const noexcept { return map_name_; }
    /// The registration (fd, info, destroy()); owned by the Module.
    [[nodiscard]] Link& link() const noexcept { return *link_; }
    /// The exit ring's epoll descriptor, readable once an exit was recorded: for a loop
    /// of one's own (then call wait_exit(0ms) to read it).
    [[nodiscard]] int exit_fd() const noexcept { return exits_->epoll_fd(); }

    /// Waits up to `timeout` for the kernel to end the scheduler (no polling: it sleeps
    /// on the exit ring); the exit when it ended, nullopt when it still runs.
    std::optional<ExitInfo> wait_exit(std::chrono::milliseconds timeout);

    /// Unregisters the scheduler now; the kernel returns its tasks to the fair class.
    /// Returns the exit recorded (ExitKind::Unregistered, or the kernel's earlier one).
    std::optional<ExitInfo> detach();

private:
    Scheduler(Link& link, RingBuffer& exits, std::unique_ptr<std::optional<ExitInfo>> exit, std::string map_name)
        : link_(&link), exits_(&exits), exit_(std::move(exit)), map_name_(std::move(map_name)) {}

    Link* link_;
    RingBuffer* exits_;
    std::unique_ptr<std::optional<ExitInfo>> exit_;  // written by the ring's callback
    std::string map_name_;
};

namespace detail {
/// The contents of sysfs file `path` without the trailing newline; nullopt when absent.
LIBBPFCPP_INLINE std::optional<std::string> read_sysfs(const std::string& path);
/// Decodes one record of the exit ring.
LIBBPFCPP_INLINE std::optional<ExitInfo> decode_exit(std::span<const std::byte> raw);
}  // namespace detail

}  // namespace bpf::scx

#if LIBBPFCPP_DEFINITIONS
#include <fstream>
#include <iterator>

#include <sys/utsname.h>

namespace bpf {

LIBBPFCPP_INLINE std::optional<std::string> scx::detail::read_sysfs(const std::string& path) {
    std::ifstream f(path);
    if (!f) return std::nullopt;
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

LIBBPFCPP_INLINE scx::Support scx::probe() {
    utsname u{};
    const std::string release = uname(&u) == 0 ? std::string(u.release) : std::string("?");
    btf* vm = btf__load_vmlinux_btf();
    if (vm == nullptr)
        return {EOPNOTSUPP, "this kernel (" + release +
                                ") has no BTF (/sys/kernel/btf/vmlinux): sched_ext needs CONFIG_DEBUG_INFO_BTF "
                                "and CONFIG_SCHED_CLASS_EXT"};
    const bool has_ops = btf__find_by_name_kind(vm, "sched_ext_ops", BTF_KIND_STRUCT) > 0;
    const bool has_insert = btf__find_by_name_kind(vm, "scx_bpf_dsq_insert", BTF_KIND_FUNC) > 0;
    btf__free(vm);
    if (!has_ops)
        return {EOPNOTSUPP, "this kernel (" + release +
                                ") has no sched_ext: it was built without CONFIG_SCHED_CLASS_EXT (its BTF has no "
                                "struct sched_ext_ops); a scheduler needs Linux 6.12 or later with "
                                "CONFIG_SCHED_CLASS_EXT=y"};
    if (!has_insert)
        return {EOPNOTSUPP, "this kernel's (" + release +
                                ") sched_ext predates the kfunc names of Linux 6.13 (scx_bpf_dsq_insert) that "
                                "<libbpfcpp/bpf/sched_ext.h> uses"};
    if (!bpf::detail::has_capability(CAP_SYS_ADMIN) || !bpf::detail::has_capability(CAP_BPF))
        return {EPERM, "loading a sched_ext scheduler needs CAP_SYS_ADMIN and CAP_BPF (run it as root)"};
    const auto state = detail::read_sysfs(std::string(sysfs_root) + "/state");
    if (!state)
        return {EOPNOTSUPP, "this kernel (" + release + ") has sched_ext in its BTF but no " +
                                std::string(sysfs_root) + "/state (is sysfs mounted?)"};
    if (*state != "disabled") {
        const std::string ops = detail::read_sysfs(std::string(sysfs_root) + "/root/ops").value_or("?");
        return {EBUSY, "another sched_ext scheduler ('" + ops + "') is " + *state +
                           "; unload it first (stop its loader, or SysRq-S)"};
    }
    return {};
}

LIBBPFCPP_INLINE void scx::require_support() {
    Support s = probe();
    if (!s) throw Error(s.error, bpf::detail::describe("checking for sched_ext", "", s.reason));
}

LIBBPFCPP_INLINE scx::KernelState scx::kernel_state() {
    const std::string root(sysfs_root);
    auto state = detail::read_sysfs(root + "/state");
    if (!state) {
        Support s = probe();
        throw Error(EOPNOTSUPP, bpf::detail::describe("reading", root + "/state",
                                                      s.error == EOPNOTSUPP ? s.reason : "no such file"));
    }
    KernelState k;
    k.state = std::move(*state);
    k.ops = detail::read_sysfs(root + "/root/ops").value_or("");
    if (auto seq = detail::read_sysfs(root + "/enable_seq")) k.enable_seq = std::strtoull(seq->c_str(), nullptr, 10);
    k.switch_all = detail::read_sysfs(root + "/switch_all").value_or("0") == "1";
    return k;
}

LIBBPFCPP_INLINE std::string scx::to_string(ExitKind kind) {
    switch (kind) {
        case ExitKind::None: return "none";
        case ExitKind::Done: return "done";
        case ExitKind::Unregistered: return "unregistered";
        case ExitKind::UnregisteredByBpf: return "scx_bpf_exit";
        case ExitKind::UnregisteredByKernel: return "unregistered by the kernel";
        case ExitKind::SysRq: return "SysRq-S";
        case ExitKind::Error: return "error";
        case ExitKind::ErrorBpf: return "scx_bpf_error";
        case ExitKind::ErrorStall: return "stall";
    }
    return "kind " + std::to_string(static_cast<std::int32_t>(kind));
}

LIBBPFCPP_INLINE std::string scx::ExitInfo::describe() const {
    std::string s = to_string(kind) + " (" + std::to_string(static_cast<std::int32_t>(kind)) + ")";
    if (!reason.empty()) s += ": " + reason;
    if (!message.empty()) s += ": " + message;
    if (exit_code != 0) s += " (exit code " + std::to_string(exit_code) + ")";
    return s;
}

LIBBPFCPP_INLINE std::optional<scx::ExitInfo> scx::detail::decode_exit(std::span<const std::byte> raw) {
    libbpfcpp_scx_exit_record r{};
    if (raw.size() < sizeof r) return std::nullopt;
    std::memcpy(&r, raw.data(), sizeof r);
    ExitInfo e;
    e.kind = static_cast<ExitKind>(r.kind);
    e.exit_code = r.exit_code;
    e.reason.assign(r.reason, strnlen(r.reason, sizeof r.reason));
    e.message.assign(r.msg, strnlen(r.msg, sizeof r.msg));
    return e;
}

LIBBPFCPP_INLINE scx::Scheduler scx::Scheduler::attach(Module& mod, std::string_view ops_map) {
    const std::string op = "attaching sched_ext scheduler";
    if (!mod.loaded())
        throw Error(EINVAL, bpf::detail::describe(op, std::string(mod.name()), "load the Module first"));
    std::optional<Map> ops;
    std::string struct_ops_maps;
    int matches = 0;
    for (Map m : mod.maps()) {
        if (m.type() != BPF_MAP_TYPE_STRUCT_OPS) continue;
        struct_ops_maps.append(struct_ops_maps.empty() ? "" : ", ").append(m.name());
        if (ops_map.empty() || m.name() == ops_map) {
            ops = m;
            ++matches;
        }
    }
    if (matches != 1)
        throw Error(ENOENT, bpf::detail::describe(op, std::string(mod.name()),
                                                  struct_ops_maps.empty()
                                                      ? "the object has no struct_ops map (SEC(\".struct_ops\"))"
                                                      : "name the ops map: " + struct_ops_maps));
    if (!mod.find_map(exit_ring_name))
        throw Error(ENOENT, bpf::detail::describe(op, std::string(ops->name()),
                                                  "the object has no map '" + std::string(exit_ring_name) +
                                                      "': include <libbpfcpp/bpf/sched_ext.h> and call "
                                                      "libbpfcpp_scx_record_exit() in ops.exit"));
    if (Support s = probe(); !s) throw Error(s.error, bpf::detail::describe(op, std::string(ops->name()), s.reason));

    auto exit = std::make_unique<std::optional<ExitInfo>>();
    RingBuffer& exits = mod.ring_buffer(exit_ring_name, [slot = exit.get()](std::span<const std::byte> raw) {
        if (auto e = detail::decode_exit(raw); e && !slot->has_value()) *slot = std::move(e);
    });
    try {
        Link& link = ops->attach_struct_ops();
        return Scheduler(link, exits, std::move(exit), std::string(ops->name()));
    } catch (const Error& e) {
        // A scheduler the kernel refuses while enabling it (ops.init failed, an invalid
        // ops table) went through ops.exit first: its record says why.
        exits.consume();
        std::string why = e.message();
        if (exit->has_value()) why += "; the kernel ended it: " + (*exit)->describe();
        if (e.error_number() == EBUSY || e.error_number() == EEXIST) {
            const std::string running = detail::read_sysfs(std::string(sysfs_root) + "/root/ops").value_or("");
            if (!running.empty()) why += "; scheduler '" + running + "' is running";
        }
        throw Error(e.error_number(), why);
    }
}

LIBBPFCPP_INLINE std::optional<scx::ExitInfo> scx::Scheduler::wait_exit(std::chrono::milliseconds timeout) {
    if (!exit_->has_value()) exits_->poll(timeout);
    return *exit_;
}

LIBBPFCPP_INLINE std::optional<scx::ExitInfo> scx::Scheduler::detach() {
    link_->destroy();  // returns once the kernel disabled the scheduler and ran ops.exit
    exits_->consume();
    return *exit_;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
