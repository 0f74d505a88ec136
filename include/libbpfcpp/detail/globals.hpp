// The global variables of a Module's object: where each one lives (a variable of an
// internal map's BTF DATASEC) and the bytes behind it, libbpf's copy before load and the
// kernel's map, mapped once per section, after. Module's global members forward here.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "../error.hpp"
#include "compiled.hpp"
#include "module_state.hpp"

namespace bpf::detail {

/// The BTF string at `offset`, or "" where the object's BTF has none there (a corrupt
/// object: libbpf returns NULL, which a string_view must not be made from).
inline std::string_view btf_name(const btf* b, std::uint32_t offset) noexcept {
    const char* name = btf__name_by_offset(b, offset);
    return name == nullptr ? std::string_view() : std::string_view(name);
}

/// Where a global variable lives: which internal map and where in its value.
struct GlobalLocation {
    bpf_map* map = nullptr;
    std::size_t offset = 0;
    std::size_t size = 0;
    std::string section;
};

/// True for the global sections the kernel freezes at load (BPF_F_RDONLY_PROG and
/// map_freeze()), which user space can then only map read-only.
inline bool frozen_section(std::string_view section) noexcept {
    return section.rfind(".rodata", 0) == 0 || section == ".kconfig";
}

/// Calls `fn(location, name)` for each global variable of `s` until it returns true;
/// true when one did.
template <class Fn>
bool for_each_global(const ModuleState& s, Fn&& fn) {
    const btf* b = bpf_object__btf(s.obj);
    if (b == nullptr) return false;
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(s.obj, m)) != nullptr) {
        if (!bpf_map__is_internal(m)) continue;
        const btf_type* sec = btf__type_by_id(b, bpf_map__btf_value_type_id(m));
        if (sec == nullptr || !btf_is_datasec(sec)) continue;
        const btf_var_secinfo* vs = btf_var_secinfos(sec);
        for (unsigned i = 0; i < btf_vlen(sec); ++i) {
            const btf_type* var = btf__type_by_id(b, vs[i].type);
            if (var == nullptr || !btf_is_var(var)) continue;
            GlobalLocation loc{m, vs[i].offset, vs[i].size, std::string(btf_name(b, sec->name_off))};
            if (fn(loc, btf_name(b, var->name_off))) return true;
        }
    }
    return false;
}

/// The names of all global variables of `s`.
LIBBPFCPP_INLINE std::vector<std::string> global_names(const ModuleState& s);

/// The variable `name` of `size` bytes, checked against its section; `op` names the
/// operation in the Error.
LIBBPFCPP_INLINE GlobalLocation locate_global(const ModuleState& s, std::string_view name, std::size_t size,
                                              std::string_view op);

/// The bytes of the section of `loc`: before load libbpf's copy, after load the kernel's
/// map, mapped once and kept until the module goes.
LIBBPFCPP_INLINE std::byte* section_bytes(ModuleState& s, const GlobalLocation& loc, bool writable);

/// The whole global section `section`, writable or not (Module::section_memory).
LIBBPFCPP_INLINE std::span<std::byte> section_span(ModuleState& s, std::string_view section, bool writable);

/// Writes the variable `name` (Module::set_global_bytes).
LIBBPFCPP_INLINE void set_global_bytes(ModuleState& s, std::string_view name, std::span<const std::byte> value);

/// Copies the variable `name` into `out` (`size` bytes; Module::global).
LIBBPFCPP_INLINE void read_global(ModuleState& s, std::string_view name, void* out, std::size_t size);

}  // namespace bpf::detail

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE std::vector<std::string> detail::global_names(const ModuleState& s) {
    std::vector<std::string> out;
    for_each_global(s, [&](const GlobalLocation&, std::string_view n) {
        out.emplace_back(n);
        return false;
    });
    return out;
}

LIBBPFCPP_INLINE detail::GlobalLocation detail::locate_global(const ModuleState& s, std::string_view name,
                                                              std::size_t size, std::string_view op) {
    GlobalLocation found;
    const bool ok = for_each_global(s, [&](const GlobalLocation& loc, std::string_view n) {
        if (n != name) return false;
        found = loc;
        return true;
    });
    if (!ok) {
        std::string names;
        for (const auto& n : global_names(s)) names += (names.empty() ? "" : ", ") + n;
        throw Error(ENOENT, describe(op, name,
                                     "no such global variable in object '" + s.name +
                                         "'; globals: " + (names.empty() ? "(none)" : names)));
    }
    if (size != found.size)
        throw Error(EINVAL, describe(op, name,
                                     "the variable is " + std::to_string(found.size) + " bytes in " +
                                         found.section + ", the C++ type is " + std::to_string(size)));
    // The offset comes from the object's BTF, which a damaged or hostile file can set
    // to anything: check it against the section before any byte is copied.
    const std::size_t section_size = bpf_map__value_size(found.map);
    if (found.offset > section_size || found.size > section_size - found.offset)
        throw Error(EINVAL, describe(op, name,
                                     "the object's BTF places the variable at bytes " +
                                         std::to_string(found.offset) + ".." +
                                         std::to_string(std::size_t{found.offset} + found.size) + " of " +
                                         found.section + ", which is " + std::to_string(section_size) +
                                         " bytes long; the object file is damaged, rebuild it"));
    return found;
}

