// bpf::Prog: a handle to a program of a Module (wraps bpf_program).
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/module_state.hpp"
#include "error.hpp"
#include "link.hpp"

namespace bpf {

/// Options of Prog::attach_kprobe / attach_kretprobe.
struct KprobeOptions {
    std::uint64_t offset = 0;  ///< offset inside the function
    std::uint64_t cookie = 0;  ///< read by the program with bpf_get_attach_cookie()
};

/// Options of Prog::attach_uprobe / attach_uretprobe.
struct UprobeOptions {
    std::uint64_t cookie = 0;          ///< read with bpf_get_attach_cookie()
    std::uint64_t ref_ctr_offset = 0;  ///< USDT-style semaphore offset, if any
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
    Prog(bpf_program* prog, detail::ModuleState* mod) noexcept : prog_(prog), mod_(mod) {}

    // ---- properties -------------------------------------------------------------------
    [[nodiscard]] std::string_view name() const noexcept { return bpf_program__name(prog_); }
    /// The ELF section, e.g. "tracepoint/sched/sched_switch".
    [[nodiscard]] std::string_view section() const noexcept { return bpf_program__section_name(prog_); }
    [[nodiscard]] bpf_prog_type type() const noexcept { return bpf_program__type(prog_); }
    [[nodiscard]] bpf_attach_type expected_attach_type() const noexcept {
        return bpf_program__expected_attach_type(prog_);
    }
    /// The program's fd, or -1 before load (or when autoload is off).
    [[nodiscard]] int fd() const noexcept { return bpf_program__fd(prog_); }
    [[nodiscard]] bool autoload() const noexcept { return bpf_program__autoload(prog_); }
    [[nodiscard]] bool autoattach() const noexcept { return bpf_program__autoattach(prog_); }
    /// The raw libbpf program, for what is not wrapped.
    [[nodiscard]] bpf_program* get() const noexcept { return prog_; }

    // ---- before load ------------------------------------------------------------------
    /// Whether load() loads this program (false: skip it, e.g. an unsupported hook).
    void set_autoload(bool on) { check_config(bpf_program__set_autoload(prog_, on), "setting autoload of"); }
    /// Whether Module::attach_all() attaches it.
    void set_autoattach(bool on) { bpf_program__set_autoattach(prog_, on); }
    void set_type(bpf_prog_type t) { check_config(bpf_program__set_type(prog_, t), "setting the type of"); }
    void set_expected_attach_type(bpf_attach_type t) {
        check_config(bpf_program__set_expected_attach_type(prog_, t), "setting the attach type of");
    }
    /// The function an fentry/fexit/freplace program attaches to: a kernel function
    /// (`target_fd` 0) or a function of the BPF program `target_fd`.
    void set_attach_target(const std::string& function, int target_fd = 0) {
        check_config(bpf_program__set_attach_target(prog_, target_fd, function.c_str()),
                     "setting the attach target of");
    }

    // ---- attach -----------------------------------------------------------------------
    /// Attaches as its SEC() name says (libbpf auto-attach).
    Link& attach() {
        bpf_link* l = bpf_program__attach(prog_);
        int err = errno;
        return keep(l, err, "by section '" + std::string(section()) + "'");
    }

    Link& attach_tracepoint(const std::string& category, const std::string& name) {
        std::string what = "tracepoint " + category + ":" + name;
        if (detail::tracefs_root() == nullptr)
            throw Error(ENOENT, detail::describe("attaching program", std::string(this->name()),
                                                 what + ": " + std::string(detail::tracefs_hint)));
        bpf_link* l = bpf_program__attach_tracepoint(prog_, category.c_str(), name.c_str());
        int err = errno;
        if (l == nullptr && err == ENOENT && fd() >= 0)
            throw Error(ENOENT, detail::describe("attaching program", std::string(this->name()),
                                                 what + " does not exist in this kernel (see " +
                                                     detail::tracefs_root() + "/events/)"));
        return keep(l, err, what);
    }

    Link& attach_raw_tracepoint(const std::string& name) {
        bpf_link* l = bpf_program__attach_raw_tracepoint(prog_, name.c_str());
        int err = errno;
        return keep(l, err, "raw tracepoint " + name);
    }

    Link& attach_kprobe(const std::string& function, const KprobeOptions& o = {}) {
        return kprobe(function, o, false);
    }
    Link& attach_kretprobe(const std::string& function, const KprobeOptions& o = {}) {
        return kprobe(function, o, true);
    }

