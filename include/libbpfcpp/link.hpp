// bpf::Link: an attachment of a program to a hook (wraps bpf_link).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <string>
#include <string_view>
#include <utility>

#include <bpf/libbpf.h>

#include "error.hpp"
#include "link_info.hpp"

namespace bpf {

class Prog;

/// Owns one `bpf_link`; destroying it detaches the program.
///
/// `Prog::attach_*` returns a reference to a Link the Module keeps, so ignoring the
/// result keeps the program attached until the Module is destroyed:
/// ```cpp
/// prog.attach_tracepoint("sched", "sched_process_exec");     // attached while mod lives
/// bpf::Link& l = prog.attach_raw_tracepoint("sys_enter");
/// l.pin("/sys/fs/bpf/my_link");   // survives the process once pinned
/// l.destroy();                     // detach early
/// ```
class Link {
public:
    Link() noexcept = default;
    /// Takes ownership of `link` (may be nullptr); `description` names it in errors.
    explicit Link(bpf_link* link, std::string description = {}) noexcept
        : link_(link), description_(std::move(description)) {}
    /// Moves the ownership; `other` is left empty.
    Link(Link&& other) noexcept
        : link_(std::exchange(other.link_, nullptr)), description_(std::move(other.description_)) {}
    /// Destroys the link held, then takes over `other`'s.
    Link& operator=(Link&& other) noexcept {
        if (this != &other) {
            destroy();
            link_ = std::exchange(other.link_, nullptr);
            description_ = std::move(other.description_);
        }
        return *this;
    }
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;
    ~Link() { destroy(); }

    /// Detaches the program now (a pinned link stays in the kernel until unpinned).
    void destroy() noexcept {
        if (link_ != nullptr) bpf_link__destroy(std::exchange(link_, nullptr));
    }

    /// Gives up ownership: the caller must call bpf_link__destroy() on the result.
    [[nodiscard]] bpf_link* release() noexcept { return std::exchange(link_, nullptr); }

    /// True while attached.
    [[nodiscard]] bool attached() const noexcept { return link_ != nullptr; }
    /// Same as attached().
    explicit operator bool() const noexcept { return attached(); }

    /// The link's file descriptor, or -1 for a destroyed link or a legacy attachment.
    [[nodiscard]] int fd() const noexcept { return link_ != nullptr ? bpf_link__fd(link_) : -1; }

    /// What this link attaches, e.g. "tracepoint sched:sched_switch (prog 'handle')".
    [[nodiscard]] const std::string& description() const noexcept { return description_; }

    /// Pins the link at `path`, which must be on a BPF filesystem.
    void pin(const std::string& path);

    /// Removes the pin made by pin().
    void unpin();

    /// The path it is pinned at, or empty.
    [[nodiscard]] std::string_view pin_path() const noexcept {
        const char* p = link_ != nullptr ? bpf_link__pin_path(link_) : nullptr;
        return p != nullptr ? std::string_view(p) : std::string_view();
    }

    /// The kernel's description of this link: type, program, attach point.
    [[nodiscard]] LinkInfo info() const;

    /// Replaces the link's program by `prog` without detaching (bpf_link__update_program;
    /// xdp, cgroup, netns, tcx, netkit and iterator links).
    void update_program(const Prog& prog);
    /// update_program() with the raw libbpf program.
    void update_program(bpf_program* prog);

    /// The raw libbpf link, for what is not wrapped.
    [[nodiscard]] bpf_link* get() const noexcept { return link_; }

private:
    void require(std::string_view op) const;

    bpf_link* link_ = nullptr;
    std::string description_;
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE void Link::pin(const std::string& path) {
    require("pinning link");
    detail::require_bpffs(path, "pinning link", description_);
    if (int err = bpf_link__pin(link_, path.c_str()); err != 0)
        detail::throw_errno(detail::positive_errno(err), "pinning link", description_,
                            "cannot pin at '" + path + "': " +
                                detail::explain_errno(detail::positive_errno(err)));
}

LIBBPFCPP_INLINE void Link::unpin() {
    require("unpinning link");
    if (int err = bpf_link__unpin(link_); err != 0)
        detail::throw_errno(detail::positive_errno(err), "unpinning link", description_);
}

LIBBPFCPP_INLINE LinkInfo Link::info() const {
    require("reading the info of link");
    if (fd() < 0)
        throw Error(EOPNOTSUPP, detail::describe("reading the info of link", description_,
                                                 "this attachment has no kernel link (legacy perf event)"));
    return link_info_by_fd(fd());
}

LIBBPFCPP_INLINE void Link::require(std::string_view op) const {
    if (link_ == nullptr)
        throw Error(EBADF, detail::describe(op, description_, "the link was destroyed"));
}

LIBBPFCPP_INLINE void Link::update_program(bpf_program* prog) {
    require("updating the program of link");
    if (bpf_program__fd(prog) < 0)
        throw Error(EBADF, detail::describe("updating the program of link", description_,
                                            "program '" + std::string(bpf_program__name(prog)) + "' is not loaded"));
    if (int err = bpf_link__update_program(link_, prog); err != 0) {
        const int e = detail::positive_errno(err);
        detail::throw_errno(e, "updating the program of link", description_,
                            "to program '" + std::string(bpf_program__name(prog)) + "': " +
                                (e == EINVAL ? std::string("the kernel cannot update this kind of link, or the "
                                                           "program's type or attach type differs")
                                             : detail::explain_errno(e)));
    }
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
