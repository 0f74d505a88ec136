// The heap-resident state of a bpf::Module; Map/Prog handles point here, so a Module
// can be moved without invalidating them.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include <bpf/libbpf.h>

#include "../link.hpp"
#include "compiled.hpp"

namespace bpf::detail {

/// Something a Module owns besides links (event buffers, helper threads). Its destructor
/// must stop whatever it runs; it is destroyed before the links and the object.
class Resource {
public:
    virtual ~Resource() = default;
};

struct ModuleState {
    bpf_object* obj = nullptr;
    std::string name;
    std::optional<std::string> token_path;  // OpenOptions::bpf_token_path, for load errors
    bool loaded = false;
    bool prepared = false;  // Module::prepare() ran (maps created, programs not loaded)
    std::list<Link> links;  // std::list: the references handed out stay valid
    std::vector<std::unique_ptr<Resource>> resources;
    struct Mapping {
        bpf_map* map;
        void* addr;
        std::size_t size;
    };
    std::vector<Mapping> mmaps;  // global sections mapped after load

    ModuleState() = default;
    ModuleState(const ModuleState&) = delete;
    ModuleState& operator=(const ModuleState&) = delete;

    // Order: buffers and their threads first (they read maps), then links (programs stop
    // firing), then mappings, then the object (maps and programs).
    ~ModuleState();

    Link& keep(bpf_link* link, std::string description);
};

}  // namespace bpf::detail

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE detail::ModuleState::~ModuleState() {
    while (!resources.empty()) resources.pop_back();
    while (!links.empty()) links.pop_back();
    for (const auto& m : mmaps) munmap(m.addr, m.size);
    if (obj != nullptr) bpf_object__close(obj);
}

LIBBPFCPP_INLINE Link& detail::ModuleState::keep(bpf_link* link, std::string description) {
    return links.emplace_back(link, std::move(description));
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
