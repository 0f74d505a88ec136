// bpf::LegacyAttachment: an attachment the kernel keeps without a bpf_link, undone by the
// Module like a Link.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <functional>
#include <string>
#include <utility>

#include "detail/module_state.hpp"
#include "error.hpp"

namespace bpf {

/// An attachment made without a bpf_link (legacy XDP over netlink, cgroup
/// BPF_PROG_ATTACH). The Module owns it like a Link: it is undone when the Module is
/// destroyed, or earlier with detach().
///
/// ```cpp
/// auto& a = mod.program("xdp_pass").attach_xdp_legacy("veth0");
/// a.detach();   // or leave it to the Module
/// ```
class LegacyAttachment : public detail::Resource {
public:
    /// An attachment described by `description`, undone by calling `undo` (returns 0 or -errno).
    LegacyAttachment(std::string description, std::function<int()> undo)
        : description_(std::move(description)), undo_(std::move(undo)) {}
    LegacyAttachment(const LegacyAttachment&) = delete;
    LegacyAttachment& operator=(const LegacyAttachment&) = delete;
    ~LegacyAttachment() override {
        if (undo_) undo_();
    }

    /// Undoes the attachment now; throws when the kernel refuses.
    void detach() {
        if (!undo_) return;
        int ret = std::exchange(undo_, nullptr)();
        if (ret < 0) detail::throw_errno(-ret, "detaching", description_);
    }
    /// True until detach() (or the destructor) undid it.
    [[nodiscard]] bool attached() const noexcept { return static_cast<bool>(undo_); }
    /// What is attached where, e.g. "xdp (legacy) on ifindex 3".
    [[nodiscard]] const std::string& description() const noexcept { return description_; }

private:
    std::string description_;
    std::function<int()> undo_;
};

}  // namespace bpf
