// bpf::Arena: a typed view of a BPF arena map (BPF_MAP_TYPE_ARENA, Linux 6.9, libbpf
// 1.4) from user space: the memory the BPF side reaches through `__arena` pointers,
// with those pointers translated and bounds-checked.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>
#include <unistd.h>

#include "detail/needs_libbpf.hpp"
#include "error.hpp"
#include "map.hpp"
#include "version.hpp"

namespace bpf {

/// The user-space side of an arena. libbpf maps the whole arena into this process when
/// the object loads; the BPF programs' `__arena` pointers are addresses in that mapping
/// (the kernel keeps only their low 32 bits: an arena is at most 4 GiB), so a pointer a
/// program stored is usable here once pointer() has checked it. The view borrows the
/// Module's mapping: it must not outlive the Module.
///
/// Arena memory is shared with running programs: what is read or written here races
/// with them unless the program and the tool agree on an order (a flag, atomics).
///
/// ```cpp
/// struct Node { std::uint64_t value; std::uint64_t next; };   // `struct node __arena *next`
/// bpf::Arena arena(mod.map("arena"));
/// for (auto* n = arena.pointer<Node>(mod.global<std::uint64_t>("head")); n; n = arena.pointer<Node>(n->next))
///     use(n->value);
/// ```
class Arena {
public:
    /// The arena map `map` of a loaded Module. Throws when the map is not an arena or not
    /// mapped (the Module is not loaded), or with libbpf < 1.4.
    explicit Arena(const Map& map) : name_(map.name()) {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
        constexpr unsigned arena_type = 33;  // BPF_MAP_TYPE_ARENA, newer than Debian 12's uapi headers
        if (static_cast<unsigned>(bpf_map__type(map.get())) != arena_type)
            throw Error(EINVAL, detail::describe("viewing arena", name_,
                                                 "the map is not a BPF_MAP_TYPE_ARENA"));
        if (bpf_map__fd(map.get()) < 0)
            throw Error(EINVAL, detail::describe("viewing arena", name_,
                                                 "the object is not loaded; call Module::load() first"));
        // For an arena, libbpf reports as the size the arena's global __arena variables
        // (zero when there are none), not its mapping: the mapping is max_entries pages.
        std::size_t data_size = 0;
        void* base = bpf_map__initial_value(map.get(), &data_size);
        const auto page = sysconf(_SC_PAGESIZE);
        if (base == nullptr || page <= 0)
            throw Error(EINVAL, detail::describe("viewing arena", name_, "libbpf did not map the arena"));
        base_ = static_cast<std::byte*>(base);
        size_ = static_cast<std::size_t>(page) * bpf_map__max_entries(map.get());
#else
        (void)map;
        detail::libbpf_too_old("viewing arena", name_, "bpf::Arena (an arena mapped by libbpf)", "BPF arenas", 1, 4, {});
#endif
    }

    /// The arena's bytes as this process sees them.
    [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {base_, size_}; }
    /// The arena's size in bytes (its max_entries pages).
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// Where the arena starts in this process: the value a BPF `__arena` pointer to its
    /// first byte has.
    [[nodiscard]] std::uint64_t user_vm_start() const noexcept { return reinterpret_cast<std::uintptr_t>(base_); }

    /// The object a BPF `__arena` pointer points at, or nullptr for a null pointer.
    /// Takes the full pointer or its low 32 bits (what the kernel keeps); throws when it
    /// does not point into the arena, or at a place too near its end or misaligned for T.
    template <class T>
    [[nodiscard]] T* pointer(std::uint64_t arena_pointer) const {
        static_assert(std::is_trivially_copyable_v<T>, "arena memory holds plain data shared with BPF code");
        if (arena_pointer == 0) return nullptr;
        // The kernel compares low halves only; so do we (the wrap-around is intended).
        const std::uint32_t offset = static_cast<std::uint32_t>(arena_pointer) -
                                     static_cast<std::uint32_t>(user_vm_start());
        return at<T>(offset);
    }

    /// The object at byte `offset` of the arena; throws when out of range or misaligned.
    template <class T>
    [[nodiscard]] T* at(std::size_t offset) const {
        static_assert(std::is_trivially_copyable_v<T>, "arena memory holds plain data shared with BPF code");
        if (offset > size_ || size_ - offset < sizeof(T))
            throw Error(ERANGE, detail::describe("reading arena", name_,
                                                 "offset " + std::to_string(offset) + " (+" + std::to_string(sizeof(T)) +
                                                     " bytes) is outside the arena's " + std::to_string(size_) +
                                                     " bytes"));
        if ((user_vm_start() + offset) % alignof(T) != 0)
            throw Error(EINVAL, detail::describe("reading arena", name_,
                                                 "offset " + std::to_string(offset) + " is not aligned for the type (" +
                                                     std::to_string(alignof(T)) + " bytes)"));
        return reinterpret_cast<T*>(base_ + offset);
    }

    /// The `__arena` pointer value of `object`, which must lie in the arena: what a BPF
    /// program follows to reach it (store it in the arena or in a global).
    template <class T>
    [[nodiscard]] std::uint64_t arena_pointer(const T* object) const {
        const auto p = reinterpret_cast<std::uintptr_t>(object);
        if (object == nullptr) return 0;
        if (p < user_vm_start() || p - user_vm_start() > size_ - sizeof(T))
            throw Error(ERANGE, detail::describe("pointing into arena", name_, "the object is not in the arena"));
        return p;
    }

private:
    std::string name_;
    std::byte* base_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace bpf
