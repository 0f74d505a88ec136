// bpf::Linker: several BPF objects linked into one in memory (libbpf's static linker,
// bpf_linker), as `bpftool gen object` does on disk.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

#include "detail/fd.hpp"
#include "error.hpp"
#include "log.hpp"
#include "module.hpp"

namespace bpf {

/// Links BPF objects (ELF .bpf.o files or bytes) into one object: an `extern` function,
/// variable or map of one is resolved against another's definition, sections are
/// merged, BTF is deduplicated. The result is bytes (finish()) or an opened Module
/// (open()). The output never touches the file system: it is written to a memfd.
///
/// libbpf 1.6 added linking from buffers and fds (bpf_linker__add_buf, __add_fd,
/// __new_fd); with an older libbpf the same calls go through /proc/self/fd paths of
/// memfds, so Linker works with every libbpf this library supports.
///
/// ```cpp
/// bpf::Linker linker;
/// linker.add_file("main.bpf.o");
/// linker.add_memory(helpers_object, "helpers");      // e.g. an embedded object
/// auto mod = linker.open();                            // or linker.finish() for the bytes
/// mod.load();
/// ```
class Linker {
public:
    /// A linker with nothing added yet.
    Linker() {
        detail::install_print_router();
        out_ = memfd("libbpfcpp-linked.bpf.o");
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 6)
        detail::LogCapture capture(detail::LogCapture::UnlessThrown);
        linker_.reset(bpf_linker__new_fd(out_.get(), nullptr));
#else
        detail::LogCapture capture(detail::LogCapture::UnlessThrown);
        linker_.reset(bpf_linker__new(proc_path(out_.get()).c_str(), nullptr));
#endif
        if (!linker_) fail(errno, "creating a BPF linker", "<memory>", capture.text());
    }
    /// Moves the link in progress; the source becomes finished.
    Linker(Linker&&) noexcept = default;
    /// Frees this linker's link in progress, then takes over the other's.
    Linker& operator=(Linker&&) noexcept = default;
    Linker(const Linker&) = delete;
    Linker& operator=(const Linker&) = delete;
    ~Linker() = default;

    /// Adds the BPF object file at `path`.
    Linker& add_file(const std::string& path) {
        check_open("linking BPF object", path);
        if (access(path.c_str(), R_OK) != 0) {
            const int err = errno;
            throw Error(err, detail::describe("linking BPF object", path,
                                              err == ENOENT ? "no such file" : detail::explain_errno(err)));
        }
        {
            detail::Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!in) detail::throw_errno(errno, "linking BPF object", path);
            check_elf_header(in.get(), path);
        }
        detail::LogCapture capture(detail::LogCapture::UnlessThrown);
        if (int ret = bpf_linker__add_file(linker_.get(), path.c_str(), nullptr); ret != 0)
            fail(detail::positive_errno(ret), "linking BPF object", path, capture.text());
        ++inputs_;
        return *this;
    }

    /// Adds an object held in memory (e.g. an EmbeddedObject's bytes); `label` names it
    /// in errors. The bytes are only read during this call.
    Linker& add_memory(std::span<const std::byte> object, std::string_view label = {}) {
        const std::string name = label.empty() ? "<memory, " + std::to_string(object.size()) + " bytes>"
                                               : std::string(label);
        check_open("linking BPF object", name);
        check_elf_header(object.first(std::min(object.size(), sizeof(Elf64_Ehdr))), name);
        detail::LogCapture capture(detail::LogCapture::UnlessThrown);
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 6)
        // libbpf takes a non-const pointer but only reads it.
        int ret = bpf_linker__add_buf(linker_.get(), const_cast<std::byte*>(object.data()), object.size(), nullptr);
#else
        detail::Fd in = memfd("libbpfcpp-link-input");
        write_all(in.get(), object, name);
        int ret = bpf_linker__add_file(linker_.get(), proc_path(in.get()).c_str(), nullptr);
#endif
        if (ret != 0) fail(detail::positive_errno(ret), "linking BPF object", name, capture.text());
        ++inputs_;
        return *this;
    }

    /// Adds the object readable from `fd` (the caller keeps the fd).
    Linker& add_fd(int fd, std::string_view label = {}) {
        const std::string name = label.empty() ? "/proc/self/fd/" + std::to_string(fd) : std::string(label);
        check_open("linking BPF object", name);
        check_elf_header(fd, name);
        detail::LogCapture capture(detail::LogCapture::UnlessThrown);
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 6)
        int ret = bpf_linker__add_fd(linker_.get(), fd, nullptr);
#else
        int ret = bpf_linker__add_file(linker_.get(), proc_path(fd).c_str(), nullptr);
