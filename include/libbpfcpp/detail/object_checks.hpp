// Checks of an object file's bytes made before libbpf sees them, for the libbpf releases
// that crash on damage they do not check for.
//
// libbpf before 1.3 parses an object's .BTF (btf__new) without checking that the type
// IDs and string offsets its types refer to exist; bpf_object__open_mem() then follows
// such a reference to a NULL type and faults (a read at address 0x7, the kind byte of
// btf_type::info). libbpf 1.3 added btf_sanity_check() / btf_validate_type() to btf__new()
// and refuses the same objects with an error. check_object_bytes() makes the same checks
// with libbpf's public BTF API, so an older libbpf is handed only what 1.3 would accept.
#pragma once

#include "cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "../error.hpp"

namespace bpf::detail {

/// The bytes of the object's `.BTF` section as libbpf picks it (the last section of that
/// name, of type SHT_PROGBITS), or an empty span when `elf` is not a 64-bit ELF file whose
/// section table can be read, has no .BTF, or has one libbpf refuses by itself.
inline std::span<const std::byte> elf_btf_section(std::span<const std::byte> elf) noexcept {
    // Fixed ELF64 layout (elf.h), read by offset so that either byte order works and no
    // unaligned struct is formed over the caller's bytes.
    // Section headers are read 64 bytes apart whatever e_shentsize says, as libelf does.
    constexpr std::size_t ehdr_size = 64, shentsize = 64;
    if (elf.size() < ehdr_size || std::memcmp(elf.data(), "\x7f" "ELF", 4) != 0) return {};
    if (static_cast<unsigned char>(elf[4]) != 2) return {};  // ELFCLASS64: libbpf reads nothing else
    const bool big = static_cast<unsigned char>(elf[5]) == 2;  // ELFDATA2MSB
    auto read = [&](std::size_t at, std::size_t width) -> std::uint64_t {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < width; ++i) {
            const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(elf[at + i]));
            v |= big ? byte << (8 * (width - 1 - i)) : byte << (8 * i);
        }
        return v;
    };
    const std::uint64_t shoff = read(0x28, 8);
    std::uint64_t shnum = read(0x3c, 2), shstrndx = read(0x3e, 2);
    if (shoff == 0 || shoff > elf.size() || elf.size() - shoff < shentsize) return {};
    struct Section {
        std::uint64_t name, type, offset, size, link;
    };
    auto section = [&](std::uint64_t i) {
        const std::size_t at = static_cast<std::size_t>(shoff + i * shentsize);
        return Section{read(at, 4), read(at + 4, 4), read(at + 0x18, 8), read(at + 0x20, 8), read(at + 0x28, 4)};
    };
    // Extended numbering: past 0xff00 sections the counts are in section 0.
    if (shnum == 0) shnum = section(0).size;
    if (shstrndx == 0xffff) shstrndx = section(0).link;
    if (shnum == 0 || shstrndx >= shnum || (elf.size() - shoff) / shentsize < shnum) return {};
    auto fits = [&](const Section& s) { return s.offset <= elf.size() && s.size <= elf.size() - s.offset; };
    const Section names = section(shstrndx);
    if (!fits(names)) return {};
    constexpr std::string_view wanted(".BTF\0", 5);
    constexpr std::uint64_t sht_progbits = 1, sht_strtab = 3, sht_llvm_addrsig = 0x6fff4c03;
    std::span<const std::byte> found;
    for (std::uint64_t i = 1; i < shnum; ++i) {
        const Section s = section(i);
        if (s.name >= names.size || names.size - s.name < wanted.size()) continue;
        if (std::memcmp(elf.data() + names.offset + s.name, wanted.data(), wanted.size()) != 0) continue;
        if (s.type == sht_strtab || s.type == sht_llvm_addrsig) continue;  // libbpf passes over these
        if (s.type != sht_progbits || !fits(s)) return {};                  // and refuses the object here
        found = elf.subspan(static_cast<std::size_t>(s.offset), static_cast<std::size_t>(s.size));
    }
    return found;
}

