// struct_ops: registering a struct_ops map (a kernel ops table filled by BPF programs,
// e.g. a TCP congestion control or a sched_ext scheduler) and the checks made on an
// object's struct_ops sections before it is loaded.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "detail/needs_libbpf.hpp"
#include "error.hpp"
#include "link.hpp"
#include "map.hpp"
#include "prog.hpp"
#include "version.hpp"

namespace bpf {

/// The libbpf release that first reads SEC(".struct_ops.link"), the form whose
/// registration is a BPF link (a struct_ops map created with BPF_F_LINK).
inline constexpr int struct_ops_link_libbpf_major = 1;
inline constexpr int struct_ops_link_libbpf_minor = 2;

/// A function-pointer member of a struct_ops map's data before load: the program of the
/// object that fills it, or none. The members of a skeleton's struct_ops shadow
/// (libbpfcpp-gen) have this type; libbpf reads them at load (libbpf >= 1.4).
///
/// ```cpp
/// auto open = cc::Skeleton::open();
/// open.struct_ops.hcc().ssthresh = open.progs.hcc_ssthresh_v2;   // another program of the object
/// open.struct_ops.hcc().undo_cwnd.clear();                       // the kernel's default
/// ```
class StructOpsProgram {
public:
    /// The program's name; empty when the member is not filled.
    [[nodiscard]] std::string_view program_name() const noexcept {
        return prog_ != nullptr ? std::string_view(bpf_program__name(prog_)) : std::string_view();
    }
    /// True when the member is not filled.
    [[nodiscard]] bool empty() const noexcept { return prog_ == nullptr; }
    /// Fills the member with `prog`, a struct_ops program of the same object.
    StructOpsProgram& operator=(const Prog& prog);
    /// Leaves the member to the kernel's default.
    void clear() noexcept { prog_ = nullptr; }
    /// The raw libbpf program, or nullptr.
    [[nodiscard]] bpf_program* get() const noexcept { return prog_; }

private:
    bpf_program* prog_;
};
static_assert(std::is_standard_layout_v<StructOpsProgram> && sizeof(StructOpsProgram) == sizeof(void*),
              "StructOpsProgram must have the layout of libbpf's program pointer");

/// The data of struct_ops map `map` before load, as `T` (the generated mirror of the ops
/// struct of the object's BTF): what libbpf sends to the kernel at load. Needs libbpf >= 1.4.
template <class T>
T& struct_ops_data(const Map& map);

/// A struct_ops map of a skeleton (`skel.struct_ops.NAME`), with `T` the generated shadow
/// of its ops struct: ops() before load, attach() after.
///
/// ```cpp
/// auto open = fifo::Skeleton::open();
/// open.struct_ops.fifo_ops.ops().timeout_ms = 5000;      // libbpf >= 1.4
/// auto skel = std::move(open).load();
/// skel.struct_ops.fifo_ops.attach();                     // kept by the Module
/// ```
template <class T>
class StructOps {
public:
    /// The struct_ops map `map`.
    explicit StructOps(Map map) noexcept : map_(map) {}
    /// The ops struct libbpf sends at load: data members and the programs that fill the
    /// function-pointer members (libbpf >= 1.4; before load only).
    [[nodiscard]] T& ops() const { return struct_ops_data<T>(map_); }
    /// Registers the ops with the kernel (Map::attach_struct_ops(): the Module keeps the link).
    Link& attach() const {
        Map m = map_;
        return m.attach_struct_ops();
    }
    /// The map.
    [[nodiscard]] const Map& map() const noexcept { return map_; }

private:
    Map map_;
};

namespace detail {

/// The bytes behind struct_ops_data(), checked against `size`.
LIBBPFCPP_INLINE void* struct_ops_bytes(const Map& map, std::size_t size);

/// Refuses an object with maps in SEC(".struct_ops.link") when the libbpf running this
/// program predates that section. Such a libbpf skips the section, so the maps do not
/// exist and their programs reach the kernel without the ops type they implement; the
/// kernel's refusal (ENOTSUPP, 524) then reads as a verifier rejection of code that was
/// never verified.
LIBBPFCPP_INLINE void check_struct_ops_sections(bpf_object* obj, std::string_view object_name);

/// Refuses an object with a struct_ops map whose ops type (e.g. struct sched_ext_ops) the
/// running kernel does not define, naming the type and, for the families it knows, the
/// kernel option; libbpf would fail later, on the first kfunc it cannot resolve.
LIBBPFCPP_INLINE void check_struct_ops_types(bpf_object* obj, std::string_view object_name);

/// True when the kernel's BTF (vmlinux or a loaded module) has struct `name`.
LIBBPFCPP_INLINE bool kernel_has_struct(const char* name);

/// The variables of the BTF data section `section` of `obj`, comma separated; empty when
/// the object has no such section.
LIBBPFCPP_INLINE std::string datasec_variables(bpf_object* obj, std::string_view section);

}  // namespace detail

template <class T>
T& struct_ops_data(const Map& map) {
    static_assert(std::is_standard_layout_v<T>, "a struct_ops shadow is a plain struct");
    return *static_cast<T*>(detail::struct_ops_bytes(map, sizeof(T)));
}

/// Associates a loaded program that is not itself a struct_ops program (a tracing or
/// syscall program, say) with a loaded struct_ops map (bpf_program__assoc_struct_ops):
/// kfuncs of a struct_ops subsystem the program calls then act on that instance. Both
/// must be loaded; a kernel of 6.18 or older refuses (no BPF_PROG_ASSOC_STRUCT_OPS). Throws
/// naming libbpf 1.7 on an older libbpf.
///
/// ```cpp
/// mod.load();
/// bpf::assoc_struct_ops(mod.program("trigger"), mod.map("ops"));
/// ```
inline void assoc_struct_ops(const Prog& prog, const Map& map) {
    const std::string what(prog.name());
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 7)
    constexpr const char* op = "associating program with struct_ops";
    if (prog.get() == nullptr || map.get() == nullptr)
        throw Error(EINVAL, detail::describe(op, what, "the program or the map is not part of an opened object"));
    if (prog.fd() < 0 || bpf_map__fd(map.get()) < 0)
        throw Error(EINVAL, detail::describe(op, what, "the object is not loaded; call Module::load() first"));
    if (bpf_map__type(map.get()) != BPF_MAP_TYPE_STRUCT_OPS)
        throw Error(EINVAL, detail::describe(op, what, "map '" + std::string(map.name()) +
                                                           "' is not a struct_ops map (SEC(\".struct_ops\"))"));
    if (bpf_program__type(prog.get()) == BPF_PROG_TYPE_STRUCT_OPS)
        throw Error(EINVAL, detail::describe(op, what,
                                             "a struct_ops program belongs to the map whose table names it"));
    if (int ret = bpf_program__assoc_struct_ops(prog.get(), map.get(), nullptr); ret != 0)
        detail::throw_errno(detail::positive_errno(ret), op, what,
                            "the kernel needs BPF_PROG_ASSOC_STRUCT_OPS (Linux > 6.18)");
#else
    (void)map;
    detail::libbpf_too_old("associating program with struct_ops", what,
                           "bpf::assoc_struct_ops (bpf_program__assoc_struct_ops)", "struct_ops association", 1, 7, {});
#endif
}

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Map::attach_struct_ops() {
    require_loaded("attaching struct_ops map");
    if (type() != BPF_MAP_TYPE_STRUCT_OPS)
        throw Error(EINVAL, detail::describe("attaching struct_ops map", qualified_name(),
                                             "not a struct_ops map (declare it in SEC(\".struct_ops\") or "
                                             "SEC(\".struct_ops.link\"))"));
    bpf_link* l = bpf_map__attach_struct_ops(map_);
    if (l == nullptr) {
        const int err = errno;
        std::string why = detail::explain_errno(err);
        if (err == EEXIST || err == EBUSY)
            why = "an ops table of this name or kind is already registered (" + why + ")";
        detail::throw_errno(err, "attaching struct_ops map", qualified_name(), why);
    }
    return mod_->keep(l, "struct_ops " + std::string(name()));
}

