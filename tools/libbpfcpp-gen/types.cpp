#include "types.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <limits>

#include <bpf/btf.h>

namespace gen {

namespace {

std::size_t align_up(std::size_t n, std::size_t a) { return a <= 1 ? n : (n + a - 1) / a * a; }

std::string pad_indent(int indent) { return std::string(static_cast<std::size_t>(indent) * 4, ' '); }

// The <cstdint> name of an integer of `size` bytes (128-bit only where `wide`: an enum's
// underlying type cannot be one), or nullptr.
const char* fixed_width_int(std::uint32_t size, bool is_signed, bool wide) {
    switch (size) {
    case 1: return is_signed ? "std::int8_t" : "std::uint8_t";
    case 2: return is_signed ? "std::int16_t" : "std::uint16_t";
    case 4: return is_signed ? "std::int32_t" : "std::uint32_t";
    case 8: return is_signed ? "std::int64_t" : "std::uint64_t";
    case 16: return !wide ? nullptr : is_signed ? "__int128" : "unsigned __int128";
    default: return nullptr;
    }
}

}  // namespace

std::string btf_name(const btf* b, std::uint32_t offset, const std::string& object) {
    const char* n = btf__name_by_offset(b, offset);
    if (n == nullptr)
        throw GenError(object + ": a BTF name at offset " + std::to_string(offset) +
                       " lies outside the BTF's string section: the object is damaged; rebuild it");
    return n;
}

void check_type_graph(const btf* b, const std::string& object) {
    // Deeper than any C declaration nests (the kernel's own BTF stays far below), and
    // shallow enough for the generator's recursion on any stack.
    constexpr std::size_t max_depth = 256;
    const std::uint32_t count = btf__type_cnt(b);
    auto what = [&](std::uint32_t id) {
        const btf_type* t = btf__type_by_id(b, id);
        const char* n = t != nullptr ? btf__name_by_offset(b, t->name_off) : nullptr;
        return "BTF type id " + std::to_string(id) + (n != nullptr && *n != '\0' ? " ('" + std::string(n) + "')" : "");
    };
    // The ids a type holds by value: what every walk of the generator follows (pointers
    // and function prototypes are never walked through).
    auto edges = [&](std::uint32_t id) {
        std::vector<std::uint32_t> out;
        const btf_type* t = btf__type_by_id(b, id);
        if (btf_is_mod(t) || btf_is_typedef(t) || btf_is_type_tag(t) || btf_is_var(t)) {
            out.push_back(t->type);
        } else if (btf_is_array(t)) {
            out.push_back(btf_array(t)->type);
        } else if (btf_is_composite(t)) {
            const btf_member* m = btf_members(t);
            for (unsigned i = 0; i < btf_vlen(t); ++i) out.push_back(m[i].type);
        } else if (btf_is_datasec(t)) {
            const btf_var_secinfo* v = btf_var_secinfos(t);
            for (unsigned i = 0; i < btf_vlen(t); ++i) out.push_back(v[i].type);
        }
        for (std::uint32_t e : out)
            if (e >= count)
                throw GenError(object + ": " + what(id) + " refers to type id " + std::to_string(e) +
                               ", which does not exist: the object's BTF is damaged; rebuild it");
        std::erase(out, 0u);  // void
        return out;
    };
    // Depth-first, iteratively (a long chain must not exhaust the stack here either);
    // depth[id] is the longest by-value path from id, 0 while id is on the path.
    std::vector<std::size_t> depth(count, std::numeric_limits<std::size_t>::max());
    struct Frame {
        std::uint32_t id;
        std::vector<std::uint32_t> next;
        std::size_t at = 0;
        std::size_t deepest = 0;
    };
    std::vector<Frame> path;
    for (std::uint32_t root = 1; root < count; ++root) {
        if (depth[root] != std::numeric_limits<std::size_t>::max()) continue;
        depth[root] = 0;
        path.push_back({root, edges(root)});
        while (!path.empty()) {
            Frame& f = path.back();
            if (f.at == f.next.size()) {
                depth[f.id] = f.deepest + 1;
                if (depth[f.id] > max_depth)
                    throw GenError(object + ": " + what(f.id) + " nests types more than " + std::to_string(max_depth) +
                                   " deep: the object's BTF is damaged; rebuild it");
                const std::size_t d = depth[f.id];
                path.pop_back();
                if (!path.empty()) path.back().deepest = std::max(path.back().deepest, d);
                continue;
            }
            const std::uint32_t next = f.next[f.at++];
            if (depth[next] == 0) {
                std::string cycle;
                auto it = std::find_if(path.begin(), path.end(), [&](const Frame& g) { return g.id == next; });
                for (; it != path.end(); ++it) cycle += std::to_string(it->id) + " -> ";
                throw GenError(object + ": " + what(next) + " contains itself by value (type ids " + cycle +
                               std::to_string(next) + "): the object's BTF is damaged; rebuild it");
            }
            if (depth[next] != std::numeric_limits<std::size_t>::max()) {
                f.deepest = std::max(f.deepest, depth[next]);
                continue;
            }
            depth[next] = 0;
            path.push_back({next, edges(next)});
        }
    }
}

TypeWriter::TypeWriter(const btf* b, std::string object, std::string ns,
                       const std::vector<std::pair<std::string, std::string>>& own)
    : btf_(b), object_(std::move(object)), namespace_(std::move(ns)) {
    check_type_graph(btf_, object_);
    // What the header declares in its namespace besides the BTF's types; `std` and `bpf`
    // would hide the namespaces the generated code names.
    for (std::string_view n : {"Skeleton", "OpenSkeleton", "detail", "embedded_object", "std", "bpf"})
        scope_.reserve(n);
    scope_.claim_all(own);
    // Every named type of the BTF, in id order (the output does not depend on which are
    // used); a typedef of a struct, union or enum of its own name is that type's name.
    std::vector<std::pair<std::string, std::string>> types;
    std::vector<std::uint32_t> ids;
    for (std::uint32_t id = 1; id < btf__type_cnt(btf_); ++id) {
        const btf_type* t = type(id);
        if (!btf_is_composite(t) && !btf_is_any_enum(t) && !btf_is_typedef(t)) continue;
        const std::string n = name_at(t->name_off);
        if (n.empty() || transparent(id)) continue;
        std::uint32_t owner = id;
        if (btf_is_typedef(t)) {
            const std::uint32_t target = skip_modifiers(t->type);
            if (target != 0 && (btf_is_composite(type(target)) || btf_is_any_enum(type(target))) &&
                name_at(type(target)->name_off) == n)
                owner = target;
        }
        types.emplace_back(n, "type " + std::to_string(owner));
        ids.push_back(id);
    }
    scope_.claim_all(types);
    for (std::size_t i = 0; i < ids.size(); ++i) names_[ids[i]] = scope_.claim("", types[i].second);
}

std::string TypeWriter::name_at(std::uint32_t offset) const { return btf_name(btf_, offset, object_); }

bool TypeWriter::member_named(const std::string& declarator, const std::string& type_name) {
    // The declarator starts with the member's name ("x" or "x[4]").
    return declarator.compare(0, type_name.size(), type_name) == 0 &&
           (declarator.size() == type_name.size() || declarator[type_name.size()] == '[');
}

const btf_type* TypeWriter::type(std::uint32_t id) const {
    const btf_type* t = btf__type_by_id(btf_, id);
    if (t == nullptr) throw GenError(object_ + ": BTF type id " + std::to_string(id) + " does not exist");
    return t;
}

std::uint32_t TypeWriter::skip_modifiers(std::uint32_t id) const {
    // const/volatile of the BPF declaration mean nothing to the user-space copy.
    while (id != 0) {
        const btf_type* t = type(id);
        if (!btf_is_mod(t) && !btf_is_type_tag(t)) break;
        id = t->type;
    }
    return id;
}

std::uint32_t TypeWriter::resolve(std::uint32_t id) const {
    id = skip_modifiers(id);
    while (id != 0 && btf_is_typedef(type(id))) id = skip_modifiers(type(id)->type);
    return id;
}

std::string TypeWriter::describe(std::uint32_t id) const {
    if (id == 0) return "void";
    const btf_type* t = type(id);
    // Not name_at(): this describes the type in an error, which must not throw another.
    const char* n = btf__name_by_offset(btf_, t->name_off);
    std::string name = n != nullptr && *n != '\0' ? n : n == nullptr ? "(damaged name)" : "(anonymous)";
    switch (btf_kind(t)) {
    case BTF_KIND_STRUCT: return "struct " + name;
    case BTF_KIND_UNION: return "union " + name;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: return "enum " + name;
    case BTF_KIND_FWD: return (btf_kflag(t) ? "union " : "struct ") + name;
    case BTF_KIND_TYPEDEF: return "typedef " + name;
    case BTF_KIND_FUNC_PROTO: return "function type";
    default: return name;
    }
}

void TypeWriter::fail(std::uint32_t id, const std::string& why) const {
    throw GenError(object_ + ": type '" + describe(id) + "' (BTF id " + std::to_string(id) + "): " + why);
}

std::uint32_t TypeWriter::find(const std::string& spec) const {
    std::string name = spec;
    int kind = -1;
    for (auto [prefix, k] : {std::pair{"struct ", BTF_KIND_STRUCT}, std::pair{"union ", BTF_KIND_UNION},
                             std::pair{"enum ", BTF_KIND_ENUM}}) {
        std::string_view p = prefix;
        if (name.rfind(p, 0) == 0) {
            name.erase(0, p.size());
            kind = k;
        }
    }
    std::int32_t id = -1;
    if (kind < 0) {
        id = btf__find_by_name(btf_, name.c_str());
    } else {
        id = btf__find_by_name_kind(btf_, name.c_str(), static_cast<std::uint32_t>(kind));
        if (id < 0 && kind == BTF_KIND_ENUM) id = btf__find_by_name_kind(btf_, name.c_str(), BTF_KIND_ENUM64);
    }
    if (id <= 0) throw GenError(object_ + ": --type '" + spec + "': no such type in the object's BTF");
    const btf_type* t = type(static_cast<std::uint32_t>(id));
    if (btf_is_var(t) || btf_is_func(t) || btf_is_datasec(t))
        throw GenError(object_ + ": --type '" + spec + "' names a variable or function, not a type");
    return static_cast<std::uint32_t>(id);
}

std::size_t TypeWriter::size_of(std::uint32_t id) const {
    id = skip_modifiers(id);
    if (id == 0) fail(id, "void has no size");
    const btf_type* t = type(id);
    if (btf_is_ptr(t)) return 8;  // BPF pointers are 64-bit
    if (btf_is_fwd(t)) fail(id, "only declared in the object (no definition in its BTF); it cannot be used by value");
    if (btf_is_func_proto(t)) fail(id, "a function cannot be used by value");
    __s64 n = btf__resolve_size(btf_, id);
    if (n < 0) fail(id, "its size cannot be resolved");
    return static_cast<std::size_t>(n);
}

std::vector<Field> TypeWriter::fields_of(std::uint32_t id) const {
    const btf_type* t = type(id);
    std::vector<Field> out;
    const btf_member* m = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i) {
        out.push_back({name_at(m[i].name_off), m[i].type, btf_member_bit_offset(t, i),
                       btf_member_bitfield_size(t, i)});
    }
    return out;
}

