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

struct Section {
    std::string name;      // ".rodata", ".data.foo"
    std::string accessor;  // rodata, data_foo
    std::string member;    // rodata_, data_foo_
    std::string type;      // Rodata, Data_foo
    bool read_only;        // .rodata*: frozen at load
};

struct MapInfo {
    std::string name;
    std::string member;
    std::string loaded_type;  // bpf::TypedMap<...> or bpf::Map
    bpf_map_type type;
};

void embed_bytes(std::string& out, std::span<const char> data) {
    // Decimal rows like scripts/embed.py: the same representation as the embedded objects.
    out.reserve(out.size() + data.size() * 4);
    char num[8];
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (i % 24 == 0) out += i == 0 ? "    " : "\n    ";
        int n = std::snprintf(num, sizeof num, "%u,", static_cast<unsigned char>(data[i]));
        out.append(num, static_cast<std::size_t>(n));
    }
    out += "\n";
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

}  // namespace

Output generate(std::span<const char> bytes, const Options& args) {

    const std::string name = namespace_name(args);
    const std::string obj_name = args.name.empty() ? base_name(args.object) : args.name;

    libbpf_messages.clear();
    libbpf_set_print(collect_libbpf);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = obj_name.c_str());
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
    std::vector<Section> sections;
    std::vector<std::pair<std::string, std::string>> section_types;
    Scope section_accessors;
    for (std::string_view n : {"module_", "live_", "maps", "progs", "Maps", "Progs", "Open", "open", "open_file",
                               "module", "attach", "load", "Skeleton", "OpenSkeleton"})
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
        Section s;
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
    for (Section& s : sections) s.member = section_accessors.claim(s.accessor + "_", "member of " + s.name);

    gen::TypeWriter types(b, args.object, name, section_types);
    for (const std::string& t : args.types) types.define(types.find(t));

    // Maps declared by the program; the global sections are reached through their structs.
    std::vector<MapInfo> maps;
    Scope map_members;
    map_members.reserve("Maps");
    std::size_t next_section = 0;
    while ((m = bpf_object__next_map(obj, m)) != nullptr) {
        if (next_section < globals.size() && globals[next_section].map == m) {
            Section& s = sections[next_section];
            s.type = types.claimed("section " + s.name);
            types.define_struct(s.type, globals[next_section].fields, bpf_map__value_size(m), "section " + s.name);
            ++next_section;
            continue;
        }
        if (bpf_map__is_internal(m)) continue;
        MapInfo mi;
        const char* map_name = bpf_map__name(m);
        if (map_name == nullptr) throw GenError(args.object + ": a map without a name: the object is damaged");
        mi.name = map_name;
        mi.member = map_members.claim(mi.name, "map " + mi.name);
        mi.loaded_type = "bpf::Map";
        mi.type = bpf_map__type(m);
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
    std::vector<std::pair<std::string, std::string>> progs;  // name, member
    Scope prog_members;
    prog_members.reserve("Progs");
    bpf_program* p = nullptr;
    while ((p = bpf_object__next_program(obj, p)) != nullptr) {
        const char* prog_name = bpf_program__name(p);
        if (prog_name == nullptr) throw GenError(args.object + ": a program without a name: the object is damaged");
        progs.emplace_back(prog_name, prog_members.claim(prog_name, std::string("program ") + prog_name));
    }

    const std::string src = comment_text(base_name(args.object) +
                                         (args.object.size() >= 6 && args.object.ends_with(".bpf.o") ? ".bpf.o" : ".o"));
    std::string o;
    o += "// Generated by libbpfcpp-gen from " + src + "; do not edit.\n";
    o += "#pragma once\n\n#include <cstddef>\n#include <cstdint>\n#include <span>\n#include <string>\n#include <utility>\n\n";
    // Only the headers the skeleton uses: a tool pays the compile time of the event buffers
    // and the rest of the library where it includes them itself.
    const bool typed_maps = std::any_of(maps.begin(), maps.end(), [](const MapInfo& mi) {
        return mi.loaded_type != "bpf::Map";
    });
    // A map the object reads events through is used through its buffer type: module.hpp
    // only declares them.
    auto has_map = [&](bpf_map_type type) {
        return std::any_of(maps.begin(), maps.end(), [&](const MapInfo& mi) { return mi.type == type; });
    };
    o += std::string(args.embed ? "#include <libbpfcpp/embedded.hpp>\n" : "") +
         "#include <libbpfcpp/module.hpp>\n" +
         (has_map(BPF_MAP_TYPE_PERF_EVENT_ARRAY) ? "#include <libbpfcpp/perf_buffer.hpp>\n" : "") +
         (has_map(BPF_MAP_TYPE_RINGBUF) ? "#include <libbpfcpp/ring_buffer.hpp>\n" : "") +
         "#include <libbpfcpp/skeleton.hpp>\n" + (typed_maps ? "#include <libbpfcpp/typed_map.hpp>\n" : "") + "\n";
    o += "namespace " + name + " {\n\n";
    o += "// ---- types of the object's BTF -------------------------------------------------\n";
    o += types.text();
    if (args.embed) {
        o += "// ---- the object -----------------------------------------------------------------\n";
        o += "namespace detail {\nalignas(8) inline constexpr unsigned char object_bytes[" +
             std::to_string(bytes.size()) + "] = {\n";
        embed_bytes(o, bytes);
        o += "};\n}  // namespace detail\n\n";
        o += "/// " + src + ", embedded: for bpf::Module::open_memory() (Skeleton::open() opens it).\n";
        o += "inline bpf::EmbeddedObject embedded_object() noexcept {\n";
        o += "    return {" + cpp_string(obj_name) + ", std::as_bytes(std::span(detail::object_bytes))};\n}\n\n";
    }

    auto members = [&](bool loaded) {
        std::string s;
        s += "    /// The object's maps" + std::string(loaded ? "; typed where their BTF gives key and value types.\n"
                                                           : ", to configure before load.\n");
        s += "    struct Maps {\n";
        for (const MapInfo& mi : maps) s += "        " + (loaded ? mi.loaded_type : "bpf::Map") + " " + mi.member + ";\n";
        s += "    };\n    /// The object's programs.\n    struct Progs {\n";
        for (const auto& [pn, member] : progs) s += "        bpf::Prog " + member + ";\n";
        s += "    };\n\n";
        return s;
    };
    auto init = [&](bool loaded) {
        const std::string owner = "\"" + name + (loaded ? "::Skeleton\"" : "::OpenSkeleton\"");
        std::string s = "        : module_(std::move(m)),\n          live_(this, " + owner + ")";
        s += ",\n          maps{";
        for (std::size_t i = 0; i < maps.size(); ++i) {
            const MapInfo& mi = maps[i];
            std::string h = "module_.map(" + cpp_string(mi.name) + ")";
            if (loaded && mi.loaded_type != "bpf::Map") h = mi.loaded_type + "(" + h + ")";
            s += (i == 0 ? "" : ", ") + h;
        }
        s += "},\n          progs{";
        for (std::size_t i = 0; i < progs.size(); ++i)
            s += std::string(i == 0 ? "" : ", ") + "module_.program(" + cpp_string(progs[i].first) + ")";
        s += "}";
        for (const Section& sec : sections)
            s += ",\n          " + sec.member + "(&bpf::section_view<" + sec.type + ">(module_, " + cpp_string(sec.name) + "), " +
                 owner + ")";
        s += " {}\n";
        return s;
    };

    o += "// ---- the skeleton ---------------------------------------------------------------\n";
    o += "class Skeleton;\n\n";
    o += "/// " + src + " opened and not loaded yet: set read-only globals, configure maps and\n";
    o += "/// programs, then `std::move(open).load()`.\n";
    o += "class OpenSkeleton {\n";
    o += "private:\n    bpf::Module module_;  // first: maps and progs are handles into it\n";
    o += "    bpf::detail::MovedFromGuard<> live_;  // a moved-from skeleton throws instead of dangling\n\npublic:\n";
    o += members(false);
    o += "    Maps maps;\n    Progs progs;\n\n";
    for (const Section& sec : sections)
        o += "    /// " + comment_text(sec.name) + ", writable until load: its contents become the initial values.\n"
             "    [[nodiscard]] " + sec.type + "& " + sec.accessor + "() { return *" + sec.member + ".get(); }\n";
    o += "    /// The module underneath, for what the skeleton does not name.\n";
    o += "    [[nodiscard]] bpf::Module& module() {\n        live_.get();\n        return module_;\n    }\n";
    o += "    /// The module underneath (const).\n";
    o += "    [[nodiscard]] const bpf::Module& module() const {\n        live_.get();\n        return module_;\n    }\n\n";
    o += "    /// Creates the maps and loads the programs; the open phase is used up.\n";
    o += "    [[nodiscard]] Skeleton load() &&;\n\n";
    o += "private:\n    friend class Skeleton;\n    explicit OpenSkeleton(bpf::Module m)\n" + init(false);
    for (const Section& sec : sections) o += "    bpf::detail::MovedFromGuard<" + sec.type + "> " + sec.member + ";\n";
    o += "};\n\n";

    o += "/// " + src + " loaded: attach its programs, read and write its maps and globals.\n";
    o += "class Skeleton {\n";
    o += "private:\n    bpf::Module module_;  // first: maps and progs are handles into it\n";
    o += "    bpf::detail::MovedFromGuard<> live_;  // a moved-from skeleton throws instead of dangling\n\npublic:\n";
    o += "    /// The open phase.\n    using Open = OpenSkeleton;\n\n";
    if (args.embed) {
        o += "    /// Opens the embedded object.\n";
        o += "    [[nodiscard]] static OpenSkeleton open(const bpf::OpenOptions& options = {}) {\n";
        o += "        return OpenSkeleton(bpf::Module::open_memory(embedded_object(), options));\n    }\n";
    }
    o += "    /// Opens the object file at `path` (a build of the same source).\n";
    o += "    [[nodiscard]] static OpenSkeleton open_file(const std::string& path, const bpf::OpenOptions& options = {}) {\n";
    o += "        return OpenSkeleton(bpf::Module::open_file(path, options));\n    }\n\n";
    o += members(true);
    o += "    Maps maps;\n    Progs progs;\n\n";
    for (const Section& sec : sections) {
        if (sec.read_only) {
            o += "    /// " + comment_text(sec.name) + " as loaded; read-only (the kernel froze it).\n";
            o += "    [[nodiscard]] const " + sec.type + "& " + sec.accessor + "() const { return *" + sec.member +
                 ".get(); }\n";
        } else {
            o += "    /// " + comment_text(sec.name) + ", mapped: writes reach the programs, reads see their updates.\n";
            o += "    [[nodiscard]] " + sec.type + "& " + sec.accessor + "() { return *" + sec.member + ".get(); }\n";
            o += "    /// " + comment_text(sec.name) + ", mapped (const).\n";
            o += "    [[nodiscard]] const " + sec.type + "& " + sec.accessor + "() const { return *" + sec.member +
                 ".get(); }\n";
        }
    }
    o += "    /// Attaches every program whose section says where (Module::attach_all()).\n";
    o += "    void attach() { module().attach_all(); }\n";
    o += "    /// The module underneath, for what the skeleton does not name.\n";
    o += "    [[nodiscard]] bpf::Module& module() {\n        live_.get();\n        return module_;\n    }\n";
    o += "    /// The module underneath (const).\n";
    o += "    [[nodiscard]] const bpf::Module& module() const {\n        live_.get();\n        return module_;\n    }\n\n";
    o += "private:\n    friend class OpenSkeleton;\n    explicit Skeleton(bpf::Module m)\n" + init(true);
    for (const Section& sec : sections)
        o += "    bpf::detail::MovedFromGuard<" + std::string(sec.read_only ? "const " : "") + sec.type + "> " +
             sec.member + ";\n";
    o += "};\n\n";
    o += "inline Skeleton OpenSkeleton::load() && {\n    module().load();\n"
         "    OpenSkeleton used = std::move(*this);  // loaded: this open phase throws from now on\n"
         "    return Skeleton(std::move(used.module_));\n}\n\n";
    o += "}  // namespace " + name + "\n";
    return {std::move(o), types.warnings()};
}

}  // namespace gen
