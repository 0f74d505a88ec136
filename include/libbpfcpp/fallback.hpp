// Declarative attach fallbacks: "a kprobe, else fentry, else this tracepoint" as one
// call that probes the kernel, switches autoload before load, and reports the choice.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <cstddef>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "error.hpp"
#include "module.hpp"
#include "probe.hpp"
#include "prog.hpp"

namespace bpf {

/// One way to attach one program of a Module; AttachPlan tries them in order.
///
/// ```cpp
/// auto plan = bpf::plan_attach(mod, {bpf::AttachCandidate::kprobe("kp_open", "do_sys_openat2"),
///                                    bpf::AttachCandidate::tracepoint("tp_open", "syscalls", "sys_enter_openat")});
/// ```
struct AttachCandidate {
    /// The attach mechanism of a candidate.
    enum class Kind { Kprobe, Kretprobe, Fentry, Fexit, Tracepoint, RawTracepoint, TpBtf };
    /// How this candidate attaches.
    Kind kind = Kind::Tracepoint;
    std::string program;   ///< the program of the Module that does this
    std::string target;    ///< kernel function, or tracepoint name
    std::string category;  ///< tracepoint category (Kind::Tracepoint only)

    /// A kprobe program on kernel function `function`.
    static AttachCandidate kprobe(std::string prog, std::string function) {
        return {Kind::Kprobe, std::move(prog), std::move(function), {}};
    }
    /// A kretprobe program on the return of kernel function `function`.
    static AttachCandidate kretprobe(std::string prog, std::string function) {
        return {Kind::Kretprobe, std::move(prog), std::move(function), {}};
    }
    /// An fentry program; its attach target is set to `function` before load.
    static AttachCandidate fentry(std::string prog, std::string function) {
        return {Kind::Fentry, std::move(prog), std::move(function), {}};
    }
    /// An fexit program; its attach target is set to `function` before load.
    static AttachCandidate fexit(std::string prog, std::string function) {
        return {Kind::Fexit, std::move(prog), std::move(function), {}};
    }
    /// A tracepoint program on `category`:`name` (e.g. "sock", "inet_sock_set_state").
    static AttachCandidate tracepoint(std::string prog, std::string category, std::string name) {
        return {Kind::Tracepoint, std::move(prog), std::move(name), std::move(category)};
    }
    /// A raw tracepoint program on tracepoint `name`.
    static AttachCandidate raw_tracepoint(std::string prog, std::string name) {
        return {Kind::RawTracepoint, std::move(prog), std::move(name), {}};
    }
    /// A BTF-typed tracepoint (tp_btf) program on tracepoint `name`.
    static AttachCandidate tp_btf(std::string prog, std::string name) {
        return {Kind::TpBtf, std::move(prog), std::move(name), {}};
    }

    /// E.g. "kprobe tcp_v4_connect (prog 'kp_connect')".
    [[nodiscard]] std::string describe() const {
        static constexpr const char* names[] = {"kprobe",     "kretprobe",      "fentry", "fexit",
                                                "tracepoint", "raw tracepoint", "tp_btf"};
        std::string s = names[static_cast<int>(kind)];
        s += ' ';
        if (!category.empty()) s += category + ":";
        s += target + " (prog '" + program + "')";
        return s;
    }
};

namespace detail {

inline bool kallsyms_has(const std::string& function) {
    std::ifstream f("/proc/kallsyms");
    std::string addr, type, name;
    while (f >> addr >> type >> name) {
        if (name == function && (type == "T" || type == "t")) return true;
        f.ignore(4096, '\n');  // module name, if any
    }
    return false;
}

inline bool vmlinux_btf_has(const std::string& name, int kind) {
    std::unique_ptr<btf, void (*)(btf*)> b(btf__load_vmlinux_btf(), btf__free);
    if (!b) return false;
    return btf__find_by_name_kind(b.get(), name.c_str(), kind) > 0;
}

/// Empty when the kernel loads and attaches a two-instruction fentry (or fexit) program
/// on the kernel function with BTF id `btf_id`, else why not. A program-type probe is not
/// enough: kernels are seen that allow some tracing attach types and refuse others.
inline std::string trampoline_refusal(std::uint32_t btf_id, bool exit) {
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = exit ? BPF_TRACE_FEXIT : BPF_TRACE_FENTRY,
                .attach_btf_id = btf_id);
    int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "probe", "GPL", insns, 2, &opts);
    if (prog < 0)
        return std::string("this kernel refuses fentry/fexit programs (BPF trampolines unavailable): ") +
               std::strerror(errno);
    int link = bpf_raw_tracepoint_open(nullptr, prog);
    const int err = errno;
    ::close(prog);
    if (link < 0) return std::string("this kernel refuses to attach fentry/fexit programs: ") + std::strerror(err);
    ::close(link);
    return {};
}