std::size_t TypeWriter::align_of(std::uint32_t id) {
    id = skip_modifiers(id);
    if (auto it = align_cache_.find(id); it != align_cache_.end()) return it->second;
    const btf_type* t = type(id);
    std::size_t a = 1;
    switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
    case BTF_KIND_FLOAT: a = std::min<std::size_t>(t->size, 16); break;
    case BTF_KIND_PTR: a = 8; break;
    case BTF_KIND_ARRAY: a = align_of(btf_array(t)->type); break;
    case BTF_KIND_TYPEDEF: a = align_of(t->type); break;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
        if (packed(id)) break;
        for (const Field& f : fields_of(id)) a = std::max(a, align_of(f.type));
        break;
    case BTF_KIND_FWD: fail(id, "only declared in the object (no definition in its BTF); it cannot be used by value");
    case BTF_KIND_FUNC_PROTO: fail(id, "a function cannot be used by value");
    default: fail(id, "has no alignment (not a data type)");
    }
    align_cache_[id] = a;
    return a;
}

bool TypeWriter::packed_fields(const std::vector<Field>& fields, std::size_t size, bool is_union) {
    // Packed when a member sits off its natural alignment, a bitfield crosses a unit of its
    // type (packed C allows it; unpacked, C and C++ move it to the next unit), or the size is not a multiple of the alignment the members would
    // give; aligned(N) is rendered as padding instead.
    std::size_t a = 1;
    for (const Field& f : fields) {
        const std::size_t fa = align_of(f.type);
        a = std::max(a, fa);
        if (is_union) continue;
        if (f.bit_size != 0) {
            const std::size_t unit = size_of(resolve(f.type)) * 8;
            const std::size_t natural =
                unit != 0 && f.bit_offset % unit + f.bit_size > unit ? align_up(f.bit_offset, unit) : f.bit_offset;
            if (natural != f.bit_offset) return true;
            continue;
        }
        if (f.bit_offset % 8 != 0) return true;
        if ((f.bit_offset / 8) % fa != 0) return true;
    }
    return size % a != 0;
}

