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

#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "detail/probe_programs.hpp"
#include "error.hpp"
#include "module.hpp"
#include "probe.hpp"
#include "prog.hpp"
#include "tcx.hpp"
#include "version.hpp"

namespace bpf {

/// One way to attach one program of a Module; AttachPlan tries them in order.
///
/// ```cpp
/// auto plan = bpf::plan_attach(mod, {bpf::AttachCandidate::kprobe("kp_open", "do_sys_openat2"),
///                                    bpf::AttachCandidate::tracepoint("tp_open", "syscalls", "sys_enter_openat")});
/// ```
struct AttachCandidate {
    /// The attach mechanism of a candidate.
    enum class Kind {
        Kprobe, Kretprobe, Fentry, Fexit, Tracepoint, RawTracepoint, TpBtf,
        Tcx,          ///< a tc program through a tcx link (kernel >= 6.6, libbpf >= 1.3)
        Clsact,       ///< a tc program as a filter on a clsact qdisc (any kernel)
        KprobeMulti,  ///< one kprobe_multi link on `symbols` (kernel >= 5.18)
        Kprobes,      ///< one kprobe per symbol of `symbols`
        Group,        ///< all of `parts` (several programs), or none
    };
    /// How this candidate attaches.
    Kind kind = Kind::Tracepoint;
    std::string program;   ///< the program of the Module that does this
    std::string target;    ///< kernel function, tracepoint name, or interface (Tcx, Clsact)
    std::string category;  ///< tracepoint category (Kind::Tracepoint only)
    std::vector<std::string> symbols;     ///< kernel functions (KprobeMulti, Kprobes)
    TcxDirection direction = TcxDirection::Ingress;  ///< Tcx, Clsact
    std::vector<AttachCandidate> parts;   ///< Group: attached together, chosen together

    /// A kprobe program on kernel function `function`.
    static AttachCandidate kprobe(std::string prog, std::string function) {
        return make(Kind::Kprobe, std::move(prog), std::move(function));
    }
    /// A kretprobe program on the return of kernel function `function`.
    static AttachCandidate kretprobe(std::string prog, std::string function) {
        return make(Kind::Kretprobe, std::move(prog), std::move(function));
    }
    /// An fentry program; its attach target is set to `function` before load.
    static AttachCandidate fentry(std::string prog, std::string function) {
        return make(Kind::Fentry, std::move(prog), std::move(function));
    }
    /// An fexit program; its attach target is set to `function` before load.
    static AttachCandidate fexit(std::string prog, std::string function) {
        return make(Kind::Fexit, std::move(prog), std::move(function));
    }
    /// A tracepoint program on `category`:`name` (e.g. "sock", "inet_sock_set_state").
    static AttachCandidate tracepoint(std::string prog, std::string category, std::string name) {
        AttachCandidate c = make(Kind::Tracepoint, std::move(prog), std::move(name));
        c.category = std::move(category);
        return c;
    }
    /// A raw tracepoint program on tracepoint `name`.
    static AttachCandidate raw_tracepoint(std::string prog, std::string name) {
        return make(Kind::RawTracepoint, std::move(prog), std::move(name));
    }
    /// A BTF-typed tracepoint (tp_btf) program on tracepoint `name`.
    static AttachCandidate tp_btf(std::string prog, std::string name) {
        return make(Kind::TpBtf, std::move(prog), std::move(name));
    }
    /// A SEC("tc") program on `dir` of interface `ifname` through a tcx link; plan_attach
    /// gives it the tcx attach type before load when chosen.
    static AttachCandidate tcx(std::string prog, std::string ifname, TcxDirection dir = TcxDirection::Ingress) {
        AttachCandidate c = make(Kind::Tcx, std::move(prog), std::move(ifname));
        c.direction = dir;
        return c;
    }
    /// A SEC("tc") program on `dir` of interface `ifname` as a clsact filter.
    static AttachCandidate clsact(std::string prog, std::string ifname, TcxDirection dir = TcxDirection::Ingress) {
        AttachCandidate c = make(Kind::Clsact, std::move(prog), std::move(ifname));
        c.direction = dir;
        return c;
    }
    /// A SEC("kprobe.multi") program on all of `functions` in one link.
    static AttachCandidate kprobe_multi(std::string prog, std::vector<std::string> functions) {
        AttachCandidate c = make(Kind::KprobeMulti, std::move(prog), {});
        c.symbols = std::move(functions);
        return c;
    }
    /// A kprobe program attached once per function of `functions`.
    static AttachCandidate kprobes(std::string prog, std::vector<std::string> functions) {
        AttachCandidate c = make(Kind::Kprobes, std::move(prog), {});
        c.symbols = std::move(functions);
        return c;
    }
    /// Several candidates (usually several programs) that work together: chosen when
    /// every part can work, attached all together.
    static AttachCandidate group(std::vector<AttachCandidate> parts) {
        AttachCandidate c;
        c.kind = Kind::Group;
        c.parts = std::move(parts);
        return c;
    }

