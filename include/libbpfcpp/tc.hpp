// bpf::TcHook: traffic-control (clsact) attachment of sched_cls programs (wraps bpf_tc_hook).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <net/if.h>

#include <bpf/libbpf.h>

#include "error.hpp"
#include "tcx.hpp"
#include "legacy_attachment.hpp"
#include "detail/ifindex.hpp"
#include "prog.hpp"

namespace bpf {

/// Where on an interface a TC program runs.
///
/// ```cpp
/// bpf::TcHook egress("eth0", bpf::TcAttachPoint::Egress);
/// ```
enum class TcAttachPoint : std::uint32_t {
    Ingress = BPF_TC_INGRESS,
    Egress = BPF_TC_EGRESS,
    /// A parent given with TcHook::set_parent() (e.g. a class of an existing qdisc).
    Custom = BPF_TC_CUSTOM,
};

/// Options of TcHook::attach / the result it returns (handle and priority 0 on input
/// let the kernel choose; the chosen ones are returned).
///
/// ```cpp
/// bpf::TcFilter f = hook.attach(mod.program("tc_count"));   // f.handle, f.priority chosen
/// hook.detach(f);
/// ```
struct TcFilter {
    /// The filter's handle (0 on input: the kernel picks one).
    std::uint32_t handle = 0;
    /// The filter's priority (0 on input: the kernel picks one).
    std::uint32_t priority = 0;
    std::uint32_t flags = 0;     ///< BPF_TC_F_REPLACE to replace a filter at handle/priority
    std::uint32_t prog_id = 0;   ///< output: the id of the attached program
};

/// A TC hook on one interface: creates the clsact qdisc if needed, attaches, detaches
/// and queries direct-action BPF filters (libbpfgo's TcHook). Move-only. Destroying it
/// (or destroy()) removes the filters it attached and, only when this hook created the
/// clsact qdisc, the qdisc too; a qdisc that existed before is left as it was.
///
/// ```cpp
/// bpf::TcHook hook("eth0", bpf::TcAttachPoint::Ingress);
/// hook.create();
/// auto f = hook.attach(mod.program("tc_count"));   // f.handle, f.priority, f.prog_id
/// ...
/// hook.detach(f);
/// ```
class TcHook {
public:
    TcHook() = default;
    /// A hook at `point` of interface `ifname` (in this network namespace).
    TcHook(const std::string& ifname, TcAttachPoint point) {
        set_interface(ifname);
        set_attach_point(point);
    }
    /// A hook at `point` of the interface with index `ifindex`.
    TcHook(int ifindex, TcAttachPoint point) {
        set_interface(ifindex);
        set_attach_point(point);
    }
    /// Takes over `o`'s interface, filters and qdisc.
    TcHook(TcHook&& o) noexcept
        : ifindex_(o.ifindex_),
          point_(o.point_),
          parent_(o.parent_),
          created_(std::exchange(o.created_, false)),
          filters_(std::move(o.filters_)) {
        o.filters_.clear();
    }
    /// Cleans up what this hook attached, then takes over `o`'s.
    TcHook& operator=(TcHook&& o) noexcept {
        if (this != &o) {
            cleanup();
            ifindex_ = o.ifindex_;
            point_ = o.point_;
            parent_ = o.parent_;
            created_ = std::exchange(o.created_, false);
            filters_ = std::move(o.filters_);
            o.filters_.clear();
        }
        return *this;
    }
    TcHook(const TcHook&) = delete;
    TcHook& operator=(const TcHook&) = delete;
    ~TcHook() { cleanup(); }

    /// Selects the interface by name; throws when it does not exist in this namespace.
    void set_interface(const std::string& ifname) {
        ifindex_ = detail::ifindex_of(ifname, "selecting interface");
    }
    /// Selects the interface by index.
    void set_interface(int ifindex) noexcept { ifindex_ = ifindex; }
    /// The interface's index.
    [[nodiscard]] int interface_index() const noexcept { return ifindex_; }