bool TypeWriter::packed(std::uint32_t id) {
    if (auto it = packed_cache_.find(id); it != packed_cache_.end()) return it->second;
    const btf_type* t = type(id);
    packed_cache_[id] = false;  // provisional, in case of a (malformed) self-reference
    bool p = packed_fields(fields_of(id), t->size, btf_is_union(t));
    packed_cache_[id] = p;
    return p;
}

std::string TypeWriter::int_name(std::uint32_t id) const {
    const btf_type* t = type(id);
    const std::string name = name_at(t->name_off);
    const unsigned enc = btf_int_encoding(t);
    if ((enc & BTF_INT_BOOL) != 0 && t->size == 1) return "bool";
    if (name == "char") return "char";
    const bool is_signed = (enc & BTF_INT_SIGNED) != 0;
    if (const char* name = fixed_width_int(t->size, is_signed, true)) return name;
    fail(id, "an integer of " + std::to_string(t->size) + " bytes has no C++ type");
}

std::string TypeWriter::enum_underlying(std::uint32_t id) const {
    const btf_type* t = type(id);
    // Newer compilers mark signed enums in kflag; older ones only show negative values.
    bool is_signed = btf_kflag(t);
    if (!is_signed && btf_is_enum(t)) {
        const struct btf_enum* e = btf_enum(t);
        for (unsigned i = 0; i < btf_vlen(t); ++i) is_signed = is_signed || e[i].val < 0;
    }
    if (const char* name = fixed_width_int(t->size, is_signed, false)) return name;
    fail(id, "an enum of " + std::to_string(t->size) + " bytes has no C++ underlying type");
}

