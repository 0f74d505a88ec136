// What a skeleton header says, as plain data: read.cpp fills it from the object (libbpf and
// its BTF), emit.cpp writes it out. Every name in it is already the C++ one (names.hpp).
#pragma once

#include <span>
#include <string>
#include <vector>

namespace gen {

/// A global section (.rodata, .data, .bss, .data.X, .rodata.X).
struct SectionModel {
    std::string name;      ///< ".data.foo", as in the object
    std::string accessor;  ///< data_foo(): the skeletons' accessor
    std::string member;    ///< data_foo_: the skeletons' member behind it
    std::string type;      ///< Data_foo: the struct of its variables
    bool read_only = false;  ///< .rodata*: frozen at load
};

/// A map the program declares.
struct MapModel {
    std::string name;         ///< as in the object
    std::string member;       ///< maps.NAME
    std::string loaded_type;  ///< bpf::TypedMap<K, V>, bpf::TypedPerCpuMap<K, V> or bpf::Map
    bool ring_buffer = false;
    bool perf_event_array = false;
};

/// A program.
struct ProgModel {
    std::string name;    ///< as in the object
    std::string member;  ///< progs.NAME
};

/// One skeleton header.
struct SkeletonModel {
    std::string ns;            ///< the namespace
    std::string object_name;   ///< the embedded object's name (the file's, or --name)
    std::string source;        ///< the object's file name, for comments (escaped already)
    std::string types;         ///< the C++ of the BTF types and section structs (TypeWriter)
    std::span<const char> embedded;  ///< the object's bytes; empty with --no-embed
    std::vector<SectionModel> sections;
    std::vector<MapModel> maps;
    std::vector<ProgModel> progs;
    std::vector<std::string> warnings;
};

struct Options;

/// The model of the object `bytes` (read.cpp). Throws GenError.
SkeletonModel read_object(std::span<const char> bytes, const Options& options);

/// The header's text (emit.cpp).
std::string emit(const SkeletonModel& model);

}  // namespace gen
