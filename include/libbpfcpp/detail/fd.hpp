// detail::Fd: an owned file descriptor, closed on destruction.
#pragma once

#include <utility>

#include <unistd.h>

namespace bpf::detail {

/// Move-only owner of one file descriptor (-1: none).
class Fd {
public:
    Fd() noexcept = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    explicit operator bool() const noexcept { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace bpf::detail

namespace bpf {
/// An owned file descriptor returned by look-ups such as btf_fd_by_id(); closes on destruction.
using OwnedFd = detail::Fd;
}  // namespace bpf