std::string TypeWriter::bitfield_base(std::uint32_t id) const {
    // Bitfields are declared with the integer the BPF side used (enums by their underlying
    // type: an enum bitfield narrower than its enumerators' range draws warnings).
    const std::uint32_t r = resolve(id);
    const btf_type* t = type(r);
    if (btf_is_int(t)) return int_name(r) == "char" ? "char" : int_name(r);
    if (btf_is_any_enum(t)) return enum_underlying(r);
    fail(id, "a bitfield of this type cannot be expressed");
}

bool TypeWriter::empty_composite(std::uint32_t id) const {
    std::uint32_t r = resolve(id);
    while (r != 0 && btf_is_array(type(r))) r = resolve(btf_array(type(r))->type);
    return r != 0 && btf_is_composite(type(r)) && type(r)->size == 0;
}

bool TypeWriter::transparent(std::uint32_t id) const {
    return is_keyword(name_at(type(id)->name_off)) && btf_is_int(type(resolve(id)));
}

std::string TypeWriter::name_of(std::uint32_t id) const {
    // Every named type was given its name by the constructor; anonymous ones get theirs
    // from a typedef or a hint.
    auto it = names_.find(id);
    return it != names_.end() ? it->second : std::string();
}

std::string TypeWriter::enum_body(std::uint32_t id, int indent, Scope& scope) {
    const btf_type* t = type(id);
    const std::string underlying = enum_underlying(id);
    const bool is_signed = underlying[5] == 'i';  // "std::int..."
    const bool wide = t->size == 8;
    if (wide && !btf_is_enum64(t))
        warnings_.push_back(object_ + ": " + describe(id) +
                            " is 8 bytes but its BTF holds 32-bit values (compiled by a clang without "
                            "BTF_KIND_ENUM64, before 15): enumerators wider than 32 bits are truncated");
    std::string out = "{\n";
    for (unsigned i = 0; i < btf_vlen(t); ++i) {
        std::uint64_t raw = 0;
        std::uint32_t name_off = 0;
        if (btf_is_enum64(t)) {
            raw = btf_enum64_value(&btf_enum64(t)[i]);
            name_off = btf_enum64(t)[i].name_off;
        } else {
            const struct btf_enum& e = btf_enum(t)[i];
            raw = is_signed ? static_cast<std::uint64_t>(static_cast<std::int64_t>(e.val))
                            : static_cast<std::uint32_t>(e.val);
            name_off = e.name_off;
        }
        std::string value;
        if (is_signed) {
            const auto v = static_cast<std::int64_t>(raw);
            if (v == std::numeric_limits<std::int64_t>::min())
                value = "(-9223372036854775807LL - 1)";
            else
                value = std::to_string(v) + (wide ? "LL" : "");
        } else {
            value = std::to_string(raw) + (wide ? "ULL" : "U");
        }
        // Enumerators of an unscoped enum are declared where the enum is: they give way
        // to the types and members already there.
        out += pad_indent(indent + 1) +
               scope.claim(name_at(name_off), "enumerator " + std::to_string(id) + "." + std::to_string(i)) +
               " = " + value + ",\n";
    }
    out += pad_indent(indent) + "}";
    return out;
}

