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
    std::string type;      // Rodata, Data_foo
    bool read_only;        // .rodata*: frozen at load
};

struct MapInfo {
    std::string name;
    std::string member;
    std::string loaded_type;  // bpf::TypedMap<...> or bpf::Map
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

}  // namespace

Output generate(std::span<const char> bytes, const Options& args) {

    const std::string name = args.name.empty() ? identifier(base_name(args.object)) : identifier(args.name);
    const std::string obj_name = args.name.empty() ? base_name(args.object) : args.name;
    // The generated code names the library's namespace and the standard one.
    if (name == "bpf" || name == "std")
        throw GenError(args.object + ": the namespace '" + name +
                       "' is taken by the library; choose another with --name");

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

    gen::TypeWriter types(b, args.object, name);
    for (const std::string& t : args.types) types.define(types.find(t));

    // Maps declared by the program; the global sections are reached through their structs.
    std::vector<MapInfo> maps;
    std::vector<Section> sections;
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(obj, m)) != nullptr) {
        if (bpf_map__is_internal(m)) {
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
            s.accessor = identifier(sname.substr(1));
            s.type = s.accessor;
            s.type[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s.type[0])));
            if (s.type.back() == '_') s.type.pop_back();  // "Data" needs no keyword suffix
            s.read_only = sname.rfind(".rodata", 0) == 0;
            types.define_struct(s.type, fields, bpf_map__value_size(m), "section " + sname);
            sections.push_back(s);
            continue;
        }
        MapInfo mi;
        const char* map_name = bpf_map__name(m);
        if (map_name == nullptr) throw GenError(args.object + ": a map without a name: the object is damaged");
        mi.name = map_name;
        mi.member = identifier(mi.name);
        mi.loaded_type = "bpf::Map";
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
    std::vector<std::string> progs;
    bpf_program* p = nullptr;
    while ((p = bpf_object__next_program(obj, p)) != nullptr) {
        const char* prog_name = bpf_program__name(p);
        if (prog_name == nullptr) throw GenError(args.object + ": a program without a name: the object is damaged");
        progs.emplace_back(prog_name);
    }

    const std::string src = base_name(args.object) + (args.object.size() >= 6 && args.object.ends_with(".bpf.o") ? ".bpf.o" : ".o");
    std::string o;
    o += "// Generated by libbpfcpp-gen from " + src + "; do not edit.\n";
    o += "#pragma once\n\n#include <cstddef>\n#include <cstdint>\n#include <span>\n#include <string>\n#include <utility>\n\n";
    // Only the headers the skeleton uses: a tool pays the compile time of the event buffers
    // and the rest of the library where it includes them itself.
    const bool typed_maps = std::any_of(maps.begin(), maps.end(), [](const MapInfo& mi) {
        return mi.loaded_type != "bpf::Map";
    });
    o += std::string(args.embed ? "#include <libbpfcpp/embedded.hpp>\n" : "") +
         "#include <libbpfcpp/module.hpp>\n#include <libbpfcpp/skeleton.hpp>\n" +
         (typed_maps ? "#include <libbpfcpp/typed_map.hpp>\n" : "") + "\n";
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
        o += "    return {\"" + obj_name + "\", std::as_bytes(std::span(detail::object_bytes))};\n}\n\n";
    }

    auto members = [&](bool loaded) {
        std::string s;
        s += "    /// The object's maps" + std::string(loaded ? "; typed where their BTF gives key and value types.\n"
                                                           : ", to configure before load.\n");
        s += "    struct Maps {\n";
        for (const MapInfo& mi : maps) s += "        " + (loaded ? mi.loaded_type : "bpf::Map") + " " + mi.member + ";\n";
        s += "    };\n    /// The object's programs.\n    struct Progs {\n";
        for (const std::string& pn : progs) s += "        bpf::Prog " + identifier(pn) + ";\n";
        s += "    };\n\n";
        return s;
    };
    auto init = [&](bool loaded) {
        const std::string owner = "\"" + name + (loaded ? "::Skeleton\"" : "::OpenSkeleton\"");
        std::string s = "        : module_(std::move(m)),\n          live_(this, " + owner + ")";
        s += ",\n          maps{";
        for (std::size_t i = 0; i < maps.size(); ++i) {
            const MapInfo& mi = maps[i];
            std::string h = "module_.map(\"" + mi.name + "\")";
            if (loaded && mi.loaded_type != "bpf::Map") h = mi.loaded_type + "(" + h + ")";
            s += (i == 0 ? "" : ", ") + h;
        }
        s += "},\n          progs{";
        for (std::size_t i = 0; i < progs.size(); ++i)
            s += (i == 0 ? "" : ", ") + std::string("module_.program(\"") + progs[i] + "\")";
        s += "}";
        for (const Section& sec : sections)
            s += ",\n          " + sec.accessor + "_(&bpf::section_view<" + sec.type + ">(module_, \"" + sec.name + "\"), " +
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
        o += "    /// " + sec.name + ", writable until load: its contents become the initial values.\n"
             "    [[nodiscard]] " + sec.type + "& " + sec.accessor + "() { return *" + sec.accessor + "_.get(); }\n";
    o += "    /// The module underneath, for what the skeleton does not name.\n";
    o += "    [[nodiscard]] bpf::Module& module() {\n        live_.get();\n        return module_;\n    }\n";
    o += "    /// The module underneath (const).\n";
    o += "    [[nodiscard]] const bpf::Module& module() const {\n        live_.get();\n        return module_;\n    }\n\n";
    o += "    /// Creates the maps and loads the programs; the open phase is used up.\n";
    o += "    [[nodiscard]] Skeleton load() &&;\n\n";
    o += "private:\n    friend class Skeleton;\n    explicit OpenSkeleton(bpf::Module m)\n" + init(false);
    for (const Section& sec : sections) o += "    bpf::detail::MovedFromGuard<" + sec.type + "> " + sec.accessor + "_;\n";
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
            o += "    /// " + sec.name + " as loaded; read-only (the kernel froze it).\n";
            o += "    [[nodiscard]] const " + sec.type + "& " + sec.accessor + "() const { return *" + sec.accessor +
                 "_.get(); }\n";
        } else {
            o += "    /// " + sec.name + ", mapped: writes reach the programs, reads see their updates.\n";
            o += "    [[nodiscard]] " + sec.type + "& " + sec.accessor + "() { return *" + sec.accessor + "_.get(); }\n";
            o += "    /// " + sec.name + ", mapped (const).\n";
            o += "    [[nodiscard]] const " + sec.type + "& " + sec.accessor + "() const { return *" + sec.accessor +
                 "_.get(); }\n";
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
             sec.accessor + "_;\n";
    o += "};\n\n";
    o += "inline Skeleton OpenSkeleton::load() && {\n    module().load();\n"
         "    OpenSkeleton used = std::move(*this);  // loaded: this open phase throws from now on\n"
         "    return Skeleton(std::move(used.module_));\n}\n\n";
    o += "}  // namespace " + name + "\n";
    return {std::move(o), types.warnings()};
}

}  // namespace gen