/// What is wrong with type `id` of `b` that libbpf >= 1.3 refuses (btf_validate_type()),
/// or empty.
inline std::string btf_type_problem(const btf* b, std::uint32_t id) {
    const btf_type* t = btf__type_by_id(b, id);
    if (t == nullptr) return cat({"BTF type [", Decimal(id), "] cannot be read"});
    // The first reference that leads nowhere, in libbpf's order: a string offset (`what`
    // names it) or, with `what` null, a type ID. One message at the end, rather than one
    // per check, keeps this function small in every file that opens an object.
    bool found = false;
    std::uint32_t bad = 0;
    const char* what = nullptr;
    auto name = [&](std::uint32_t off, const char* kind) {
        if (found || btf__str_by_offset(b, off) != nullptr) return;
        found = true;
        bad = off;
        what = kind;
    };
    auto ref = [&](std::uint32_t type) {
        if (found || btf__type_by_id(b, type) != nullptr) return;
        found = true;
        bad = type;
        what = nullptr;
    };
    // The `vlen` records after a member, enumerator or parameter list, `stride` bytes
    // apart: each one's name (the first field of all four kinds), and the type it refers
    // to (the second field) where `typed` (members and parameters).
    auto items = [&](const void* first, std::size_t stride, bool typed, const char* kind) {
        const auto* item = static_cast<const unsigned char*>(first);
        for (std::uint16_t i = 0; !found && i < btf_vlen(t); ++i, item += stride) {
            std::uint32_t field = 0;
            std::memcpy(&field, item, sizeof field);
            name(field, kind);
            if (!typed) continue;
            std::memcpy(&field, item + sizeof field, sizeof field);
            ref(field);
        }
    };
    name(t->name_off, "name");
    switch (found ? 0 : btf_kind(t)) {  // a bad name is the problem already
    case BTF_KIND_UNKN:
    case BTF_KIND_INT:
    case BTF_KIND_FWD:
    case BTF_KIND_FLOAT:
        break;
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
    case BTF_KIND_TYPE_TAG:
        ref(t->type);
        break;
    case BTF_KIND_ARRAY:
        ref(btf_array(t)->type);
        ref(btf_array(t)->index_type);
        break;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
        items(btf_members(t), sizeof(struct btf_member), true, "member name");
        break;
    case BTF_KIND_ENUM:
        items(btf_enum(t), sizeof(struct btf_enum), false, "enumerator name");
        break;
    case BTF_KIND_ENUM64:
        items(btf_enum64(t), sizeof(struct btf_enum64), false, "enumerator name");
        break;
    case BTF_KIND_FUNC:
        ref(t->type);
        if (!found && !btf_is_func_proto(btf__type_by_id(b, t->type)))
            return cat({"BTF type [", Decimal(id), "] is a function whose type ", Decimal(t->type),
                        " is not a function prototype"});
        break;
    case BTF_KIND_FUNC_PROTO:
        items(btf_params(t), sizeof(struct btf_param), true, "parameter name");
        break;
    case BTF_KIND_DATASEC: {
        const auto* v = btf_var_secinfos(t);
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i, ++v) ref(v->type);
        break;
    }
    default:
        return cat({"BTF type [", Decimal(id), "] has kind ", Decimal(btf_kind(t)),
                    ", which no BTF has"});
    }
    if (!found) return {};
    if (what != nullptr)
        return cat({"BTF type [", Decimal(id), "] has a ", what, " at string offset ", Decimal(bad),
                    ", past the string section"});
    return cat({"BTF type [", Decimal(id), "] refers to type ", Decimal(bad),
                ", which does not exist (the object has ", Decimal(btf__type_cnt(b) - 1), " types)"});
}

