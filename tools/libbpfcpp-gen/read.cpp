// Reads a BPF object into a SkeletonModel: libbpf opens it, its maps, programs and global
// sections are listed, and TypeWriter turns the BTF types they use into C++.
#include "generate.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <libbpfcpp/detail/object_checks.hpp>

#include "model.hpp"
#include "names.hpp"
#include "types.hpp"

namespace gen {

namespace {

std::string libbpf_messages;

int collect_libbpf(libbpf_print_level level, const char* fmt, va_list ap) {
    if (level == LIBBPF_DEBUG) return 0;
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    libbpf_messages += buf;
    return n;
}

std::string base_name(const std::string& path) {
    std::string n = path.substr(path.find_last_of('/') + 1);
    for (std::string_view sfx : {".bpf.o", ".o"})
        if (n.size() > sfx.size() && n.compare(n.size() - sfx.size(), sfx.size(), sfx) == 0) {
            n.erase(n.size() - sfx.size());
            break;
        }
    return n;
}

// The object's file name for the header's comments.
std::string source_name(const std::string& path) {
    return base_name(path) + (path.size() >= 6 && path.ends_with(".bpf.o") ? ".bpf.o" : ".o");
}

// The skeleton's namespace. --name is taken as given, or refused when it cannot be one; the
// file's name, made an identifier, gets "_bpf" appended when it would not compile as a
// namespace: a keyword or macro, a function of the C library (readahead, read, select,
// time, ... which <unistd.h> and the like declare at global scope; bpftool's C skeletons
// take the same suffix), or the namespaces the header names (bpf, std).
std::string namespace_name(const Options& args) {
    auto unusable = [](const std::string& n) {
        return !plain_identifier(n) || c_library_name(n) || n == "bpf" || n == "std";
    };
    if (args.name.empty()) {
        std::string n = sanitized(base_name(args.object));
        return unusable(n) ? n + "_bpf" : n;
    }
    const std::string& n = args.name;
    if (!plain_identifier(n))
        throw GenError("--name '" + comment_text(n) + "' " +
                       (sanitized(n) != n ? "is not a C++ identifier (letters, digits and '_', not starting with a digit)"
                        : is_keyword(n)   ? "is a C++ keyword"
                                          : "is a macro of the C library") +
                       "; choose another");
    if (unusable(n))
        throw GenError("--name '" + n + "' is " +
                       (c_library_name(n) ? "a function of the C library, which <unistd.h> and the like declare"
                                          : "a namespace the header uses") +
                       ": a namespace of that name does not compile beside it; choose another, e.g. '" + n + "_bpf'");
    return n;
}

// Through modifiers and typedefs, at most as deep as any C program nests them (a damaged
// object may loop; TypeWriter refuses that later, this only must not hang first).
std::uint32_t skip_qualifiers(const btf* b, std::uint32_t id) {
    for (int depth = 0; depth < 64; ++depth) {
        const btf_type* t = btf__type_by_id(b, id);
        if (t == nullptr || !(btf_is_mod(t) || btf_is_typedef(t))) return id;
        id = t->type;
    }
    return id;
}

// The ops struct of struct_ops map `map`: the type of its variable in a .struct_ops or
// .struct_ops.link section; 0 when there is none.
std::uint32_t struct_ops_type(const btf* b, const std::string& map, const std::string& object) {
    const std::uint32_t n = btf__type_cnt(b);
    for (std::uint32_t id = 1; id < n; ++id) {
        const btf_type* sec = btf__type_by_id(b, id);
        if (sec == nullptr || !btf_is_datasec(sec)) continue;
        if (gen::btf_name(b, sec->name_off, object).rfind(".struct_ops", 0) != 0) continue;
        const btf_var_secinfo* vs = btf_var_secinfos(sec);
        for (unsigned i = 0; i < btf_vlen(sec); ++i) {
            const btf_type* var = btf__type_by_id(b, vs[i].type);
            if (var == nullptr || !btf_is_var(var) || gen::btf_name(b, var->name_off, object) != map) continue;
            const std::uint32_t t = skip_qualifiers(b, var->type);
            const btf_type* st = btf__type_by_id(b, t);
            return st != nullptr && btf_is_struct(st) ? t : 0;
        }
    }
    return 0;
}

// A member of an ops struct that a program fills: a pointer to a function.
bool function_pointer(const btf* b, std::uint32_t id) {
    const btf_type* t = btf__type_by_id(b, skip_qualifiers(b, id));
    if (t == nullptr || !btf_is_ptr(t)) return false;
    const btf_type* target = btf__type_by_id(b, skip_qualifiers(b, t->type));
    return target != nullptr && btf_is_func_proto(target);
}

}  // namespace

SkeletonModel read_object(std::span<const char> bytes, const Options& args) {

    const std::string name = namespace_name(args);
    const std::string obj_name = args.name.empty() ? base_name(args.object) : args.name;

    libbpf_messages.clear();
    libbpf_set_print(collect_libbpf);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = obj_name.c_str());
    if (std::string bad = bpf::detail::corrupt_object_problem(std::as_bytes(bytes)); !bad.empty())
        throw GenError(args.object + ": corrupt object: " + bad + "; the .BTF section is damaged, rebuild the object");
    bpf_object* obj = bpf_object__open_mem(bytes.data(), bytes.size(), &opts);
    if (obj == nullptr) {
        const int err = errno;
        std::string why = libbpf_messages.empty() ? std::string(std::strerror(err)) : libbpf_messages;
        while (!why.empty() && why.back() == '\n') why.pop_back();
        throw GenError(args.object + ": libbpf cannot open it as a BPF object: " + why);
    }
    struct Closer {
        bpf_object* o;
        ~Closer() { bpf_object__close(o); }
    } closer{obj};
    const btf* b = bpf_object__btf(obj);
    if (b == nullptr)
        throw GenError(args.object + ": the object has no BTF; compile it with clang -g (BTF is what the "
                                     "skeleton's types are made from)");

