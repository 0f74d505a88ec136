// C++ definitions of BTF types: the structs, unions, enums and typedefs a skeleton needs,
// laid out as in the BPF object and checked by static_assert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "names.hpp"

struct btf;
struct btf_type;

namespace gen {

/// A BTF construct the generator cannot express, or a bad input; main() prints it.
struct GenError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The string at `offset` of `b`'s string section. A damaged object whose offset lies
/// outside the section is refused (libbpf answers NULL there), naming `object`.
std::string btf_name(const btf* b, std::uint32_t offset, const std::string& object);

/// Refuses a BTF in which a type contains itself by value (a modifier, typedef, array,
/// member or variable leading back to it) or types nest deeper than any C program's, naming
/// the type ids; only a damaged object has either. TypeWriter runs it before any walk, so
/// every walk over the type graph ends (and its recursion is bounded).
void check_type_graph(const btf* b, const std::string& object);

/// A member (or section variable) of a generated struct, at its BTF position.
struct Field {
    std::string name;           ///< empty: an anonymous struct/union member
    std::uint32_t type = 0;     ///< BTF type id
    std::uint32_t bit_offset = 0;
    std::uint32_t bit_size = 0;  ///< non-zero for bitfields
};

/// Emits C++ definitions of BTF types in dependency order into text().
class TypeWriter {
public:
    /// `object` names the BPF object in error messages; `ns` is the namespace of the output.
    /// `own` are the names the generator declares in it ((name, owner) pairs, e.g. the
    /// structs of the global sections): they are claimed before the BTF's type names, which
    /// give way to them, and enumerators give way to both.
    TypeWriter(const btf* b, std::string object, std::string ns,
               const std::vector<std::pair<std::string, std::string>>& own);

    /// The name `owner` claimed in the namespace (one of `own`).
    [[nodiscard]] std::string claimed(const std::string& owner) { return scope_.claim("", owner); }

    /// Defines the named type `id` (and what it uses by value) unless already defined.
    void define(std::uint32_t id);

    /// A C++ type-id for `id` usable as a template argument (e.g. TypedMap<K, V>); an
    /// anonymous struct or union is defined under `hint`. Empty when the type has no such
    /// spelling (arrays, void).
    std::string type_name(std::uint32_t id, const std::string& hint);

    /// Defines a struct `name` from `fields` laid out within `size` bytes (a global section).
    void define_struct(const std::string& name, const std::vector<Field>& fields, std::size_t size,
                       const std::string& what);

    /// Everything defined so far, in an order that compiles.
    [[nodiscard]] const std::string& text() const noexcept { return text_; }

    /// What the output is correct but lossy about, for the user to see.
    [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }

    /// The BTF id of `spec` ("foo", "struct foo", "union foo", "enum foo").
    [[nodiscard]] std::uint32_t find(const std::string& spec) const;

private:
    struct Check {
        std::string path;
        std::size_t offset;
        bool sized;          // also check sizeof of the member (inline anonymous types)
        std::size_t size;
    };

    const btf_type* type(std::uint32_t id) const;
    std::uint32_t skip_modifiers(std::uint32_t id) const;
    std::uint32_t resolve(std::uint32_t id) const;  // through modifiers and typedefs
    std::string name_at(std::uint32_t offset) const;
    std::string describe(std::uint32_t id) const;
    [[noreturn]] void fail(std::uint32_t id, const std::string& why) const;

    std::size_t size_of(std::uint32_t id) const;
    std::size_t align_of(std::uint32_t id);
    bool packed(std::uint32_t id);
    bool packed_fields(const std::vector<Field>& fields, std::size_t size, bool is_union);
    std::vector<Field> fields_of(std::uint32_t id) const;

    std::string int_name(std::uint32_t id) const;
    std::string bitfield_base(std::uint32_t id) const;
    // `members`: the scope a declaration is made in, for an anonymous type defined in place
    // (its members join the scope when the declarator is empty); null at namespace scope.
    std::string decl(std::uint32_t id, const std::string& declarator, int indent, Scope* members);
    // `scope` receives the member names; `owner` is the BTF id of the struct (0: a section).
    std::string body(std::uint32_t owner, const std::vector<Field>& fields, std::size_t size, bool is_union,
                     bool is_packed, int indent, const std::string& what, std::vector<Check>& checks,
                     Scope& scope);
    std::string enum_body(std::uint32_t id, int indent, Scope& scope);
    std::string enum_underlying(std::uint32_t id) const;
    std::string name_of(std::uint32_t id) const;
    bool transparent(std::uint32_t id) const;
    bool empty_composite(std::uint32_t id) const;
    static bool member_named(const std::string& declarator, const std::string& type_name);
    void emit_checks(const std::string& name, std::size_t size, const std::vector<Check>& checks);

    const btf* btf_;
    std::string object_;
    std::string namespace_;
    std::string text_;
    Scope scope_;                                 // the namespace
    std::map<std::uint32_t, std::string> names_;  // the C++ names of the types that have one
    std::map<std::pair<std::uint32_t, std::size_t>, std::string> member_names_;  // (struct id, index)
    std::set<std::uint32_t> defined_;
    std::set<std::uint32_t> defining_;
    std::map<std::uint32_t, std::size_t> align_cache_;
    std::map<std::uint32_t, bool> packed_cache_;
    std::vector<std::string> warnings_;
    int pad_counter_ = 0;
};

}  // namespace gen
