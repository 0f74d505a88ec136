// bpf::IterReader: reads what an iterator program (SEC("iter/...")) writes with
// bpf_seq_printf/bpf_seq_write, as a stream (libbpfgo's BPFLink.Reader).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include <unistd.h>

#include <bpf/bpf.h>

#include "detail/fd.hpp"
#include "error.hpp"
#include "link.hpp"
#include "log.hpp"
#include "prog.hpp"

namespace bpf {

/// What an iterator program walks (Prog::attach_iter). Zero fields mean "all".
///
/// ```cpp
/// bpf::IterOptions o;
/// o.pid = static_cast<std::uint32_t>(getpid());   // only this process's tasks
/// bpf::IterReader r(mod.program("dump_task").attach_iter(o));
/// ```
struct IterOptions {
    int map_fd = -1;                                          ///< for iter/bpf_map_elem and friends
    int cgroup_fd = -1;                                       ///< for iter/cgroup
    std::uint64_t cgroup_id = 0;                              ///< for iter/cgroup, instead of cgroup_fd
    bpf_cgroup_iter_order cgroup_order = BPF_CGROUP_ITER_ORDER_UNSPEC;  ///< walk order of iter/cgroup
    std::uint32_t tid = 0;     ///< iter/task*: only this thread
    std::uint32_t pid = 0;     ///< iter/task*: only this process
    int pid_fd = -1;           ///< iter/task*: the process behind this pidfd
};

/// One pass of an iterator: each IterReader runs the iterator program over its objects
/// once, as the data is read. Move-only; make a new one to iterate again.
///
/// ```cpp
/// bpf::Link& l = mod.program("dump_tasks").attach_iter();
/// bpf::IterReader r(l);
/// while (auto line = r.next_line()) std::cout << *line << '\n';
/// ```
class IterReader {
public:
    /// Starts a pass over the iterator attached by `link` (a Prog::attach_iter link).
    explicit IterReader(const Link& link) {
        if (!link.attached())
            throw Error(EBADF, detail::describe("reading iterator", link.description(), "the link was destroyed"));
        int fd = bpf_iter_create(link.fd());
        if (fd < 0)
            detail::throw_errno(detail::positive_errno(fd), "reading iterator", link.description(),
                                "is this an iterator link (Prog::attach_iter)? " +
                                    detail::explain_errno(detail::positive_errno(fd)));
        fd_.reset(fd);
        what_ = link.description();
    }

    /// Reads up to `out.size()` bytes; 0 at the end of the pass.
    std::size_t read(std::span<std::byte> out) {
        for (;;) {
            ssize_t n = ::read(fd_.get(), out.data(), out.size());
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno == EINTR) continue;
            detail::throw_errno(errno, "reading iterator", what_,
                                errno == EAGAIN ? "the iterator program returned an error; see its code"
                                                : detail::explain_errno(errno));
        }
    }

    /// The rest of the pass as one string.
    std::string read_all() {
        std::string out(std::move(pending_));
        pending_.clear();
        char buf[8192];
        for (std::size_t n; (n = read(std::as_writable_bytes(std::span(buf)))) != 0;) out.append(buf, n);
        return out;
    }

    /// The next line without its '\n' (the last line may lack one), or nullopt at the end.
    std::optional<std::string> next_line() {
        for (;;) {
            auto nl = pending_.find('\n');
            if (nl != std::string::npos) {
                std::string line = pending_.substr(0, nl);
                pending_.erase(0, nl + 1);
                return line;
            }
            char buf[4096];
            std::size_t n = read(std::as_writable_bytes(std::span(buf)));
            if (n == 0) {
                if (pending_.empty()) return std::nullopt;
                return std::exchange(pending_, std::string());
            }
            pending_.append(buf, n);
        }
    }

    /// The iterator's fd, for poll()/read() of one's own.
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
    detail::Fd fd_;
    std::string what_;
    std::string pending_;
};

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Link& Prog::attach_iter(const IterOptions& o) {
    const detail::QuietLog quiet;
    bpf_iter_link_info info{};
    if (o.map_fd >= 0) info.map.map_fd = static_cast<std::uint32_t>(o.map_fd);
    if (o.cgroup_fd >= 0 || o.cgroup_id != 0 || o.cgroup_order != BPF_CGROUP_ITER_ORDER_UNSPEC) {
        info.cgroup.order = o.cgroup_order;
        if (o.cgroup_fd >= 0) info.cgroup.cgroup_fd = static_cast<std::uint32_t>(o.cgroup_fd);
        info.cgroup.cgroup_id = o.cgroup_id;
    }
    if (o.tid != 0 || o.pid != 0 || o.pid_fd >= 0) {
        info.task.tid = o.tid;
        info.task.pid = o.pid;
        if (o.pid_fd >= 0) info.task.pid_fd = static_cast<std::uint32_t>(o.pid_fd);
    }
    const bool any = o.map_fd >= 0 || o.cgroup_fd >= 0 || o.cgroup_id != 0 ||
                     o.cgroup_order != BPF_CGROUP_ITER_ORDER_UNSPEC || o.tid != 0 || o.pid != 0 ||
                     o.pid_fd >= 0;
    LIBBPF_OPTS(bpf_iter_attach_opts, opts);
    if (any) {
        opts.link_info = &info;
        opts.link_info_len = sizeof info;
    }
    bpf_link* l = bpf_program__attach_iter(prog_, &opts);
    int err = errno;
    return keep(l, err, "iterator " + std::string(section()));
}

LIBBPFCPP_INLINE Link& Prog::attach_iter() { return attach_iter(IterOptions{}); }

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