    /// Attaches to `symbol` (a function name of `binary`) in process `pid` (-1: every
    /// process, 0: this one).
    Link& attach_uprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                        const UprobeOptions& o = {}) {
        return uprobe(pid, binary, symbol, 0, o, false);
    }
    /// Attaches at a file offset of `binary` (libbpfgo's AttachUprobe(pid, path, offset)).
    Link& attach_uprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                        const UprobeOptions& o = {}) {
        return uprobe(pid, binary, {}, offset, o, false);
    }
    Link& attach_uretprobe(pid_t pid, const std::string& binary, const std::string& symbol,
                           const UprobeOptions& o = {}) {
        return uprobe(pid, binary, symbol, 0, o, true);
    }
    Link& attach_uretprobe(pid_t pid, const std::string& binary, std::uint64_t offset,
                           const UprobeOptions& o = {}) {
        return uprobe(pid, binary, {}, offset, o, true);
    }

    /// Attaches to an opened perf event; the link takes ownership of `perf_fd`.
    Link& attach_perf_event(int perf_fd) {
        bpf_link* l = bpf_program__attach_perf_event(prog_, perf_fd);
        int err = errno;
        return keep(l, err, "perf event fd " + std::to_string(perf_fd));
    }

    /// Records a link made elsewhere (raw libbpf call) so the Module owns it.
    Link& adopt(bpf_link* link, std::string description) {
        return mod_->keep(link, std::move(description) + " (prog '" + std::string(name()) + "')");
    }

private:
    Link& kprobe(const std::string& function, const KprobeOptions& o, bool ret) {
        std::string what = std::string(ret ? "kretprobe " : "kprobe ") + function;
        if (o.offset != 0) what += "+" + std::to_string(o.offset);
        if (!detail::kernel_has_kprobes())
            throw Error(EOPNOTSUPP, detail::describe("attaching program", std::string(name()),
                                                     what + ": " + std::string(detail::kprobes_hint)));
        LIBBPF_OPTS(bpf_kprobe_opts, opts, .bpf_cookie = o.cookie, .offset = o.offset, .retprobe = ret);
        bpf_link* l = bpf_program__attach_kprobe_opts(prog_, function.c_str(), &opts);
        int err = errno;
        if (l == nullptr && err == ENOENT && fd() >= 0)
            throw Error(ENOENT, detail::describe("attaching program", std::string(name()),
                                                 what + ": no such kernel function (see /proc/kallsyms)"));
        return keep(l, err, what);
    }

    Link& uprobe(pid_t pid, const std::string& binary, const std::string& symbol, std::uint64_t offset,
                 const UprobeOptions& o, bool ret) {
        std::string what = std::string(ret ? "uretprobe " : "uprobe ") + binary + ":" +
                           (symbol.empty() ? "+" + std::to_string(offset) : symbol);
        if (access(binary.c_str(), R_OK) != 0)
            throw Error(errno, detail::describe("attaching program", std::string(name()),
                                                what + ": cannot read '" + binary + "'"));
        LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = o.ref_ctr_offset, .bpf_cookie = o.cookie,
                    .retprobe = ret, .func_name = symbol.empty() ? nullptr : symbol.c_str());
        bpf_link* l = bpf_program__attach_uprobe_opts(prog_, pid, binary.c_str(), offset, &opts);
        int err = errno;
        if (l == nullptr && err == ENOENT && !symbol.empty() && fd() >= 0)
            throw Error(ENOENT, detail::describe("attaching program", std::string(name()),
                                                 what + ": symbol '" + symbol + "' not found in '" + binary + "'"));
        return keep(l, err, what);
    }

    Link& keep(bpf_link* link, int err, const std::string& what) {
        if (link == nullptr) {
            if (err == 0) err = EINVAL;
            std::string cause = what + ": ";
            if (fd() < 0)
                cause += "the program is not loaded (call Module::load() first, and check its autoload)";
            else if (err == EOPNOTSUPP || err == ESRCH)
                cause += "this program's section does not say where to attach; use an explicit attach_*";
            else
                cause += detail::explain_errno(err);
            throw Error(err, detail::describe("attaching program", std::string(name()), cause));
        }
        return mod_->keep(link, what + " (prog '" + std::string(name()) + "')");
    }

    void check_config(int ret, std::string_view what) {
        if (ret == 0) return;
        int err = detail::positive_errno(ret);
        std::string cause = err == EBUSY ? "the object is already loaded; configure programs before Module::load()"
                                         : detail::explain_errno(err);
        throw Error(err, detail::describe(std::string(what) + " program", std::string(name()), cause));
    }

    bpf_program* prog_;
    detail::ModuleState* mod_;
};

}  // namespace bpf
