// The generator's C++ for one BTF construct at a time, with the expected text inline: the
// BTF is built in memory with libbpf's btf__add_* calls, so each case shows exactly what
// goes in and what comes out; and the skeleton classes emitted from a model. tricky.bpf.c (skeleton_golden, skeleton_compile_all and the
// kernel tests) covers the same constructs end to end, as clang emits them.
#include <catch2/catch.hpp>

#include <bpf/btf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model.hpp"
#include "names.hpp"
#include "types.hpp"

namespace {

// A BTF under construction; each add returns the new type's id.
struct Btf {
    btf* b = btf__new_empty();
    Btf() { REQUIRE(b != nullptr); }
    ~Btf() { btf__free(b); }
    Btf(const Btf&) = delete;
    Btf& operator=(const Btf&) = delete;

    int u8() { return check(btf__add_int(b, "unsigned char", 1, 0)); }
    int u16() { return check(btf__add_int(b, "unsigned short", 2, 0)); }
    int u32() { return check(btf__add_int(b, "unsigned int", 4, 0)); }
    int s32() { return check(btf__add_int(b, "int", 4, BTF_INT_SIGNED)); }
    int u64() { return check(btf__add_int(b, "unsigned long long", 8, 0)); }
    int chr() { return check(btf__add_int(b, "char", 1, BTF_INT_SIGNED)); }
    int strct(const char* name, std::uint32_t size) { return check(btf__add_struct(b, name, size)); }
    int unn(const char* name, std::uint32_t size) { return check(btf__add_union(b, name, size)); }
    // A member of the struct or union added last.
    void field(const char* name, int type, std::uint32_t bit_offset, std::uint32_t bit_size = 0) {
        check(btf__add_field(b, name, type, bit_offset, bit_size));
    }
    static int check(int id) {
        REQUIRE(id >= 0);
        return id;
    }
};

// The C++ that define() writes for `id`, and what it brought along.
std::string defined(Btf& b, int id) {
    gen::TypeWriter w(b.b, "t.bpf.o", "t", {});
    w.define(static_cast<std::uint32_t>(id));
    return w.text();
}

}  // namespace

TEST_CASE("gen: struct with holes is laid out by member offsets", "[gen]") {
    Btf b;
    const int c = b.chr(), u64 = b.u64(), u16 = b.u16();
    const int s = b.strct("padded", 24);
    b.field("a", c, 0);
    b.field("b", u64, 64);
    b.field("c", u16, 128);
    CHECK(defined(b, s) == R"(struct padded {
    char a;
    std::uint64_t b;
    std::uint16_t c;
};
static_assert(sizeof(padded) == 24, "padded: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(padded, a) == 0, "padded: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(padded, b) == 8, "padded: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(padded, c) == 16, "padded: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: union", "[gen]") {
    Btf b;
    const int u32 = b.u32(), u64 = b.u64();
    const int u = b.unn("either", 8);
    b.field("small", u32, 0);
    b.field("big", u64, 0);
    CHECK(defined(b, u) == R"(union either {
    std::uint32_t small;
    std::uint64_t big;
};
static_assert(sizeof(either) == 8, "either: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(either, small) == 0, "either: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(either, big) == 0, "either: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: enums take the BTF's size and signedness as underlying type", "[gen]") {
    Btf b;
    const int e = Btf::check(btf__add_enum(b.b, "e1", 1));
    Btf::check(btf__add_enum_value(b.b, "E1_A", 1));
    Btf::check(btf__add_enum_value(b.b, "E1_B", 200));
    const int s = Btf::check(btf__add_enum(b.b, "e4", 4));
    Btf::check(btf__add_enum_value(b.b, "E4_NEG", -1));
    const int w = Btf::check(btf__add_enum64(b.b, "e8", 8, false));
    Btf::check(btf__add_enum64_value(b.b, "E8_BIG", 0x100000000ULL));
    CHECK(defined(b, e) == R"(enum e1 : std::uint8_t {
    E1_A = 1U,
    E1_B = 200U,
};
static_assert(sizeof(e1) == 1);

)");
    CHECK(defined(b, s) == R"(enum e4 : std::int32_t {
    E4_NEG = -1,
};
static_assert(sizeof(e4) == 4);

)");
    CHECK(defined(b, w) == R"(enum e8 : std::uint64_t {
    E8_BIG = 4294967296ULL,
};
static_assert(sizeof(e8) == 8);

)");
}