std::string TypeWriter::decl(std::uint32_t id, const std::string& declarator, int indent, Scope* members) {
    id = skip_modifiers(id);
    const std::string sep = declarator.empty() ? "" : " ";
    if (id == 0) fail(id, "a member or variable of type void cannot be expressed");
    const btf_type* t = type(id);
    switch (btf_kind(t)) {
    case BTF_KIND_INT: return int_name(id) + sep + declarator;
    case BTF_KIND_FLOAT:
        if (t->size == 4) return "float" + sep + declarator;
        if (t->size == 8) return "double" + sep + declarator;
        fail(id, "a floating-point type of " + std::to_string(t->size) + " bytes has no portable C++ type");
    case BTF_KIND_PTR:
        // A BPF pointer means nothing in user space; its value is kept as an integer.
        return "std::uint64_t" + sep + declarator;
    case BTF_KIND_ARRAY: {
        const struct btf_array* a = btf_array(t);
        return decl(a->type, declarator + "[" + std::to_string(a->nelems) + "]", indent, members);
    }
    case BTF_KIND_TYPEDEF:
        // typedef _Bool bool (vmlinux.h): a C typedef named like a C++ keyword is the
        // keyword's own type, so it is looked through rather than renamed.
        if (transparent(id)) return decl(t->type, declarator, indent, members);
        define(id);
        return (member_named(declarator, name_of(id)) ? "::" + namespace_ + "::" : "") + name_of(id) + sep +
               declarator;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
        if (!name_of(id).empty()) {
            define(id);
            return (declarator.empty() ? "" : "enum ") + name_of(id) + sep + declarator;
        }
        return "enum : " + enum_underlying(id) + " " + enum_body(id, indent, members != nullptr ? *members : scope_) +
               sep + declarator;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
        if (!name_of(id).empty()) {
            define(id);
            // `struct bits bits;`: a member named like its type keeps the type's meaning
            // in the class only when the type is written with its tag (g++ insists).
            return (declarator.empty() ? "" : btf_is_union(t) ? "union " : "struct ") + name_of(id) + sep +
                   declarator;
        }
        // An anonymous type is defined where it is used, as in the C source.
        // Without a declarator its members are the enclosing struct's (C++ and C alike).
        std::vector<Check> ignored;
        Scope own;
        Scope& scope = declarator.empty() && members != nullptr ? *members : own;
        const bool is_union = btf_is_union(t);
        const bool p = packed(id);
        std::string kw = is_union ? "union" : "struct";
        if (p) kw += " __attribute__((packed))";
        return kw + " " + body(id, fields_of(id), t->size, is_union, p, indent, describe(id), ignored, scope) + sep +
               declarator;
    }
    case BTF_KIND_FWD: fail(id, "only declared in the object (no definition in its BTF); it cannot be used by value");
    case BTF_KIND_FUNC_PROTO: fail(id, "a function cannot be used by value");
    default: fail(id, "this kind of BTF type cannot be expressed in C++");
    }
}