/// Why `c` cannot work on this kernel, or empty when it can.
inline std::string why_not(const AttachCandidate& c) {
    using K = AttachCandidate::Kind;
    switch (c.kind) {
        case K::Kprobe:
        case K::Kretprobe:
            if (!kernel_has_kprobes()) return std::string(kprobes_hint);
            if (!kallsyms_has(c.target)) return "no kernel function '" + c.target + "' in /proc/kallsyms";
            return {};
        case K::Fentry:
        case K::Fexit:
        {
            std::unique_ptr<btf, void (*)(btf*)> b(btf__load_vmlinux_btf(), btf__free);
            if (!b) return "this kernel has no BTF (/sys/kernel/btf/vmlinux), which fentry/fexit need";
            const int id = btf__find_by_name_kind(b.get(), c.target.c_str(), BTF_KIND_FUNC);
            if (id <= 0) return "no BTF for kernel function '" + c.target + "'";
            return trampoline_refusal(static_cast<std::uint32_t>(id), c.kind == K::Fexit);
        }
        case K::Tracepoint: {
            const char* root = tracefs_root();
            if (root == nullptr) return std::string(tracefs_hint);
            std::string dir = std::string(root) + "/events/" + c.category + "/" + c.target;
            if (access(dir.c_str(), F_OK) != 0) return "no tracepoint " + c.category + ":" + c.target + " in this kernel";
            return {};
        }
        case K::RawTracepoint:
            if (!vmlinux_btf_has("btf_trace_" + c.target, BTF_KIND_TYPEDEF))
                return "no raw tracepoint '" + c.target + "' in this kernel's BTF";
            return {};
        case K::TpBtf:
            // Not the TRACING type probe: it loads an fentry-style program, and kernels
            // without trampolines refuse that while tp_btf works.
            if (!vmlinux_btf_has("btf_trace_" + c.target, BTF_KIND_TYPEDEF))
                return "no raw tracepoint '" + c.target + "' in this kernel's BTF";
            return {};
    }
    return "unknown attach kind";
}

}  // namespace detail

/// The outcome of plan_attach(): which candidate was chosen and why the earlier ones
/// were not. Attach it after Module::load().
///
/// ```cpp
/// auto plan = bpf::plan_attach(mod, {
///     bpf::AttachCandidate::kprobe("kp_connect", "tcp_v4_connect"),
///     bpf::AttachCandidate::fentry("fe_connect", "tcp_v4_connect"),
///     bpf::AttachCandidate::tracepoint("tp_state", "sock", "inet_sock_set_state"),
/// });
/// std::cerr << plan.report() << '\n';   // "using tracepoint ...; not kprobe ...: ..."
/// mod.load();
/// plan.attach(mod);
/// ```
class AttachPlan {
public:
    /// The candidate this kernel supports and that attach() uses.
    [[nodiscard]] const AttachCandidate& chosen() const noexcept { return candidates_[chosen_]; }
    /// The chosen candidate's position in the list given to plan_attach().
    [[nodiscard]] std::size_t chosen_index() const noexcept { return chosen_; }
    /// "candidate: reason" for every candidate tried before the chosen one.
    [[nodiscard]] const std::vector<std::string>& rejected() const noexcept { return rejected_; }
    /// One line saying what is used and why the earlier candidates are not.
    [[nodiscard]] std::string report() const {
        std::string s = "using " + chosen().describe();
        for (const auto& r : rejected_) s += "; not " + r;
        return s;
    }

    /// Attaches the chosen candidate (after Module::load()).
    Link& attach(Module& mod) const {
        const AttachCandidate& c = chosen();
        Prog p = mod.program(c.program);
        using K = AttachCandidate::Kind;
        switch (c.kind) {
            case K::Kprobe: return p.attach_kprobe(c.target);
            case K::Kretprobe: return p.attach_kretprobe(c.target);
            case K::Fentry:
            case K::Fexit:
            case K::TpBtf: return p.attach_trace();
            case K::Tracepoint: return p.attach_tracepoint(c.category, c.target);
            case K::RawTracepoint: return p.attach_raw_tracepoint(c.target);
        }
        throw Error(EINVAL, "unknown attach kind");
    }

private:
    friend AttachPlan plan_attach(Module& mod, std::vector<AttachCandidate> candidates);
    std::vector<AttachCandidate> candidates_;
    std::size_t chosen_ = 0;
    std::vector<std::string> rejected_;
};

/// Before load: picks the first candidate this kernel supports, turns autoload on for
/// its program and off for the other candidates' programs, sets an fentry/fexit
/// target, and returns the choice. Throws listing every reason when none fits.
inline AttachPlan plan_attach(Module& mod, std::vector<AttachCandidate> candidates) {
    if (mod.loaded())
        throw Error(EBUSY, detail::describe("planning attach for object", mod.name(),
                                            "the object is already loaded; plan before Module::load()"));
    if (candidates.empty()) throw Error(EINVAL, "planning attach: no candidates given");
    for (const auto& c : candidates) (void)mod.program(c.program);  // unknown names throw here
    AttachPlan plan;
    std::size_t i = 0;
    for (; i < candidates.size(); ++i) {
        std::string why = detail::why_not(candidates[i]);
        if (why.empty()) break;
        plan.rejected_.push_back(candidates[i].describe() + ": " + why);
    }
    if (i == candidates.size()) {
        std::string all;
        for (const auto& r : plan.rejected_) all += (all.empty() ? "" : "; ") + r;
        throw Error(EOPNOTSUPP, detail::describe("planning attach for object", mod.name(),
                                                 "no candidate works on this kernel: " + all));
    }
    const AttachCandidate& pick = candidates[i];
    for (const auto& c : candidates)
        if (c.program != pick.program) mod.program(c.program).set_autoload(false);
    Prog p = mod.program(pick.program);
    p.set_autoload(true);
    if (pick.kind == AttachCandidate::Kind::Fentry || pick.kind == AttachCandidate::Kind::Fexit)
        p.set_attach_target(pick.target);
    plan.candidates_ = std::move(candidates);
    plan.chosen_ = i;
    return plan;
}

}  // namespace bpf