TEST_CASE("gen: typedef chains become using declarations", "[gen]") {
    Btf b;
    const int u32 = b.u32();
    const int l1 = Btf::check(btf__add_typedef(b.b, "level1_t", u32));
    const int l2 = Btf::check(btf__add_typedef(b.b, "level2_t", Btf::check(btf__add_const(b.b, l1))));
    CHECK(defined(b, l2) == R"(using level1_t = std::uint32_t;
static_assert(sizeof(level1_t) == 4, "level1_t: size differs from the BPF object's BTF");

using level2_t = level1_t;
static_assert(sizeof(level2_t) == 4, "level2_t: size differs from the BPF object's BTF");

)");
}

TEST_CASE("gen: typedef of an anonymous struct names the struct", "[gen]") {
    Btf b;
    const int u32 = b.u32();
    const int s = b.strct(nullptr, 8);
    b.field("x", u32, 0);
    b.field("y", u32, 32);
    const int t = Btf::check(btf__add_typedef(b.b, "point_t", s));
    CHECK(defined(b, t) == R"(struct point_t {
    std::uint32_t x;
    std::uint32_t y;
};
static_assert(sizeof(point_t) == 8, "point_t: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(point_t, x) == 0, "point_t: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(point_t, y) == 4, "point_t: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: arrays, multi-dimensional, as members", "[gen]") {
    Btf b;
    const int c = b.chr(), u32 = b.u32();
    const int row = Btf::check(btf__add_array(b.b, u32, c, 3));
    const int grid = Btf::check(btf__add_array(b.b, u32, row, 2));
    const int name = Btf::check(btf__add_array(b.b, u32, c, 5));
    const int s = b.strct("arrays", 32);
    b.field("grid", grid, 0);
    b.field("name", name, 192);
    CHECK(defined(b, s) == R"(struct arrays {
    char grid[2][3];
    std::uint8_t _pad0[18];
    char name[5];
    std::uint8_t _pad1[3];
};
static_assert(sizeof(arrays) == 32, "arrays: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(arrays, grid) == 0, "arrays: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(arrays, name) == 24, "arrays: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: bitfields keep their bit positions", "[gen]") {
    Btf b;
    const int u32 = b.u32(), u8 = b.u8(), u64 = b.u64(), s32 = b.s32();
    const int s = b.strct("bits", 16);
    b.field("lo", u32, 0, 3);
    b.field("mid", u32, 3, 5);
    b.field("hi", u32, 8, 24);
    b.field("flag", u8, 32, 1);
    b.field("wide", u64, 64, 40);
    b.field("neg", s32, 104, 4);
    CHECK(defined(b, s) == R"(struct bits {
    std::uint32_t lo : 3;
    std::uint32_t mid : 5;
    std::uint32_t hi : 24;
    std::uint8_t flag : 1;
    std::uint64_t wide : 40;
    std::int32_t neg : 4;
};
static_assert(sizeof(bits) == 16, "bits: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: a packed struct with a bitfield across a byte stays packed", "[gen]") {
    Btf b;
    const int u8 = b.u8();
    const int s = b.strct("ev", 3);
    b.field("a", u8, 0, 4);
    b.field("b", u8, 4, 8);
    b.field("c", u8, 16);
    CHECK(defined(b, s) == R"(struct __attribute__((packed)) ev {
    std::uint8_t a : 4;
    std::uint16_t b : 8;
    std::uint8_t c;
};
static_assert(sizeof(ev) == 3, "ev: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(ev, c) == 2, "ev: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: a packed struct with a member off its alignment", "[gen]") {
    Btf b;
    const int u8 = b.u8(), u32 = b.u32(), u16 = b.u16();
    const int s = b.strct("packed_s", 7);
    b.field("a", u8, 0);
    b.field("b", u32, 8);
    b.field("c", u16, 40);
    CHECK(defined(b, s) == R"(struct __attribute__((packed)) packed_s {
    std::uint8_t a;
    std::uint32_t b;
    std::uint16_t c;
};
static_assert(sizeof(packed_s) == 7, "packed_s: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(packed_s, a) == 0, "packed_s: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(packed_s, b) == 1, "packed_s: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(packed_s, c) == 5, "packed_s: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: nested anonymous struct and union in place", "[gen]") {
    Btf b;
    const int u32 = b.u32(), u64 = b.u64();
    const int halves = b.strct(nullptr, 8);
    b.field("lo", u32, 0);
    b.field("hi", u32, 32);
    const int either = b.unn(nullptr, 8);
    b.field("as_u64", u64, 0);
    b.field(nullptr, halves, 0);
    const int inner = b.strct(nullptr, 4);
    b.field("x", u32, 0);
    const int s = b.strct("nested", 16);
    b.field(nullptr, either, 0);
    b.field("inner", inner, 64);
    CHECK(defined(b, s) == R"(struct nested {
    union {
        std::uint64_t as_u64;
        struct {
            std::uint32_t lo;
            std::uint32_t hi;
        };
    };
    struct {
        std::uint32_t x;
    } inner;
};
static_assert(sizeof(nested) == 16, "nested: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(nested, as_u64) == 0, "nested: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(nested, lo) == 0, "nested: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(nested, hi) == 4, "nested: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(nested, inner) == 8, "nested: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(sizeof(nested::inner) == 4, "nested: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(nested, inner.x) == 8, "nested: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: pointers and function pointers become 64-bit integers", "[gen]") {
    Btf b;
    const int u32 = b.u32();
    const int fwd = Btf::check(btf__add_fwd(b.b, "opaque", BTF_FWD_STRUCT));
    const int proto = Btf::check(btf__add_func_proto(b.b, 0));
    Btf::check(btf__add_func_param(b.b, "x", u32));
    const int to_opaque = Btf::check(btf__add_ptr(b.b, fwd));
    const int to_fn = Btf::check(btf__add_ptr(b.b, proto));
    const int s = b.strct("node", 24);
    b.field("id", u32, 0);
    b.field("op", to_opaque, 64);
    b.field("fn", to_fn, 128);
    CHECK(defined(b, s) == R"(struct node {
    std::uint32_t id;
    std::uint64_t op;
    std::uint64_t fn;
};
static_assert(sizeof(node) == 24, "node: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(node, id) == 0, "node: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(node, op) == 8, "node: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(node, fn) == 16, "node: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: a function prototype or a forward declaration by value is refused", "[gen]") {
    Btf b;
    const int fwd = Btf::check(btf__add_fwd(b.b, "opaque", BTF_FWD_STRUCT));
    const int proto = Btf::check(btf__add_func_proto(b.b, 0));
    const int s = b.strct("holder", 8);
    b.field("o", fwd, 0);
    CHECK_THROWS_WITH(defined(b, s), Catch::Contains("struct opaque") && Catch::Contains("only declared"));
    const int t = b.strct("fn_holder", 8);
    b.field("f", proto, 0);
    CHECK_THROWS_WITH(defined(b, t), Catch::Contains("a function cannot be used by value"));
}

TEST_CASE("gen: a datasec's variables become the section's struct", "[gen]") {
    Btf b;
    const int u32 = b.u32(), u64 = b.u64(), c = b.chr();
    const int tag = Btf::check(btf__add_array(b.b, u32, c, 3));
    const int hits = Btf::check(btf__add_var(b.b, "hits", BTF_VAR_GLOBAL_ALLOCATED, u64));
    const int pid = Btf::check(btf__add_var(b.b, "pid", BTF_VAR_GLOBAL_ALLOCATED, u32));
    const int name = Btf::check(btf__add_var(b.b, "name", BTF_VAR_GLOBAL_ALLOCATED, tag));
    const int sec = Btf::check(btf__add_datasec(b.b, ".data", 15));
    Btf::check(btf__add_datasec_var_info(b.b, hits, 0, 8));
    Btf::check(btf__add_datasec_var_info(b.b, pid, 8, 4));
    Btf::check(btf__add_datasec_var_info(b.b, name, 12, 3));
    // What generate() makes of the section's variables (it skips static and extern ones).
    gen::TypeWriter w(b.b, "t.bpf.o", "t", {{"Data", "section .data"}});
    std::vector<gen::Field> fields;
    const btf_var_secinfo* v = btf_var_secinfos(btf__type_by_id(b.b, static_cast<std::uint32_t>(sec)));
    for (int i = 0; i < 3; ++i) {
        const btf_type* var = btf__type_by_id(b.b, v[i].type);
        fields.push_back({btf__name_by_offset(b.b, var->name_off), var->type, v[i].offset * 8, 0});
    }
    w.define_struct(w.claimed("section .data"), fields, 15, "section .data");
    CHECK(w.text() == R"(struct Data {
    std::uint64_t hits;
    std::uint32_t pid;
    char name[3];
};
static_assert(sizeof(Data) == 16, "Data: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(Data, hits) == 0, "Data: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(Data, pid) == 8, "Data: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(Data, name) == 12, "Data: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: names that clash are renamed in their scope", "[gen]") {
    Btf b;
    const int s32 = b.s32();
    const int s = b.strct("Skeleton", 16);
    b.field("class", s32, 0);
    b.field("class_", s32, 32);
    b.field("errno", s32, 64);
    b.field("Skeleton", s32, 96);
    CHECK(defined(b, s) == R"(struct Skeleton_ {
    std::int32_t class__;
    std::int32_t class_;
    std::int32_t errno_;
    std::int32_t Skeleton;
};
static_assert(sizeof(Skeleton_) == 16, "Skeleton_: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(Skeleton_, class__) == 0, "Skeleton_: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(Skeleton_, class_) == 4, "Skeleton_: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(Skeleton_, errno_) == 8, "Skeleton_: layout differs from the BPF object's BTF; regenerate the skeleton");
static_assert(offsetof(Skeleton_, Skeleton) == 12, "Skeleton_: layout differs from the BPF object's BTF; regenerate the skeleton");

)");
}

TEST_CASE("gen: the two phases of a skeleton from a model", "[gen]") {
    gen::SkeletonModel m;
    m.ns = "t";
    m.object_name = "t";
    m.source = "t.bpf.o";
    m.types = "struct Rodata {\n    std::uint32_t pid;\n};\n\n";
    m.sections = {{".rodata", "rodata", "rodata_", "Rodata", true}};
    m.maps = {{"events", "events", "bpf::Map", true, false}};
    m.progs = {{"on_exec", "on_exec"}};
    CHECK(gen::emit(m) == R"(// Generated by libbpfcpp-gen from t.bpf.o; do not edit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include <libbpfcpp/module.hpp>
#include <libbpfcpp/ring_buffer.hpp>
#include <libbpfcpp/skeleton.hpp>

namespace t {

// ---- types of the object's BTF -------------------------------------------------
struct Rodata {
    std::uint32_t pid;
};

// ---- the skeleton ---------------------------------------------------------------
class Skeleton;

/// t.bpf.o opened and not loaded yet: set read-only globals, configure maps and
/// programs, then `std::move(open).load()`.
class OpenSkeleton {
private:
    bpf::Module module_;  // first: maps and progs are handles into it
    bpf::detail::MovedFromGuard<> live_;  // a moved-from skeleton throws instead of dangling

public:
    /// The object's maps, to configure before load.
    struct Maps {
        bpf::Map events;
    };
    /// The object's programs.
    struct Progs {
        bpf::Prog on_exec;
    };

    Maps maps;
    Progs progs;

    /// .rodata, writable until load: its contents become the initial values.
    [[nodiscard]] Rodata& rodata() { return *rodata_.get(); }
    /// The module underneath, for what the skeleton does not name.
    [[nodiscard]] bpf::Module& module() {
        live_.get();
        return module_;
    }
    /// The module underneath (const).
    [[nodiscard]] const bpf::Module& module() const {
        live_.get();
        return module_;
    }

    /// Creates the maps and loads the programs; the open phase is used up.
    [[nodiscard]] Skeleton load() &&;

private:
    friend class Skeleton;
    explicit OpenSkeleton(bpf::Module m)
        : module_(std::move(m)),
          live_(this, "t::OpenSkeleton"),
          maps{module_.map("events")},
          progs{module_.program("on_exec")},
          rodata_(&bpf::section_view<Rodata>(module_, ".rodata"), "t::OpenSkeleton") {}
    bpf::detail::MovedFromGuard<Rodata> rodata_;
};

/// t.bpf.o loaded: attach its programs, read and write its maps and globals.
class Skeleton {
private:
    bpf::Module module_;  // first: maps and progs are handles into it
    bpf::detail::MovedFromGuard<> live_;  // a moved-from skeleton throws instead of dangling

public:
    /// The open phase.
    using Open = OpenSkeleton;

    /// Opens the object file at `path` (a build of the same source).
    [[nodiscard]] static OpenSkeleton open_file(const std::string& path, const bpf::OpenOptions& options = {}) {
        return OpenSkeleton(bpf::Module::open_file(path, options));
    }

    /// The object's maps; typed where their BTF gives key and value types.
    struct Maps {
        bpf::Map events;
    };
    /// The object's programs.
    struct Progs {
        bpf::Prog on_exec;
    };

    Maps maps;
    Progs progs;

    /// .rodata as loaded; read-only (the kernel froze it).
    [[nodiscard]] const Rodata& rodata() const { return *rodata_.get(); }
    /// Attaches every program whose section says where (Module::attach_all()).
    void attach() { module().attach_all(); }
    /// The module underneath, for what the skeleton does not name.
    [[nodiscard]] bpf::Module& module() {
        live_.get();
        return module_;
    }
    /// The module underneath (const).
    [[nodiscard]] const bpf::Module& module() const {
        live_.get();
        return module_;
    }

private:
    friend class OpenSkeleton;
    explicit Skeleton(bpf::Module m)
        : module_(std::move(m)),
          live_(this, "t::Skeleton"),
          maps{module_.map("events")},
          progs{module_.program("on_exec")},
          rodata_(&bpf::section_view<const Rodata>(module_, ".rodata"), "t::Skeleton") {}
    bpf::detail::MovedFromGuard<const Rodata> rodata_;
};

inline Skeleton OpenSkeleton::load() && {
    module().load();
    OpenSkeleton used = std::move(*this);  // loaded: this open phase throws from now on
    return Skeleton(std::move(used.module_));
}

}  // namespace t
)");
}