LIBBPFCPP_INLINE std::byte* detail::section_bytes(ModuleState& s, const GlobalLocation& loc, bool writable) {
    if (!s.loaded) {
        std::size_t size = 0;
        // Before load the initial value is libbpf's own copy; read-only here.
        return const_cast<std::byte*>(static_cast<const std::byte*>(bpf_map__initial_value(loc.map, &size)));
    }
    const bool frozen = frozen_section(loc.section);
    if (writable && frozen)
        throw Error(EPERM, describe("setting global in", loc.section,
                                    "the section is read-only once loaded; set it before Module::load()"));
    if ((bpf_map__map_flags(loc.map) & BPF_F_MMAPABLE) == 0)
        throw Error(EOPNOTSUPP, describe("accessing global section", loc.section,
                                         "the section is not mmapable on this kernel"));
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t len = (bpf_map__value_size(loc.map) + page - 1) / page * page;
    const int prot = frozen ? PROT_READ : PROT_READ | PROT_WRITE;
    for (const auto& m : s.mmaps)
        if (m.map == loc.map) return static_cast<std::byte*>(m.addr);
    void* addr = mmap(nullptr, len, prot, MAP_SHARED, bpf_map__fd(loc.map), 0);
    if (addr == MAP_FAILED) throw_errno(errno, "mapping global section", loc.section);
    s.mmaps.push_back({loc.map, addr, len});
    return static_cast<std::byte*>(addr);
}

LIBBPFCPP_INLINE std::span<std::byte> detail::section_span(ModuleState& s, std::string_view section, bool writable) {
    const btf* b = bpf_object__btf(s.obj);
    bpf_map* m = nullptr;
    while (b != nullptr && (m = bpf_object__next_map(s.obj, m)) != nullptr) {
        if (!bpf_map__is_internal(m)) continue;
        const btf_type* sec = btf__type_by_id(b, bpf_map__btf_value_type_id(m));
        if (sec == nullptr || !btf_is_datasec(sec) || btf_name(b, sec->name_off) != section) continue;
        const GlobalLocation loc{m, 0, bpf_map__value_size(m), std::string(section)};
        if (writable && s.loaded && frozen_section(section))
            throw Error(EPERM, describe("writing global section", section,
                                        "the kernel mapped it read-only at load; read it through a "
                                        "const Module (std::as_const(mod).section_memory()), and set "
                                        "its values before Module::load()"));
        return {section_bytes(s, loc, writable), bpf_map__value_size(m)};
    }
    throw Error(ENOENT, describe("accessing global section", section, "no such section in object '" + s.name + "'"));
}

LIBBPFCPP_INLINE void detail::set_global_bytes(ModuleState& s, std::string_view name,
                                               std::span<const std::byte> value) {
    const GlobalLocation loc = locate_global(s, name, value.size(), "setting global");
    if (!s.loaded) {
        // libbpf's copy of the section is written in place, as bpftool's skeletons
        // do (it is libbpf's writable mapping; older headers declare it const): a
        // copy of the whole section would cost its size, which a .bss can declare in
        // gigabytes without a byte of it in the file.
        std::size_t size = 0;
        auto* cur = static_cast<std::byte*>(const_cast<void*>(bpf_map__initial_value(loc.map, &size)));
        if (cur == nullptr || loc.offset + value.size() > size)
            throw Error(EINVAL, describe("setting global", name,
                                         "section " + loc.section + " has no initial value of " +
                                             "that size; the object file is damaged, rebuild it"));
        std::memcpy(cur + loc.offset, value.data(), value.size());
        return;
    }
    std::memcpy(section_bytes(s, loc, true) + loc.offset, value.data(), value.size());
}

LIBBPFCPP_INLINE void detail::read_global(ModuleState& s, std::string_view name, void* out, std::size_t size) {
    const GlobalLocation loc = locate_global(s, name, size, "reading global");
    const std::byte* bytes = section_bytes(s, loc, false);
    if (bytes == nullptr)
        throw Error(EINVAL, describe("reading global", name,
                                     "section " + loc.section + " has no data; the object file is damaged, "
                                     "rebuild it"));
    std::memcpy(out, bytes + loc.offset, size);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