    /// Ingress, egress or a custom parent.
    void set_attach_point(TcAttachPoint p) noexcept {
        point_ = static_cast<bpf_tc_attach_point>(p);
    }
    /// Where on the interface the hook is.
    [[nodiscard]] TcAttachPoint attach_point() const noexcept {
        return static_cast<TcAttachPoint>(point_);
    }
    /// The parent of a TcAttachPoint::Custom hook, as tc's MAJOR:MINOR.
    void set_parent(std::uint16_t major, std::uint16_t minor) noexcept {
        parent_ = (static_cast<std::uint32_t>(major) << 16) | minor;
    }
    /// The parent set with set_parent(), as (major << 16) | minor.
    [[nodiscard]] std::uint32_t parent() const noexcept { return parent_; }

    /// True when create() made the clsact qdisc (false when it already existed).
    [[nodiscard]] bool created_qdisc() const noexcept { return created_; }

    /// Creates the clsact qdisc on the interface; an existing one is reused.
    void create() {
        require_interface("creating tc hook");
        LIBBPF_OPTS(bpf_tc_hook, h);
        fill(h);
        int ret = bpf_tc_hook_create(&h);
        if (ret == 0) {
            created_ = true;
            return;
        }
        if (ret == -EEXIST) return;
        detail::throw_errno(-ret, "creating tc hook on", ifname(),
                            detail::explain_errno(-ret) + " (a tc program needs CAP_NET_ADMIN)");
    }

    /// Attaches `prog` (a SEC("tc") / sched_cls program) as a direct-action filter.
    TcFilter attach(const Prog& prog, TcFilter f = {}) {
        require_interface("attaching tc program");
        LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = prog.fd(), .flags = f.flags, .handle = f.handle,
                    .priority = f.priority);
        if (prog.fd() < 0)
            throw Error(EBADF, detail::describe("attaching tc program", std::string(prog.name()),
                                                "the program is not loaded; call Module::load() first"));
        LIBBPF_OPTS(bpf_tc_hook, h);
        fill(h);
        if (int ret = bpf_tc_attach(&h, &o); ret != 0) {
            std::string cause = detail::explain_errno(-ret);
            if (ret == -EINVAL && point_ != BPF_TC_CUSTOM)
                cause += " (is the clsact qdisc there? call create() first)";
            if (ret == -EEXIST) cause = "a filter exists at this handle/priority; set BPF_TC_F_REPLACE to replace it";
            detail::throw_errno(-ret, "attaching tc program", prog.name(), "on " + ifname() + ": " + cause);
        }
        f.handle = o.handle;
        f.priority = o.priority;
        f.prog_id = o.prog_id;
        filters_.push_back(f);
        return f;
    }

    /// Removes the filter at `f.handle`/`f.priority`.
    void detach(const TcFilter& f) {
        LIBBPF_OPTS(bpf_tc_opts, o, .handle = f.handle, .priority = f.priority);
        LIBBPF_OPTS(bpf_tc_hook, h);
        fill(h);
        if (int ret = bpf_tc_detach(&h, &o); ret != 0)
            detail::throw_errno(-ret, "detaching tc filter on", ifname());
        forget(f);
    }

    /// The filter at `f.handle`/`f.priority` with its program id, or nullopt when none.
    [[nodiscard]] std::optional<TcFilter> query(const TcFilter& f) const {
        LIBBPF_OPTS(bpf_tc_opts, o, .handle = f.handle, .priority = f.priority);
        LIBBPF_OPTS(bpf_tc_hook, h);
        fill(h);
        int ret = bpf_tc_query(&h, &o);
        // With the last filter of a priority gone its chain goes too, and the kernel says
        // EINVAL ("cannot find filter chain") rather than ENOENT.
        if (ret == -ENOENT || (ret == -EINVAL && f.handle != 0 && f.priority != 0)) return std::nullopt;
        if (ret != 0) detail::throw_errno(-ret, "querying tc filter on", ifname());
        return TcFilter{o.handle, o.priority, o.flags, o.prog_id};
    }