LIBBPFCPP_INLINE StructOpsProgram& StructOpsProgram::operator=(const Prog& prog) {
    if (prog.type() != BPF_PROG_TYPE_STRUCT_OPS)
        throw Error(EINVAL, detail::describe("filling a struct_ops member with program", std::string(prog.name()),
                                             "not a struct_ops program (SEC(\"struct_ops/...\"))"));
    prog_ = prog.get();
    return *this;
}

LIBBPFCPP_INLINE void* detail::struct_ops_bytes(const Map& map, std::size_t size) {
    const std::string op = "accessing the ops of struct_ops map";
    if (map.type() != BPF_MAP_TYPE_STRUCT_OPS)
        throw Error(EINVAL, describe(op, map.qualified_name(), "not a struct_ops map"));
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
    if (map.fd() >= 0)
        throw Error(EBUSY, describe(op, map.qualified_name(),
                                    "the object is loaded: the ops are the kernel's now (set them before load)"));
    std::size_t have = 0;
    void* data = bpf_map__initial_value(map.get(), &have);
    if (data == nullptr) throw Error(EINVAL, describe(op, map.qualified_name(), "libbpf has no data for it"));
    if (have != size)
        throw Error(EINVAL, describe(op, map.qualified_name(),
                                     "its ops struct is " + std::to_string(have) + " bytes, the shadow type " +
                                         std::to_string(size) + ": regenerate the skeleton"));
    return data;
#else
    (void)size;
    libbpf_too_old(op, map.qualified_name(), "setting struct_ops members before load", "struct_ops shadow members", 1, 4,
                   "the ops keep the values and programs of the BPF source");
#endif
}