#endif
        if (ret != 0) fail(detail::positive_errno(ret), "linking BPF object", name, capture.text());
        ++inputs_;
        return *this;
    }

    /// Finishes the link (bpf_linker__finalize) and returns the linked object's bytes.
    /// The linker is spent afterwards.
    [[nodiscard]] std::vector<std::byte> finish() {
        check_open("finishing the link of", "<memory>");
        if (inputs_ == 0)
            throw Error(EINVAL, detail::describe("finishing the link of", "<memory>",
                                                 "no object was added; call add_file() or add_memory() first"));
        {
            detail::LogCapture capture(detail::LogCapture::UnlessThrown);
            const int ret = bpf_linker__finalize(linker_.get());
            linker_.reset();
            if (ret != 0) fail(detail::positive_errno(ret), "finishing the link of", "<memory>", capture.text());
        }
        struct stat st {};
        if (fstat(out_.get(), &st) != 0) detail::throw_errno(errno, "reading the linked object", "<memory>");
        std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = pread(out_.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) detail::throw_errno(n < 0 ? errno : EIO, "reading the linked object", "<memory>");
            done += static_cast<std::size_t>(n);
        }
        out_.reset();
        return bytes;
    }

    /// finish(), then Module::open_memory() of the result; `options.object_name` names it
    /// ("linked" when empty).
    [[nodiscard]] Module open(OpenOptions options = {}) {
        const std::vector<std::byte> bytes = finish();
        if (options.object_name.empty()) options.object_name = "linked";
        return Module::open_memory(bytes, options);
    }

    /// The raw libbpf linker (null once finished), for what is not wrapped.
    [[nodiscard]] bpf_linker* get() const noexcept { return linker_.get(); }

private:
    struct Free {
        void operator()(bpf_linker* l) const noexcept { bpf_linker__free(l); }
    };

    static detail::Fd memfd(const char* name) {
        const int fd = memfd_create(name, MFD_CLOEXEC);
        if (fd < 0) detail::throw_errno(errno, "creating a BPF linker", "<memory>", "memfd_create failed");
        return detail::Fd(fd);
    }
    [[maybe_unused]] static std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }
    [[maybe_unused]] static void write_all(int fd, std::span<const std::byte> bytes, const std::string& label) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) detail::throw_errno(n < 0 ? errno : EIO, "linking BPF object", label);
            done += static_cast<std::size_t>(n);
        }
    }
    // When libelf finds no ELF header (an empty file, a text file, an unknown ELF version),
    // libbpf's linker (1.1 at least) returns -errno, which is 0 when errno happens to be:
    // it then goes on with the input half read and faults. What follows the header it checks.
    static void check_elf_header(std::span<const std::byte> head, const std::string& label) {
        const auto* id = reinterpret_cast<const unsigned char*>(head.data());
        if (head.size() < sizeof(Elf64_Ehdr) || id[EI_MAG0] != ELFMAG0 || id[EI_MAG1] != ELFMAG1 ||
            id[EI_MAG2] != ELFMAG2 || id[EI_MAG3] != ELFMAG3)
            throw Error(EINVAL, detail::describe("linking BPF object", label,
                                                 "not an ELF file; give an object compiled with clang -target bpf -c"));
        if (id[EI_VERSION] != EV_CURRENT || (id[EI_DATA] != ELFDATA2LSB && id[EI_DATA] != ELFDATA2MSB))
            throw Error(EINVAL, detail::describe("linking BPF object", label,
                                                 "an ELF header libelf cannot read (its version or byte order "
                                                 "is invalid); the file is damaged, rebuild it"));
        if (id[EI_CLASS] != ELFCLASS64)
            throw Error(EINVAL, detail::describe("linking BPF object", label,
                                                 "a 32-bit ELF file, not a BPF object; compile it with clang -target bpf -c"));
    }
    static void check_elf_header(int fd, const std::string& label) {
        std::byte head[sizeof(Elf64_Ehdr)];
        ssize_t n;
        do n = pread(fd, head, sizeof head, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == ESPIPE) return;  // a pipe: read once, by libbpf only
        if (n < 0) detail::throw_errno(errno, "linking BPF object", label);
        check_elf_header(std::span<const std::byte>(head, static_cast<std::size_t>(n)), label);
    }
    void check_open(std::string_view op, std::string_view object) const {
        if (!linker_)
            throw Error(EINVAL, detail::describe(op, object, "the linker is finished (or moved from); make a new one"));
    }
    // The libbpf warnings say which symbol clashed or stayed unresolved: they are the cause.
    [[noreturn]] static void fail(int err, std::string_view op, std::string_view object, const std::string& log) {
        if (detail::is_libbpf_errno(err) || err == 0) err = EINVAL;
        std::string why = detail::libbpf_warnings(log);
        throw Error(err, detail::describe(op, object, why.empty() ? detail::explain_errno(err) : why));
    }

    std::unique_ptr<bpf_linker, Free> linker_;
    detail::Fd out_;
    int inputs_ = 0;
};

}  // namespace bpf