std::string TypeWriter::body(std::uint32_t owner, const std::vector<Field>& fields, std::size_t size,
                             bool is_union, bool is_packed, int indent, const std::string& what,
                             std::vector<Check>& checks, Scope& scope) {
    std::string out = "{\n";
    const std::string in = pad_indent(indent + 1);
    std::vector<std::pair<std::string, std::string>> wanted;
    auto member_owner = [&](std::size_t i) { return "member " + std::to_string(owner) + "." + std::to_string(i); };
    for (std::size_t i = 0; i < fields.size(); ++i)
        if (!fields[i].name.empty()) wanted.emplace_back(fields[i].name, member_owner(i));
    scope.claim_all(wanted);
    std::vector<std::string> names(fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!fields[i].name.empty()) names[i] = scope.claim("", member_owner(i));
        member_names_[{owner, i}] = names[i];
    }
    auto pad_name = [&] {
        const std::string n = std::to_string(pad_counter_++);
        return scope.claim("_pad" + n, "pad " + n);
    };
    // Fills bits [from, to) with unnamed bitfields and a byte array: neither changes the
    // struct's alignment, and together they reach any bit position.
    auto pad_bits = [&](std::size_t from, std::size_t to) {
        if (from % 8 != 0 && from < to) {
            const std::size_t k = std::min<std::size_t>(8 - from % 8, to - from);
            out += in + "std::uint8_t : " + std::to_string(k) + ";\n";
            from += k;
        }
        if (to - from >= 8) {
            out += in + "std::uint8_t " + pad_name() + "[" + std::to_string((to - from) / 8) + "];\n";
            from += (to - from) / 8 * 8;
        }
        if (from < to) out += in + "std::uint8_t : " + std::to_string(to - from) + ";\n";
    };
    // Named members are checked by offset; a member of an anonymous type is checked
    // through its own members too (they are reached as Outer::a or Outer::m.a).
    std::function<void(const Field&, const std::string&, std::size_t, const std::string&)> add_checks =
        [&](const Field& f, const std::string& cpp_name, std::size_t byte_off, const std::string& path) {
            if (f.bit_size != 0) return;
            const std::uint32_t r = skip_modifiers(f.type);
            const bool anon_composite = r != 0 && btf_is_composite(type(r)) && name_of(r).empty();
            std::string inner = path;
            if (!f.name.empty()) {
                inner = path + cpp_name;
                checks.push_back({inner, byte_off, anon_composite, anon_composite ? size_of(r) : 0});
                inner += ".";
            }
            if (anon_composite) {
                const std::vector<Field> nested = fields_of(r);
                for (std::size_t j = 0; j < nested.size(); ++j)
                    add_checks(nested[j], member_names_[{r, j}], byte_off + nested[j].bit_offset / 8, inner);
            }
        };

    std::size_t pos = 0;  // bits laid out so far (struct), or the largest member (union)
    std::size_t max_align = 1;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const Field& f = fields[i];
        const std::string& name = names[i];
        if (f.bit_size == 0 && empty_composite(f.type)) {
            // An empty struct takes no room in (GNU) C but a byte in C++: the member,
            // which holds nothing, is left out so the members after it keep their offsets.
            out += in + "// " + (f.name.empty() ? "(anonymous)" : comment_text(f.name)) + ": an empty " + describe(resolve(f.type)) +
                   ", left out\n";
            continue;
        }
        max_align = std::max(max_align, is_packed ? std::size_t{1} : align_of(f.type));
        if (is_union) {
            if (f.bit_size != 0)
                out += in + bitfield_base(f.type) + " " + name + " : " + std::to_string(f.bit_size) + ";\n";
            else {
                out += in + decl(f.type, name, indent + 1, &scope) + ";\n";
                add_checks(f, name, 0, "");
            }
            pos = std::max<std::size_t>(pos, f.bit_size != 0 ? f.bit_size : size_of(f.type) * 8);
            continue;
        }
        if (f.bit_size == 0) {
            if (f.bit_offset % 8 != 0)
                throw GenError(object_ + ": " + what + ": member '" + f.name + "' does not start on a byte");
            const std::size_t off = f.bit_offset / 8;
            const std::size_t cur = (pos + 7) / 8;
            if (off < cur) throw GenError(object_ + ": " + what + ": member '" + f.name + "' overlaps the one before");
            const std::size_t a = is_packed ? 1 : align_of(f.type);
            if (align_up(cur, a) != off) pad_bits(pos, off * 8);
            out += in + (f.spelled.empty() ? decl(f.type, name, indent + 1, &scope) : f.spelled + " " + name) + ";\n";
            add_checks(f, name, off, "");
            pos = (off + size_of(f.type)) * 8;
        } else {
            std::string bt = bitfield_base(f.type);
            const std::size_t unit = size_of(resolve(f.type)) * 8;
            // A 1-byte bitfield across a byte (packed only): g++ adds a note to every
            // compile ("offset of packed bit-field has changed in GCC 4.4") for a char type;
            // the 2-byte type of the same signedness is laid out alike in a packed struct.
            if (is_packed && unit == 8 && f.bit_offset % 8 + f.bit_size > 8)
                bt = bt == "std::uint8_t" ? "std::uint16_t" : "std::int16_t";
            std::size_t natural = pos;
            if (!is_packed && natural % unit + f.bit_size > unit) natural = align_up(natural, unit);
            if (natural != f.bit_offset) {
                if (f.bit_offset < pos)
                    throw GenError(object_ + ": " + what + ": bitfield '" + f.name + "' overlaps the member before");
                pad_bits(pos, f.bit_offset);
            }
            // What a C++ compiler does with the declaration, which must be where the BTF says.
            if (!is_packed && f.bit_offset % unit + f.bit_size > unit)
                throw GenError(object_ + ": " + what + ": bitfield '" + f.name + "' at bit " +
                               std::to_string(f.bit_offset) + " crosses a " + std::to_string(unit) +
                               "-bit unit, which only a packed struct allows; it cannot be mirrored");
            out += in + bt + " " + name + " : " + std::to_string(f.bit_size) + ";\n";
            pos = f.bit_offset + f.bit_size;
        }
    }
    if (is_union) {
        if (align_up((pos + 7) / 8, max_align) != size)
            out += in + "std::uint8_t " + pad_name() + "[" + std::to_string(size) + "];\n";
    } else if (align_up((pos + 7) / 8, max_align) != size) {
        if (pos > size * 8) throw GenError(object_ + ": " + what + ": members extend past its size");
        pad_bits(pos, size * 8);
    }
    out += pad_indent(indent) + "}";
    return out;
}