    // The global sections first: their structs are the generator's names in the namespace,
    // which the BTF's types give way to.
    struct Global {
        bpf_map* map;
        std::vector<gen::Field> fields;
    };
    std::vector<Global> globals;  // per section, for define_struct() in the maps' order
    std::vector<SectionModel> sections;
    std::vector<std::pair<std::string, std::string>> section_types;
    Scope section_accessors;
    for (std::string_view n : {"module_", "live_", "maps", "progs", "Maps", "Progs", "Open", "open", "open_file",
                               "module", "attach", "load", "Skeleton", "OpenSkeleton", "struct_ops", "StructOps"})
        section_accessors.reserve(n);
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(obj, m)) != nullptr) {
        if (!bpf_map__is_internal(m)) continue;
        const btf_type* sec = btf__type_by_id(b, bpf_map__btf_value_type_id(m));
        if (sec == nullptr || !btf_is_datasec(sec)) continue;
        const std::string sname = gen::btf_name(b, sec->name_off, args.object);
        if (sname == ".kconfig") continue;  // externs filled by libbpf, not by the user
        std::vector<gen::Field> fields;
        const btf_var_secinfo* vs = btf_var_secinfos(sec);
        for (unsigned i = 0; i < btf_vlen(sec); ++i) {
            const btf_type* var = btf__type_by_id(b, vs[i].type);
            if (var == nullptr || !btf_is_var(var)) continue;
            // Static variables are the object's own business (and padding here).
            if (btf_var(var)->linkage == BTF_VAR_STATIC) continue;
            if (btf_var(var)->linkage == BTF_VAR_GLOBAL_EXTERN) continue;  // resolved by libbpf
            fields.push_back({gen::btf_name(b, var->name_off, args.object), var->type, vs[i].offset * 8, 0});
        }
        if (fields.empty()) continue;
        SectionModel s;
        s.name = sname;
        // .data.a.b and .data.a_b: one accessor and one struct name each, in one scope.
        s.accessor = section_accessors.claim(sname.substr(1), "section " + sname);
        std::string type = sanitized(sname.substr(1));
        type[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(type[0])));
        section_types.emplace_back(type, "section " + sname);
        s.read_only = sname.rfind(".rodata", 0) == 0;
        sections.push_back(s);
        globals.push_back({m, std::move(fields)});
    }
    for (SectionModel& s : sections) s.member = section_accessors.claim(s.accessor + "_", "member of " + s.name);

    // struct_ops maps: the ops struct each fills becomes a shadow struct the generator names.
    struct OpsShadow {
        std::string map;
        std::uint32_t type;
        std::string owner;
    };
    std::vector<OpsShadow> shadows;
    while ((m = bpf_object__next_map(obj, m)) != nullptr) {
        if (bpf_map__type(m) != BPF_MAP_TYPE_STRUCT_OPS || bpf_map__name(m) == nullptr) continue;
        const std::string map_name = bpf_map__name(m);
        const std::uint32_t t = struct_ops_type(b, map_name, args.object);
        if (t == 0) continue;
        shadows.push_back({map_name, t, "struct_ops map " + map_name});
        section_types.emplace_back("StructOps_" + sanitized(map_name), shadows.back().owner);
    }

    gen::TypeWriter types(b, args.object, name, section_types);
    for (const std::string& t : args.types) types.define(types.find(t));

    // Maps declared by the program; the global sections are reached through their structs.
    std::vector<MapModel> maps;
    Scope map_members;
    map_members.reserve("Maps");
    std::size_t next_section = 0;
    while ((m = bpf_object__next_map(obj, m)) != nullptr) {
        if (next_section < globals.size() && globals[next_section].map == m) {
            SectionModel& s = sections[next_section];
            s.type = types.claimed("section " + s.name);
            types.define_struct(s.type, globals[next_section].fields, bpf_map__value_size(m), "section " + s.name);
            ++next_section;
            continue;
        }
        if (bpf_map__is_internal(m)) continue;
        MapModel mi;
        const char* map_name = bpf_map__name(m);
        if (map_name == nullptr) throw GenError(args.object + ": a map without a name: the object is damaged");
        mi.name = map_name;
        mi.member = map_members.claim(mi.name, "map " + mi.name);
        mi.loaded_type = "bpf::Map";
        mi.ring_buffer = bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF;
        mi.perf_event_array = bpf_map__type(m) == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
        const std::uint32_t kid = bpf_map__btf_key_type_id(m);
        const std::uint32_t vid = bpf_map__btf_value_type_id(m);
        if (kid != 0 && vid != 0) {
            std::string k = types.type_name(kid, mi.member + "_key");
            std::string v = types.type_name(vid, mi.member + "_value");
            const bpf_map_type mt = bpf_map__type(m);
            const bool per_cpu = mt == BPF_MAP_TYPE_PERCPU_HASH || mt == BPF_MAP_TYPE_PERCPU_ARRAY ||
                                 mt == BPF_MAP_TYPE_LRU_PERCPU_HASH || mt == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
            if (!k.empty() && !v.empty())
                mi.loaded_type = std::string(per_cpu ? "bpf::TypedPerCpuMap<" : "bpf::TypedMap<") + k + ", " + v + ">";
        }
        maps.push_back(mi);
    }
    // The shadows: the ops struct's members at their offsets, the function pointers as the
    // programs that fill them (libbpf keeps a bpf_program* there before load).
    std::vector<StructOpsModel> struct_ops;
    Scope ops_members;
    ops_members.reserve("StructOps");
    for (const OpsShadow& s : shadows) {
        const btf_type* st = btf__type_by_id(b, s.type);
        std::vector<gen::Field> fields;
        const btf_member* mem = btf_members(st);
        for (unsigned i = 0; i < btf_vlen(st); ++i) {
            gen::Field f{gen::btf_name(b, mem[i].name_off, args.object), mem[i].type, btf_member_bit_offset(st, i),
                         btf_member_bitfield_size(st, i)};
            if (f.bit_size == 0 && function_pointer(b, f.type)) f.spelled = "bpf::StructOpsProgram";
            fields.push_back(std::move(f));
        }
        StructOpsModel so{s.map, ops_members.claim(s.map, s.owner), types.claimed(s.owner)};
        types.define_struct(so.type, fields, st->size, s.owner);
        struct_ops.push_back(std::move(so));
    }

    std::vector<ProgModel> progs;
    Scope prog_members;
    prog_members.reserve("Progs");
    bpf_program* p = nullptr;
    while ((p = bpf_object__next_program(obj, p)) != nullptr) {
        const char* prog_name = bpf_program__name(p);
        if (prog_name == nullptr) throw GenError(args.object + ": a program without a name: the object is damaged");
        progs.push_back({prog_name, prog_members.claim(prog_name, std::string("program ") + prog_name)});
    }

    SkeletonModel model;
    model.ns = name;
    model.object_name = obj_name;
    model.source = comment_text(source_name(args.object));
    if (!args.linked.empty()) {
        model.source.clear();
        for (const std::string& in : args.linked)
            model.source += (model.source.empty() ? "" : " + ") + comment_text(source_name(in));
        model.source += " (linked)";
    }
    model.types = types.text();
    if (args.embed) model.embedded = bytes;
    model.sections = std::move(sections);
    model.maps = std::move(maps);
    model.progs = std::move(progs);
    model.struct_ops = std::move(struct_ops);
    model.warnings = types.warnings();
    return model;
}

}  // namespace gen