    /// Detaches what this hook attached and removes the clsact qdisc if this hook made it.
    void destroy() {
        int err = cleanup();
        if (err != 0) detail::throw_errno(err, "destroying tc hook on", ifname());
    }


private:
    int cleanup() noexcept {
        int first = 0;
        for (const TcFilter& f : filters_) {
            LIBBPF_OPTS(bpf_tc_opts, o, .handle = f.handle, .priority = f.priority);
            LIBBPF_OPTS(bpf_tc_hook, h);
            fill(h);
            int ret = bpf_tc_detach(&h, &o);
            if (ret != 0 && ret != -ENOENT && ret != -ENODEV && first == 0) first = -ret;
        }
        filters_.clear();
        if (created_) {
            created_ = false;
            LIBBPF_OPTS(bpf_tc_hook, h);
            fill(h);
            h.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
            int ret = bpf_tc_hook_destroy(&h);
            if (ret != 0 && ret != -ENOENT && ret != -ENODEV && ret != -EINVAL && first == 0) first = -ret;
        }
        return first;
    }

    void forget(const TcFilter& f) noexcept {
        std::erase_if(filters_, [&](const TcFilter& x) { return x.handle == f.handle && x.priority == f.priority; });
    }

    void require_interface(std::string_view op) const {
        if (ifindex_ <= 0)
            throw Error(EINVAL, detail::describe(op, "", "no interface selected; call set_interface() first"));
    }

    [[nodiscard]] std::string ifname() const {
        char buf[IF_NAMESIZE] = {};
        if (if_indextoname(static_cast<unsigned>(ifindex_), buf) != nullptr) return buf;
        return "ifindex " + std::to_string(ifindex_);
    }

    // libbpf rejects options whose padding is not zero; LIBBPF_OPTS zeroes it, so the
    // hook is built afresh for every call rather than kept (and copied) as a member.
    void fill(bpf_tc_hook& h) const noexcept {
        h.ifindex = ifindex_;
        h.attach_point = point_;
        h.parent = parent_;
    }

    int ifindex_ = 0;
    bpf_tc_attach_point point_ = BPF_TC_INGRESS;
    std::uint32_t parent_ = 0;
    bool created_ = false;
    std::vector<TcFilter> filters_;
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE LegacyAttachment& Prog::attach_clsact(const std::string& ifname, TcxDirection dir) {
    require_fd("clsact " + ifname);
    const int ifindex = detail::ifindex_of(ifname, "attaching tc program to");
    const auto point = dir == TcxDirection::Ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
    const std::string what = std::string("clsact ") + (dir == TcxDirection::Ingress ? "ingress" : "egress") +
                             " of " + ifname;
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    const int made = bpf_tc_hook_create(&hook);
    if (made != 0 && made != -EEXIST)
        detail::throw_errno(-made, "attaching program", name(),
                            what + ": creating the clsact qdisc: " + detail::explain_errno(-made));
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd());
    if (int ret = bpf_tc_attach(&hook, &opts); ret != 0) {
        if (made == 0) {
            hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
            bpf_tc_hook_destroy(&hook);
        }
        detail::throw_errno(-ret, "attaching program", name(), what + ": " + detail::explain_errno(-ret));
    }
    const std::uint32_t handle = opts.handle, priority = opts.priority;
    const bool created = made == 0;
    return keep_legacy(what, [ifindex, point, handle, priority, created] {
        LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = point);
        LIBBPF_OPTS(bpf_tc_opts, o, .handle = handle, .priority = priority);
        int ret = bpf_tc_detach(&h, &o);
        if (created) {
            h.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
            bpf_tc_hook_destroy(&h);  // the interface may be gone already: nothing to undo then
        }
        return ret == -ENODEV || ret == -ENOENT ? 0 : ret;
    });
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