void TypeWriter::emit_checks(const std::string& name, std::size_t size, const std::vector<Check>& checks) {
    const std::string msg = "\"" + name + ": layout differs from the BPF object's BTF; regenerate the skeleton\"";
    text_ += "static_assert(sizeof(" + name + ") == " + std::to_string(size) + ", " + msg + ");\n";
    for (const Check& c : checks) {
        text_ += "static_assert(offsetof(" + name + ", " + c.path + ") == " + std::to_string(c.offset) + ", " + msg +
                 ");\n";
        if (c.sized)
            text_ += "static_assert(sizeof(" + name + "::" + c.path + ") == " + std::to_string(c.size) + ", " + msg +
                     ");\n";
    }
    text_ += "\n";
}

void TypeWriter::define(std::uint32_t id) {
    id = skip_modifiers(id);
    if (id == 0 || defined_.count(id) != 0) return;
    const btf_type* t = type(id);
    if (btf_is_int(t) || btf_is_ptr(t) || btf_is_float(t)) return;
    if (btf_is_array(t)) {
        define(btf_array(t)->type);
        return;
    }
    if (defining_.count(id) != 0) fail(id, "contains itself by value");
    defining_.insert(id);
    const std::string name = name_of(id);
    switch (btf_kind(t)) {
    case BTF_KIND_TYPEDEF: {
        if (transparent(id)) {
            defining_.erase(id);
            define(t->type);
            defined_.insert(id);
            return;
        }
        const std::uint32_t target = skip_modifiers(t->type);
        const btf_type* tt = target != 0 ? type(target) : nullptr;
        if (tt != nullptr && (btf_is_composite(tt) || btf_is_any_enum(tt)) && name_of(target).empty()) {
            // typedef struct { ... } name: the struct takes the typedef's name.
            names_[target] = name;
            defining_.erase(id);
            define(target);
            defined_.insert(id);
            return;
        }
        if (tt != nullptr && (btf_is_composite(tt) || btf_is_any_enum(tt)) && name_of(target) == name) {
            define(target);  // typedef struct name name: the same name already
            break;
        }
        if (target == 0) fail(id, "a typedef of void cannot be used by value");
        if (btf_is_func_proto(tt)) {
            defining_.erase(id);
            defined_.insert(id);
            return;  // only ever used through pointers, which become integers
        }
        const std::string d = decl(target, "", 0, nullptr);
        text_ += "using " + name + " = " + d + ";\n";
        if (!btf_is_ptr(tt))
            text_ += "static_assert(sizeof(" + name + ") == " + std::to_string(size_of(id)) + ", \"" + name +
                     ": size differs from the BPF object's BTF\");\n";
        text_ += "\n";
        break;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
        text_ += "enum " + name + " : " + enum_underlying(id) + " " + enum_body(id, 0, scope_) + ";\n";
        text_ += "static_assert(sizeof(" + name + ") == " + std::to_string(t->size) + ");\n\n";
        break;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
        std::vector<Check> checks;
        const bool is_union = btf_is_union(t);
        const bool p = packed(id);
        // The body is built first: it defines the named types it uses, which come before.
        // A member named like its struct would be taken for a constructor.
        Scope members;
        members.reserve(name);
        std::string b = body(id, fields_of(id), t->size, is_union, p, 0, describe(id), checks, members);
        std::string head = is_union ? "union " : "struct ";
        if (p) head += "__attribute__((packed)) ";
        text_ += head + name + " " + b + ";\n";
        if (t->size == 0)
            text_ += "// Empty: size 0 in C, 1 in C++; members of this type are left out.\n\n";
        else
            emit_checks(name, t->size, checks);
        break;
    }
    case BTF_KIND_FWD: fail(id, "only declared in the object (no definition in its BTF); it cannot be used by value");
    default: fail(id, "this kind of BTF type cannot be expressed in C++");
    }
    defining_.erase(id);
    defined_.insert(id);
}

