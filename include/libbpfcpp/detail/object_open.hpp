// Opening a BPF object for Module::open_file / open_memory: the options, what the linked
// libbpf would crash on or lose a descriptor over (refused first), and the Error of an
// open that fails.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "../error.hpp"
#include "../log.hpp"
#include "../open_options.hpp"
#include "../version.hpp"
#include "compiled.hpp"
#include "load_errors.hpp"
#include "module_state.hpp"
#include "needs_libbpf.hpp"
#include "object_checks.hpp"

namespace bpf {

namespace detail {

/// The state of a module opened from the ELF file at `path`.
LIBBPFCPP_INLINE std::unique_ptr<ModuleState> open_object_file(const std::string& path, const OpenOptions& options);

/// The state of a module opened from the ELF bytes `object`, read only during the call,
/// named `options.object_name`, else `name` (an embedded object's), else by libbpf. The
/// name comes apart from the options so that an embedded object's open copies no options.
LIBBPFCPP_INLINE std::unique_ptr<ModuleState> open_object_memory(std::span<const std::byte> object,
                                                                 const OpenOptions& options,
                                                                 std::string_view name = {});

// Opens with `open(opts, source)`: a function pointer rather than a template, so that
// the body is compiled once in compiled mode. `object_name`, when not null, names the
// object instead of `o.object_name`.
using OpenFn = bpf_object* (*)(const bpf_object_open_opts*, const void* source);
LIBBPFCPP_INLINE std::unique_ptr<ModuleState> open_object(const std::string& label, const OpenOptions& o, OpenFn open,
                                                          const void* source, const char* object_name = nullptr);

}  // namespace detail
}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE std::unique_ptr<detail::ModuleState> detail::open_object_file(const std::string& path,
                                                                               const OpenOptions& options) {
    install_print_router();
    if (access(path.c_str(), R_OK) != 0) {
        int err = errno;
        throw Error(err, describe("opening BPF object", path, err == ENOENT ? "no such file" : explain_errno(err)));
    }
    // libbpf opens a directory or a device without complaint and loses the fd when
    // the ELF parser then fails: only regular files get that far.
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw_errno(errno, "opening BPF object", path);
    if (!S_ISREG(st.st_mode))
        throw_error(S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "opening BPF object", path,
                    {S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file",
                     "; give the path of a .bpf.o file"});
    refuse_corrupt_file(path);  // what the linked libbpf would crash on
    return open_object(path, options, [](const bpf_object_open_opts* o, const void* file) {
        return bpf_object__open_file(static_cast<const std::string*>(file)->c_str(), o);
    }, &path);
}

LIBBPFCPP_INLINE std::unique_ptr<detail::ModuleState> detail::open_object_memory(std::span<const std::byte> object,
                                                                                 const OpenOptions& options,
                                                                                 std::string_view name) {
    install_print_router();
    const bool named_here = options.object_name.empty() && !name.empty();
    const std::string_view given = named_here ? name : std::string_view(options.object_name);
    const std::string label = given.empty() ? cat({"<memory, ", Decimal(object.size()), " bytes>"}) : cat({given});
    refuse_corrupt_object(object, label);  // what the linked libbpf would crash on
    return open_object(label, options, [](const bpf_object_open_opts* o, const void* bytes) {
        const auto* span = static_cast<const std::span<const std::byte>*>(bytes);
        return bpf_object__open_mem(span->data(), span->size(), o);
    }, &object, named_here ? label.c_str() : nullptr);
}

LIBBPFCPP_INLINE std::unique_ptr<detail::ModuleState> detail::open_object(const std::string& label,
                                                                          const OpenOptions& o, OpenFn open,
                                                                          const void* source, const char* object_name) {
    LIBBPF_OPTS(bpf_object_open_opts, opts);
    opts.object_name = object_name != nullptr ? object_name : o.object_name.empty() ? nullptr : o.object_name.c_str();
    opts.btf_custom_path = o.btf_path.empty() ? nullptr : o.btf_path.c_str();
    opts.kconfig = o.kconfig.empty() ? nullptr : o.kconfig.c_str();
    opts.pin_root_path = o.pin_root_path.empty() ? nullptr : o.pin_root_path.c_str();
    opts.kernel_log_level = o.kernel_log_level;
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
    if (o.bpf_token_path) opts.bpf_token_path = o.bpf_token_path->c_str();
#else
    // "" asks for what libbpf before 1.4 does anyway: no token.
    if (o.bpf_token_path && !o.bpf_token_path->empty())
        libbpf_too_old("opening BPF object", label, "OpenOptions::bpf_token_path (BPF tokens)", "BPF tokens", 1, 4,
                       "run the loader with the capabilities BPF needs instead");
#endif
    if (!o.btf_path.empty() && access(o.btf_path.c_str(), R_OK) != 0)
        throw_error(errno, "opening BPF object", label, {"cannot read BTF file '", o.btf_path, "'"});
    LogCapture capture(LogCapture::UnlessThrown);
    bpf_object* obj = open(&opts, source);
    // libbpf 1.1 turns some malformed objects into a negative number outside the
    // errno range and returns it as the pointer; no user-space object lives there.
    if (sizeof(void*) == 8 && static_cast<std::intptr_t>(reinterpret_cast<std::uintptr_t>(obj)) < 0) {
        obj = nullptr;
        errno = EINVAL;
    }
    if (obj == nullptr) {
        int err = errno != 0 ? errno : EINVAL;
        const std::string why = libbpf_warnings(capture.text(), 2);
        const bool malformed =
            is_libbpf_errno(err) || err == EINVAL || err == ENOEXEC || err == EPROTO || err == ENOTSUP;
        // libbpf >= 1.4 takes a placeholder descriptor per map when it opens the object.
        const bool out_of_fds = err == EMFILE || err == ENFILE;
        const std::string explained = malformed || out_of_fds ? std::string() : explain_errno(err);
        const std::string_view cause =
            out_of_fds ? "too many open files (libbpf holds a descriptor per map from open on); raise "
                         "RLIMIT_NOFILE (ulimit -n, or setrlimit()) or close descriptors, then open again"
            : malformed ? "not a valid BPF ELF object"
                        : std::string_view(explained);
        throw_error(is_libbpf_errno(err) ? EINVAL : err, "opening BPF object", label,
                    {cause, why.empty() ? "" : " (", why, why.empty() ? "" : ")"});
    }
    auto s = std::make_unique<ModuleState>();
    s->obj = obj;
    s->name = bpf_object__name(obj);
    if (o.bpf_token_path) s->token_path.emplace(*o.bpf_token_path);  // lighter than optional's assignment
    return s;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