LIBBPFCPP_INLINE std::string detail::datasec_variables(bpf_object* obj, std::string_view section) {
    const btf* b = bpf_object__btf(obj);
    if (b == nullptr) return {};
    const std::uint32_t n = btf__type_cnt(b);
    for (std::uint32_t id = 1; id < n; ++id) {
        const btf_type* t = btf__type_by_id(b, id);
        if (t == nullptr || !btf_is_datasec(t)) continue;
        const char* name = btf__name_by_offset(b, t->name_off);
        if (name == nullptr || section != name) continue;
        std::string vars;
        const btf_var_secinfo* v = btf_var_secinfos(t);
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i, ++v) {
            const btf_type* var = btf__type_by_id(b, v->type);
            const char* vn = var != nullptr ? btf__name_by_offset(b, var->name_off) : nullptr;
            vars = cat({vars, vars.empty() ? "" : ", ", vn != nullptr ? vn : "?"});
        }
        return vars.empty() ? std::string("?") : vars;
    }
    return {};
}

LIBBPFCPP_INLINE void detail::check_struct_ops_sections(bpf_object* obj, std::string_view object_name) {
    const auto major = static_cast<int>(libbpf_major_version());
    const auto minor = static_cast<int>(libbpf_minor_version());
    if (major > struct_ops_link_libbpf_major ||
        (major == struct_ops_link_libbpf_major && minor >= struct_ops_link_libbpf_minor))
        return;
    const std::string vars = datasec_variables(obj, ".struct_ops.link");
    if (vars.empty()) return;
    throw_error(EOPNOTSUPP, "loading object", object_name,
                {"its struct_ops map(s) ", vars, " are in section '.struct_ops.link', which libbpf knows from release ",
                 Decimal(struct_ops_link_libbpf_major), ".", Decimal(struct_ops_link_libbpf_minor),
                 " on; this program runs libbpf ", Decimal(major), ".", Decimal(minor),
                 " (build against libbpf >= 1.2, or declare them in SEC(\".struct_ops\"))"});
}

LIBBPFCPP_INLINE bool detail::kernel_has_struct(const char* name) {
    btf* vm = btf__load_vmlinux_btf();
    if (vm == nullptr) return true;  // no kernel BTF: libbpf says so itself
    bool found = btf__find_by_name_kind(vm, name, BTF_KIND_STRUCT) > 0;
    // Modules may define ops types too; their BTF is split on top of vmlinux's.
    for (std::uint32_t id = 0; !found && bpf_btf_get_next_id(id, &id) == 0;) {
        btf* mod = btf__load_from_kernel_by_id_split(id, vm);
        if (mod == nullptr) continue;
        found = btf__find_by_name_kind(mod, name, BTF_KIND_STRUCT) > 0;
        btf__free(mod);
    }
    btf__free(vm);
    return found;
}

LIBBPFCPP_INLINE void detail::check_struct_ops_types(bpf_object* obj, std::string_view object_name) {
    const btf* b = bpf_object__btf(obj);
    if (b == nullptr) return;
    // The ops tables are the variables of the struct_ops sections, typed by their struct.
    const std::uint32_t n = btf__type_cnt(b);
    for (std::uint32_t id = 1; id < n; ++id) {
        const btf_type* sec = btf__type_by_id(b, id);
        if (sec == nullptr || !btf_is_datasec(sec)) continue;
        const char* sec_name = btf__name_by_offset(b, sec->name_off);
        if (sec_name == nullptr || std::string_view(sec_name).rfind(".struct_ops", 0) != 0) continue;
        const btf_var_secinfo* v = btf_var_secinfos(sec);
        for (std::uint16_t i = 0; i < btf_vlen(sec); ++i, ++v) {
            const btf_type* var = btf__type_by_id(b, v->type);
            if (var == nullptr || !btf_is_var(var)) continue;
            const char* var_name = btf__name_by_offset(b, var->name_off);
            bpf_map* m = var_name != nullptr ? bpf_object__find_map_by_name(obj, var_name) : nullptr;
            if (m != nullptr && !bpf_map__autocreate(m)) continue;
            const btf_type* t = btf__type_by_id(b, btf__resolve_type(b, var->type));
            const char* type = t != nullptr ? btf__name_by_offset(b, t->name_off) : nullptr;
            if (type == nullptr || *type == '\0' || kernel_has_struct(type)) continue;
            const std::string_view tn(type);
            const std::string_view why = tn == "sched_ext_ops"
                                             ? ": it has no sched_ext (CONFIG_SCHED_CLASS_EXT, Linux 6.12+)"
                                         : tn == "tcp_congestion_ops"
                                             ? ": it has no BPF congestion controls (CONFIG_BPF_JIT, CONFIG_INET)"
                                             : "";
            throw_error(EOPNOTSUPP, "loading object", object_name,
                        {"its struct_ops map '", var_name != nullptr ? var_name : "?", "' implements struct ", tn,
                         ", which this kernel does not define (not in its BTF)", why});
        }
    }
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