std::string TypeWriter::type_name(std::uint32_t id, const std::string& hint) {
    id = skip_modifiers(id);
    if (id == 0) return {};
    const btf_type* t = type(id);
    if (btf_is_array(t) || btf_is_func_proto(t)) return {};
    if ((btf_is_composite(t) || btf_is_any_enum(t)) && name_of(id).empty())
        names_[id] = scope_.claim(hint, "type " + std::to_string(id));
    return decl(id, "", 0, nullptr);
}

void TypeWriter::define_struct(const std::string& name, const std::vector<Field>& fields, std::size_t size,
                               const std::string& what) {
    std::vector<Check> checks;
    // A section's size is where its last variable ends, not a multiple of its alignment:
    // the struct is rounded up (section_view() accepts that) rather than packed.
    std::size_t a = 1;
    for (const Field& f : fields) a = std::max(a, align_of(f.type));
    const bool p = packed_fields(fields, align_up(size, a), false);
    if (!p) size = align_up(size, a);
    Scope members;
    members.reserve(name);
    std::string b = body(0, fields, size, false, p, 0, what, checks, members);
    text_ += std::string("struct ") + (p ? "__attribute__((packed)) " : "") + name + " " + b + ";\n";
    emit_checks(name, size, checks);
}

}  // namespace gen