    /// E.g. "kprobe tcp_v4_connect (prog 'kp_connect')".
    [[nodiscard]] std::string describe() const {
        static constexpr const char* names[] = {"kprobe", "kretprobe",    "fentry",  "fexit",   "tracepoint",
                                                "raw tracepoint", "tp_btf", "tcx", "clsact", "kprobe_multi",
                                                "kprobes", "group"};
        std::string s = names[static_cast<int>(kind)];
        if (kind == Kind::Group) {
            s += " [";
            for (std::size_t i = 0; i < parts.size(); ++i) s += (i != 0 ? "; " : "") + parts[i].describe();
            return s + "]";
        }
        s += ' ';
        if (kind == Kind::Tcx || kind == Kind::Clsact)
            s += direction == TcxDirection::Ingress ? "ingress of " : "egress of ";
        if (!category.empty()) s += category + ":";
        s += target;
        for (std::size_t i = 0; i < symbols.size(); ++i) s += (i != 0 ? "," : "") + symbols[i];
        s += " (prog '" + program + "')";
        return s;
    }

private:
    static AttachCandidate make(Kind k, std::string prog, std::string target) {
        AttachCandidate c;
        c.kind = k;
        c.program = std::move(prog);
        c.target = std::move(target);
        return c;
    }
};

/// What AttachPlan::attach() made: the links, and the attachments without a link
/// (clsact filters). The Module owns them all.
struct AttachResult {
    std::vector<Link*> links;                ///< in candidate (and symbol) order
    std::vector<LegacyAttachment*> legacy;   ///< clsact filters
    /// How many attachments were made.
    [[nodiscard]] std::size_t size() const noexcept { return links.size() + legacy.size(); }
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
/// on the kernel function with BTF id `btf_id`, else why not.
inline std::string trampoline_refusal(std::uint32_t btf_id, bool exit) {
    return tracing_refusal(exit ? BPF_TRACE_FEXIT : BPF_TRACE_FENTRY, btf_id,
                           "this kernel refuses fentry/fexit programs (BPF trampolines unavailable)",
                           "this kernel refuses to attach fentry/fexit programs");
}

/// Empty when the kernel loads and attaches a two-instruction tp_btf program on raw
/// tracepoint `name`, else why not. Probed by loading one: kernels are seen that have the
/// tracepoint's BTF and refuse the program type (tracing) that tp_btf programs are.
inline std::string tp_btf_refusal(const std::string& name) {
    std::unique_ptr<btf, void (*)(btf*)> b(btf__load_vmlinux_btf(), btf__free);
    if (!b) return "this kernel has no BTF (/sys/kernel/btf/vmlinux), which tp_btf needs";
    const int id = btf__find_by_name_kind(b.get(), ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF);
    if (id <= 0) return "no raw tracepoint '" + name + "' in this kernel's BTF";
    return tracing_refusal(BPF_TRACE_RAW_TP, static_cast<std::uint32_t>(id),
                           "this kernel refuses tp_btf programs (program type tracing)",
                           "this kernel refuses to attach a tp_btf program to '" + name + "'");
}

/// Empty when a tcx link can be made on the candidate's interface: a program that only
/// returns TCX_NEXT (traffic goes on as if it were not there) is attached there and
/// detached at once.
inline std::string tcx_refusal(const AttachCandidate& c) {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
    const unsigned ifindex = if_nametoindex(c.target.c_str());
    if (ifindex == 0) return "no network interface '" + c.target + "'";
    const bpf_attach_type type = tcx_attach_type(c.direction);
    const int prog = tiny_prog(BPF_PROG_TYPE_SCHED_CLS, type, -1);
    if (prog < 0) return std::string("this kernel refuses tc programs: ") + std::strerror(-prog);
    const int link = bpf_link_create(prog, static_cast<int>(ifindex), type, nullptr);
    const int err = errno;
    ::close(prog);
    if (link < 0)
        return std::string("this kernel refuses tcx links (kernel >= 6.6 has them): ") + std::strerror(err);
    ::close(link);
    return {};
#else
    (void)c;
    return "tcx needs libbpf >= 1.3, this program was built with libbpf " + bpf::libbpf_compiled_version();
#endif
}

/// Empty when a kprobe_multi link can be made on the candidate's first function.
inline std::string kprobe_multi_refusal(const AttachCandidate& c) {
    if (!kernel_has_kprobes()) return std::string(kprobes_hint);
    if (c.symbols.empty()) return "no functions given";
    const int prog = tiny_prog(BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, 0);
    if (prog < 0) return std::string("this kernel refuses kprobe_multi programs: ") + std::strerror(-prog);
    const char* syms[] = {c.symbols.front().c_str()};
    LIBBPF_OPTS(bpf_link_create_opts, o);
    o.kprobe_multi.cnt = 1;
    o.kprobe_multi.syms = syms;
    const int link = bpf_link_create(prog, 0, BPF_TRACE_KPROBE_MULTI, &o);
    const int err = errno;
    ::close(prog);
    if (link < 0)
        return "this kernel refuses a kprobe_multi link on '" + c.symbols.front() +
               "' (kernel >= 5.18 with CONFIG_FPROBE has them): " + std::strerror(err);
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
        case K::TpBtf: return tp_btf_refusal(c.target);
        case K::Tcx: return tcx_refusal(c);
        case K::Clsact:
            if (if_nametoindex(c.target.c_str()) == 0) return "no network interface '" + c.target + "'";
            return {};
        case K::KprobeMulti: return kprobe_multi_refusal(c);
        case K::Kprobes:
            if (!kernel_has_kprobes()) return std::string(kprobes_hint);
            for (const auto& f : c.symbols)
                if (!kallsyms_has(f)) return "no kernel function '" + f + "' in /proc/kallsyms";
            return {};
        case K::Group:
            for (const auto& p : c.parts)
                if (std::string why = why_not(p); !why.empty()) return p.describe() + ": " + why;
            return {};
    }
    return "unknown attach kind";
}

/// The candidates of `c` that name a program: itself, or the parts of a group.
inline std::vector<const AttachCandidate*> leaves(const AttachCandidate& c) {
    std::vector<const AttachCandidate*> out;
    if (c.kind != AttachCandidate::Kind::Group) {
        out.push_back(&c);
        return out;
    }
    for (const auto& p : c.parts)
        for (const AttachCandidate* l : leaves(p)) out.push_back(l);
    return out;
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

    /// Attaches the chosen candidate (after Module::load()); all of a group, every
    /// function of Kind::Kprobes. What it made stays attached while the Module lives; on
    /// an exception what was attached before it is detached again.
    AttachResult attach(Module& mod) const {
        AttachResult r;
        try {
            attach_one(mod, chosen(), r);
        } catch (...) {
            for (Link* l : r.links) l->destroy();
            for (LegacyAttachment* a : r.legacy)
                if (a->attached()) try { a->detach(); } catch (...) {}
            throw;
        }
        return r;
    }

private:
    static void attach_one(Module& mod, const AttachCandidate& c, AttachResult& r) {
        using K = AttachCandidate::Kind;
        if (c.kind == K::Group) {
            for (const auto& part : c.parts) attach_one(mod, part, r);
            return;
        }
        Prog p = mod.program(c.program);
        switch (c.kind) {
            case K::Kprobe: r.links.push_back(&p.attach_kprobe(c.target)); return;
            case K::Kretprobe: r.links.push_back(&p.attach_kretprobe(c.target)); return;
            case K::Fentry:
            case K::Fexit:
            case K::TpBtf: r.links.push_back(&p.attach_trace()); return;
            case K::Tracepoint: r.links.push_back(&p.attach_tracepoint(c.category, c.target)); return;
            case K::RawTracepoint: r.links.push_back(&p.attach_raw_tracepoint(c.target)); return;
            case K::Tcx: r.links.push_back(&p.attach_tcx(c.target)); return;
            case K::Clsact: r.legacy.push_back(&p.attach_clsact(c.target, c.direction)); return;
            case K::KprobeMulti: {
                KprobeMultiOptions o;
                o.symbols = c.symbols;
                r.links.push_back(&p.attach_kprobe_multi(o));
                return;
            }
            case K::Kprobes:
                for (const auto& f : c.symbols) r.links.push_back(&p.attach_kprobe(f));
                return;
            case K::Group: return;
        }
        throw Error(EINVAL, "unknown attach kind");
    }

    friend AttachPlan plan_attach(Module& mod, std::vector<AttachCandidate> candidates);
    std::vector<AttachCandidate> candidates_;
    std::size_t chosen_ = 0;
    std::vector<std::string> rejected_;
};

/// Before load: picks the first candidate this kernel supports, turns autoload on for
/// its program and off for the other candidates' programs, sets an fentry/fexit
/// target, and returns the choice. Throws listing every reason when none fits (EOPNOTSUPP),
/// and throws at once, trying no candidate, when the process lacks the privileges to
/// load BPF programs at all (EPERM): only a kernel's missing support is a reason to fall
/// back. Each candidate is probed for what it needs: kprobes in the kernel and the function
/// in /proc/kallsyms; fentry/fexit and tp_btf by loading and attaching a minimal program of
/// that kind; a tracepoint in tracefs; a raw tracepoint in the kernel's BTF; tcx and
/// kprobe_multi by making a link; clsact by the interface.
inline AttachPlan plan_attach(Module& mod, std::vector<AttachCandidate> candidates) {
    if (mod.loaded())
        throw Error(EBUSY, detail::describe("planning attach for object", mod.name(),
                                            "the object is already loaded; plan before Module::load()"));
    if (candidates.empty()) throw Error(EINVAL, "planning attach: no candidates given");
    // Without the privileges every probe fails, with errors that would read as "this
    // kernel cannot": that is not a reason to fall back, and the load would fail anyway.
    if (detail::lacks_bpf_privileges())
        throw Error(EPERM, detail::describe("planning attach for object", mod.name(),
                                            std::string(detail::privileges_hint) +
                                                " (the candidates' kernel support cannot be probed without them)"));
    for (const auto& c : candidates)
        for (const AttachCandidate* leaf : detail::leaves(c)) (void)mod.program(leaf->program);  // unknown names throw here
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
    const auto picked = detail::leaves(candidates[i]);
    const auto is_picked = [&](const std::string& prog) {
        for (const AttachCandidate* leaf : picked)
            if (leaf->program == prog) return true;
        return false;
    };
    for (const auto& c : candidates)
        for (const AttachCandidate* leaf : detail::leaves(c))
            if (!is_picked(leaf->program)) mod.program(leaf->program).set_autoload(false);
    for (const AttachCandidate* leaf : picked) {
        Prog p = mod.program(leaf->program);
        p.set_autoload(true);
        if (leaf->kind == AttachCandidate::Kind::Fentry || leaf->kind == AttachCandidate::Kind::Fexit)
            p.set_attach_target(leaf->target);
        if (leaf->kind == AttachCandidate::Kind::Tcx) p.set_expected_attach_type(tcx_attach_type(leaf->direction));
    }
    plan.candidates_ = std::move(candidates);
    plan.chosen_ = i;
    return plan;
}

}  // namespace bpf