/// What is wrong with the .kconfig externs of `b`, or empty. libbpf (1.0 to 1.7 at least)
/// keeps an extern's size in an int and returns a size that does not fit as if it were
/// an error code; bpf_object__open_mem() then hands its caller ERR_PTR(size), a pointer
/// that is neither NULL nor an object, and the first use of it faults.
inline std::string kconfig_problem(const btf* b) {
    const std::uint32_t count = btf__type_cnt(b);
    for (std::uint32_t id = 1; id < count; ++id) {
        const btf_type* t = btf__type_by_id(b, id);
        const char* name = btf_is_datasec(t) ? btf__name_by_offset(b, t->name_off) : nullptr;
        if (name == nullptr || std::string_view(name) != ".kconfig") continue;
        const auto* v = btf_var_secinfos(t);
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i, ++v) {
            const btf_type* var = btf__type_by_id(b, v->type);
            if (var == nullptr || !btf_is_var(var)) continue;
            const long long size = btf__resolve_size(b, var->type);
            if (size > 0x7fffffff) {
                const char* var_name = btf__name_by_offset(b, var->name_off);
                return cat({"extern '", var_name != nullptr ? var_name : "", "' of .kconfig is ", Decimal(size),
                            " bytes, more than libbpf can handle"});
            }
        }
    }
    return {};
}

/// Why libbpf refuses the object `elf` where the running libbpf may crash on it, or empty.
/// `full` adds the checks libbpf itself makes from 1.3 on. Objects libbpf cannot parse at
/// all (not ELF, no or unreadable .BTF) give empty: libbpf reports those itself.
inline std::string check_object_bytes(std::span<const std::byte> elf, bool full = true) {
    const std::span<const std::byte> raw = elf_btf_section(elf);
    if (raw.empty()) return {};
    const std::unique_ptr<btf, void (*)(btf*)> b(btf__new(raw.data(), static_cast<std::uint32_t>(raw.size())),
                                                 btf__free);
    if (b == nullptr || libbpf_get_error(b.get()) != 0) return {};
    const std::uint32_t count = btf__type_cnt(b.get());
    for (std::uint32_t id = 1; full && id < count; ++id)
        if (std::string problem = btf_type_problem(b.get(), id); !problem.empty()) return problem;
    return kconfig_problem(b.get());
}

/// True when the libbpf running this program checks BTF on its own (btf_sanity_check(),
/// libbpf 1.3).
inline bool libbpf_checks_btf() noexcept {
    const unsigned major = libbpf_major_version(), minor = libbpf_minor_version();
    return major > 1 || (major == 1 && minor >= 3);
}

/// What the running libbpf would crash on in the object `elf`, or empty.
inline std::string corrupt_object_problem(std::span<const std::byte> elf) {
    return check_object_bytes(elf, !libbpf_checks_btf());
}

/// Throws "corrupt object: ..." for an object the running libbpf would crash on.
inline void refuse_corrupt_object(std::span<const std::byte> elf, std::string_view label) {
    if (std::string problem = corrupt_object_problem(elf); !problem.empty())
        throw_error(EINVAL, "opening BPF object", label,
                    {"corrupt object: ", problem, "; the .BTF section is damaged, rebuild the object"});
}

/// refuse_corrupt_object() for the file at `path`. Read with stdio, not <fstream>: every
/// tool that opens an object includes this header, and <fstream> costs more to compile
/// than the rest of it. A file that cannot be read is checked as far as it was read, and
/// libbpf then reports the failure.
inline void refuse_corrupt_file(const std::string& path) {
    std::vector<char> bytes;
    if (std::FILE* f = std::fopen(path.c_str(), "rbe")) {
        char chunk[16384];
        for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, f)) > 0;) bytes.insert(bytes.end(), chunk, chunk + n);
        std::fclose(f);
    }
    refuse_corrupt_object(std::as_bytes(std::span(bytes)), path);
}

}  // namespace bpf::detail
