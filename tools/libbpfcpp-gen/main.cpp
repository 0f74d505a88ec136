// libbpfcpp-gen: writes a typed C++ skeleton (NAME.skel.hpp) of a compiled BPF object.
//
//   libbpfcpp-gen skeleton OBJECT.bpf.o [--name NAME] [--type TYPE]... [--no-embed] [-o OUT.hpp]
//
// The header defines, in namespace NAME: C++ mirrors of the BTF types the object's maps
// and globals use (and of each --type), structs of its global sections, and
// NAME::Skeleton with its open phase NAME::OpenSkeleton (see docs/recipes.md).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <libbpfcpp/detail/object_checks.hpp>

#include "types.hpp"

namespace {

using gen::GenError;
using gen::identifier;

constexpr const char* usage =
    "usage: libbpfcpp-gen skeleton OBJECT.bpf.o [--name NAME] [--type TYPE]... [--no-embed] [-o OUT.hpp]\n"
    "\n"
    "Writes a C++ header with the object's maps, programs, global sections and BTF types,\n"
    "checked at compile time. NAME (the namespace) defaults to the file name without .bpf.o.\n"
    "  --type TYPE   also define TYPE (\"foo\", \"struct foo\", \"enum foo\"), e.g. an event struct\n"
    "  --no-embed    do not embed the object; open it with Skeleton::open_file(path)\n"
    "  -o OUT.hpp    write there instead of standard output\n";

struct Args {
    std::string object;
    std::string name;
    std::string out;
    std::vector<std::string> types;
    bool embed = true;
};

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

void embed_bytes(std::string& out, const std::vector<char>& data) {
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

std::string generate(const Args& args) {
    std::ifstream in(args.object, std::ios::binary);
    if (!in) throw GenError(args.object + ": cannot read: " + std::strerror(errno));
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

    const std::string name = args.name.empty() ? identifier(base_name(args.object)) : identifier(args.name);
    const std::string obj_name = args.name.empty() ? base_name(args.object) : args.name;
    // The generated code names the library's namespace and the standard one.
    if (name == "bpf" || name == "std")
        throw GenError(args.object + ": the namespace '" + name +
                       "' is taken by the library; choose another with --name");

    libbpf_set_print(collect_libbpf);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = obj_name.c_str());
    if (std::string bad = bpf::detail::corrupt_object_problem(std::as_bytes(std::span(bytes))); !bad.empty())
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
            const std::string sname = btf__name_by_offset(b, sec->name_off);
            if (sname == ".kconfig") continue;  // externs filled by libbpf, not by the user
            std::vector<gen::Field> fields;
            const btf_var_secinfo* vs = btf_var_secinfos(sec);
            for (unsigned i = 0; i < btf_vlen(sec); ++i) {
                const btf_type* var = btf__type_by_id(b, vs[i].type);
                if (var == nullptr || !btf_is_var(var)) continue;
                // Static variables are the object's own business (and padding here).
                if (btf_var(var)->linkage == BTF_VAR_STATIC) continue;
                if (btf_var(var)->linkage == BTF_VAR_GLOBAL_EXTERN) continue;  // resolved by libbpf
                fields.push_back({btf__name_by_offset(b, var->name_off), var->type, vs[i].offset * 8, 0});
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
        mi.name = bpf_map__name(m);
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
    while ((p = bpf_object__next_program(obj, p)) != nullptr) progs.emplace_back(bpf_program__name(p));

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
        std::string s = "        : module_(std::move(m))";
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
            s += ",\n          " + sec.accessor + "_(&bpf::section_view<" + (loaded && sec.read_only ? "const " : "") + sec.type + ">(module_, \"" + sec.name + "\"))";
        s += " {}\n";
        return s;
    };

    o += "// ---- the skeleton ---------------------------------------------------------------\n";
    o += "class Skeleton;\n\n";
    o += "/// " + src + " opened and not loaded yet: set read-only globals, configure maps and\n";
    o += "/// programs, then `std::move(open).load()`.\n";
    o += "class OpenSkeleton {\n";
    o += "private:\n    bpf::Module module_;  // first: maps and progs are handles into it\n\npublic:\n";
    o += members(false);
    o += "    Maps maps;\n    Progs progs;\n\n";
    for (const Section& sec : sections)
        o += "    /// " + sec.name + ", writable until load: its contents become the initial values.\n"
             "    [[nodiscard]] " + sec.type + "& " + sec.accessor + "() noexcept { return *" + sec.accessor + "_; }\n";
    o += "    /// The module underneath, for what the skeleton does not name.\n";
    o += "    [[nodiscard]] bpf::Module& module() noexcept { return module_; }\n";
    o += "    /// The module underneath (const).\n";
    o += "    [[nodiscard]] const bpf::Module& module() const noexcept { return module_; }\n\n";
    o += "    /// Creates the maps and loads the programs; the open phase is used up.\n";
    o += "    [[nodiscard]] Skeleton load() &&;\n\n";
    o += "private:\n    friend class Skeleton;\n    explicit OpenSkeleton(bpf::Module m)\n" + init(false);
    for (const Section& sec : sections) o += "    " + sec.type + "* " + sec.accessor + "_;\n";
    o += "};\n\n";

    o += "/// " + src + " loaded: attach its programs, read and write its maps and globals.\n";
    o += "class Skeleton {\n";
    o += "private:\n    bpf::Module module_;  // first: maps and progs are handles into it\n\npublic:\n";
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
            o += "    [[nodiscard]] const " + sec.type + "& " + sec.accessor + "() const noexcept { return *" +
                 sec.accessor + "_; }\n";
        } else {
            o += "    /// " + sec.name + ", mapped: writes reach the programs, reads see their updates.\n";
            o += "    [[nodiscard]] " + sec.type + "& " + sec.accessor + "() noexcept { return *" + sec.accessor + "_; }\n";
            o += "    /// " + sec.name + ", mapped (const).\n";
            o += "    [[nodiscard]] const " + sec.type + "& " + sec.accessor + "() const noexcept { return *" +
                 sec.accessor + "_; }\n";
        }
    }
    o += "    /// Attaches every program whose section says where (Module::attach_all()).\n";
    o += "    void attach() { module_.attach_all(); }\n";
    o += "    /// The module underneath, for what the skeleton does not name.\n";
    o += "    [[nodiscard]] bpf::Module& module() noexcept { return module_; }\n";
    o += "    /// The module underneath (const).\n";
    o += "    [[nodiscard]] const bpf::Module& module() const noexcept { return module_; }\n\n";
    o += "private:\n    friend class OpenSkeleton;\n    explicit Skeleton(bpf::Module m)\n" + init(true);
    for (const Section& sec : sections)
        o += "    " + std::string(sec.read_only ? "const " : "") + sec.type + "* " + sec.accessor + "_;\n";
    o += "};\n\n";
    o += "inline Skeleton OpenSkeleton::load() && {\n    module_.load();\n    return Skeleton(std::move(module_));\n}\n\n";
    o += "}  // namespace " + name + "\n";
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> av(argv + 1, argv + argc);
    if (av.empty() || av[0] == "-h" || av[0] == "--help") {
        std::fputs(usage, av.empty() ? stderr : stdout);
        return av.empty() ? 2 : 0;
    }
    if (av[0] != "skeleton") {
        std::fprintf(stderr, "libbpfcpp-gen: unknown command '%s'\n\n%s", av[0].c_str(), usage);
        return 2;
    }
    Args args;
    for (std::size_t i = 1; i < av.size(); ++i) {
        const std::string& a = av[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= av.size()) {
                std::fprintf(stderr, "libbpfcpp-gen: %s needs a value\n\n%s", a.c_str(), usage);
                std::exit(2);
            }
            return av[++i];
        };
        if (a == "--name") args.name = value();
        else if (a == "--type") args.types.push_back(value());
        else if (a == "--no-embed") args.embed = false;
        else if (a == "-o") args.out = value();
        else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "libbpfcpp-gen: unknown option '%s'\n\n%s", a.c_str(), usage);
            return 2;
        } else if (args.object.empty()) args.object = a;
        else {
            std::fprintf(stderr, "libbpfcpp-gen: one object at a time ('%s' and '%s')\n", args.object.c_str(), a.c_str());
            return 2;
        }
    }
    if (args.object.empty()) {
        std::fputs(usage, stderr);
        return 2;
    }
    try {
        const std::string text = generate(args);
        if (args.out.empty()) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            return std::fflush(stdout) == 0 ? 0 : 1;
        }
        // Written whole or not at all: a failed run leaves no half header for the build.
        const std::string tmp = args.out + ".tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out.write(text.data(), static_cast<std::streamsize>(text.size()));
            if (!out) throw GenError(args.out + ": cannot write: " + std::strerror(errno));
        }
        if (std::rename(tmp.c_str(), args.out.c_str()) != 0)
            throw GenError(args.out + ": cannot write: " + std::strerror(errno));
    } catch (const GenError& e) {
        std::fprintf(stderr, "libbpfcpp-gen: %s\n", e.what());
        return 1;
    }
    return 0;
}
