// bpf::Error: every failure names the operation, the object and a cause a user can act on.
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace bpf {

/// What a call needed and did not find: a kernel feature or a libbpf release. Carried by
/// bpf::Error so a caller can decide (fall back, skip, tell the user) without reading the
/// sentence.
///
/// ```cpp
/// catch (const bpf::Error& e) {
///     if (e.missing() && e.missing()->in == bpf::Missing::Libbpf) rebuild_with_newer_libbpf();
/// }
/// ```
struct Missing {
    /// Whose release or configuration lacks the feature.
    enum Component { Kernel, Libbpf };
    std::string feature;  ///< e.g. "uprobe_multi", "kprobes", "tcx"
    Component in = Kernel;  ///< whose release or configuration lacks it
    std::string release;  ///< the first release that has it ("1.3", "6.6"); empty when unknown
    std::string config;   ///< the kernel option it needs ("CONFIG_KPROBES"), or empty

    friend bool operator==(const Missing&, const Missing&) = default;
};

/// Thrown by every set-up call that fails. Keeps the errno as its `code()` (generic
/// category), so `e.code() == std::errc::permission_denied` works, and carries the
/// operation, the object it was applied to and, for a rejected program, the verifier log.
///
/// ```cpp
/// try { mod.load(); }
/// catch (const bpf::Error& e) {
///     std::cerr << e.what() << '\n';              // one actionable sentence (+ log tail)
///     if (!e.verifier_log().empty()) save(e.verifier_log());
/// }
/// ```
class Error : public std::system_error {
public:
    /// `err` is a positive errno value; `message` is the whole human-readable sentence.
    [[gnu::cold]] Error(int err, std::string message, std::string verifier_log = {});
    /// An error whose cause is a missing feature (errno usually EOPNOTSUPP).
    [[gnu::cold]] Error(int err, std::string message, Missing missing);

    /// The sentence followed by the errno's text, e.g. "... (Operation not permitted)".
    [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

    /// The sentence without the trailing strerror text.
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    /// The full verifier log of the rejected program, or empty.
    [[nodiscard]] const std::string& verifier_log() const noexcept { return verifier_log_; }
    /// The errno value.
    [[nodiscard]] int error_number() const noexcept { return code().value(); }
    /// The feature or release the call needed, when that was the cause.
    [[nodiscard]] const std::optional<Missing>& missing() const noexcept { return missing_; }

private:
    // The sentence and the errno's text, unless the sentence already says it.
    static std::string with_errno_text(const std::string& message, int err);

    std::string message_;
    std::string verifier_log_;
    std::string what_;
    std::optional<Missing> missing_;
};

namespace detail {

/// libbpf's own error codes (4000..) mean a malformed object; they are reported as EINVAL
/// with libbpf's text in the message.
inline bool is_libbpf_errno(int err) noexcept {
    return err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__END;
}

LIBBPFCPP_INLINE std::string libbpf_error_text(int err);

/// libbpf returns either -errno or NULL with errno set; normalise to a positive errno.
inline int positive_errno(long ret) noexcept {
    if (ret < 0) return static_cast<int>(-ret);
    return errno != 0 ? errno : EINVAL;
}

LIBBPFCPP_INLINE bool has_capability(int cap) noexcept;

#ifndef CAP_PERFMON
inline constexpr int cap_perfmon = 38;
#else
inline constexpr int cap_perfmon = CAP_PERFMON;
#endif
#ifndef CAP_BPF
inline constexpr int cap_bpf = 39;
#else
inline constexpr int cap_bpf = CAP_BPF;
#endif

/// True when the process lacks the capabilities BPF needs (so EPERM means "not root").
LIBBPFCPP_INLINE bool lacks_bpf_privileges() noexcept;

inline constexpr std::string_view privileges_hint =
    "needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), e.g. run as root";

inline constexpr long tracefs_magic = 0x74726163;
inline constexpr long debugfs_magic = 0x64626720;
inline constexpr long bpffs_magic = 0xcafe4a11;

LIBBPFCPP_INLINE bool is_fs(const char* path, long magic) noexcept;

/// Where tracefs is reachable, or nullptr when it is not mounted anywhere libbpf looks.
LIBBPFCPP_INLINE const char* tracefs_root() noexcept;

inline constexpr std::string_view tracefs_hint =
    "tracefs is not mounted; mount it with: mount -t tracefs nodev /sys/kernel/tracing";

/// True when the kernel can create kprobes at all (perf PMU or legacy tracefs interface).
LIBBPFCPP_INLINE bool kernel_has_kprobes() noexcept;

inline constexpr std::string_view kprobes_hint =
    "kprobes are not available in this kernel (CONFIG_KPROBES is off); use a tracepoint, "
    "raw tracepoint or fentry program instead";

/// What a kprobe attach on a kernel without kprobes lacks.
inline Missing missing_kprobes() { return {"kprobes", Missing::Kernel, "", "CONFIG_KPROBES"}; }

/// The generic cause of a failed bpf() call, in words a user can act on.
[[gnu::cold]] LIBBPFCPP_INLINE std::string explain_errno(int err);

/// Builds "OPERATION 'OBJECT': CAUSE".
[[gnu::cold]] LIBBPFCPP_INLINE std::string describe(std::string_view operation, std::string_view object,
                                                    std::string_view cause);

/// `parts` joined. Messages are built with it rather than with chains of `+`, which inline
/// a temporary string and its clean-up per operand into every function that builds a
/// message, and a header-only library compiles those functions in every file that calls
/// them. Cold: messages are made on the way to an error, once.
[[gnu::cold]] LIBBPFCPP_INLINE std::string cat(std::initializer_list<std::string_view> parts);

/// `n` in decimal, as a piece of a message (cat(), throw_error()): a string_view into the
/// object, which holds the digits, instead of std::to_string()'s string, whose
/// construction and clean-up were inlined into each function building a message.
class Decimal {
public:
    template <std::integral T>
    explicit Decimal(T n) noexcept {
        if constexpr (std::is_signed_v<T>) {
            const bool negative = n < 0;
            write(negative ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n));
            if (negative) digits_[--start_] = '-';
        } else {
            write(n);
        }
    }
    operator std::string_view() const noexcept { return {digits_ + start_, sizeof digits_ - start_}; }

private:
    // Cold, hence out of line: a number is written on the way to an error, and the loop
    // inlined at each of the many places that write one was most of their code.
    [[gnu::cold]] void write(std::uint64_t n) noexcept {
        do digits_[--start_] = static_cast<char>('0' + n % 10);
        while ((n /= 10) != 0);
    }
    char digits_[21];  // 20 digits of 2^64 - 1, or a sign and 19 digits
    std::size_t start_ = sizeof digits_;
};

/// Throws Error(err, describe(operation, object, cat(cause))): the throwing site is one
/// call, without the exception's allocation and the message's temporaries.
[[noreturn, gnu::cold]] LIBBPFCPP_INLINE void throw_error(int err, std::string_view operation,
                                                                         std::string_view object,
                                                                         std::initializer_list<std::string_view> cause);

/// What a call into a libbpf newer than the one compiled against lacks.
[[gnu::cold]] inline Missing missing_libbpf(std::string feature, int major, int minor) {
    return {std::move(feature), Missing::Libbpf, cat({Decimal(major), ".", Decimal(minor)}), ""};
}

/// Throws unless the directory that will hold `path` is on a BPF filesystem.
LIBBPFCPP_INLINE void require_bpffs(const std::string& path, std::string_view operation,
                          std::string_view object);

[[noreturn, gnu::cold]] LIBBPFCPP_INLINE void throw_errno(int err, std::string_view operation,
                                                         std::string_view object, std::string_view cause = {});

/// Throws EBADF "use of a moved-from OWNER". Cold, hence out of line: handles check for it
/// in accessors inlined at every call, each of which would otherwise carry the message's
/// string, the exception's allocation and their clean-up.
[[noreturn, gnu::cold]] LIBBPFCPP_INLINE void throw_moved_from(std::string_view owner);

}  // namespace detail
}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Error::Error(int err, std::string message, std::string verifier_log)
    : std::system_error(std::error_code(err, std::generic_category())),  // what() is ours
      message_(std::move(message)),
      verifier_log_(std::move(verifier_log)),
      what_(with_errno_text(message_, err)) {}

LIBBPFCPP_INLINE Error::Error(int err, std::string message, Missing missing) : Error(err, std::move(message)) {
    missing_.emplace(std::move(missing));  // into the empty optional: lighter than its assignment
}

LIBBPFCPP_INLINE std::string Error::with_errno_text(const std::string& message, int err) {
    const std::string_view text = std::strerror(err);
    if (message.find(text) != std::string::npos) return message;
    return detail::cat({message, " (", text, ")"});
}

LIBBPFCPP_INLINE std::string detail::libbpf_error_text(int err) {
    char buf[256];
    libbpf_strerror(err, buf, sizeof buf);
    return buf;
}

LIBBPFCPP_INLINE bool detail::has_capability(int cap) noexcept {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &hdr, data) != 0) return false;
    return (data[cap / 32].effective & (1U << (cap % 32))) != 0;
}

LIBBPFCPP_INLINE bool detail::lacks_bpf_privileges() noexcept {
    if (has_capability(CAP_SYS_ADMIN)) return false;
    return !has_capability(cap_bpf) || !has_capability(cap_perfmon);
}

LIBBPFCPP_INLINE bool detail::is_fs(const char* path, long magic) noexcept {
    struct statfs st {};
    return statfs(path, &st) == 0 && static_cast<long>(st.f_type) == magic;
}

LIBBPFCPP_INLINE const char* detail::tracefs_root() noexcept {
    if (is_fs("/sys/kernel/tracing", tracefs_magic)) return "/sys/kernel/tracing";
    if (is_fs("/sys/kernel/debug/tracing", tracefs_magic)) return "/sys/kernel/debug/tracing";
    return nullptr;
}

LIBBPFCPP_INLINE bool detail::kernel_has_kprobes() noexcept {
    if (access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0) return true;
    const char* root = tracefs_root();
    if (root == nullptr) return false;
    return access(cat({root, "/kprobe_events"}).c_str(), F_OK) == 0;
}

LIBBPFCPP_INLINE std::string detail::explain_errno(int err) {
    switch (err) {
        case EPERM:
        case EACCES:
            if (lacks_bpf_privileges()) return std::string(privileges_hint);
            return "the kernel refused the operation although the process has the BPF "
                   "capabilities (kernel lockdown, an LSM, or a feature this kernel forbids)";
        case ENOENT: return "not found";
        case E2BIG: return "too big for the kernel (size or entry limit exceeded)";
        case EOPNOTSUPP: return "not supported by this kernel";
        case ENOMEM: return "out of memory (or map/ring size limit reached)";
        default: return is_libbpf_errno(err) ? libbpf_error_text(err) : std::strerror(err);
    }
}

LIBBPFCPP_INLINE std::string detail::describe(std::string_view operation, std::string_view object,
                                              std::string_view cause) {
    std::string s(operation);
    if (!object.empty()) {
        s += " '";
        s += object;
        s += '\'';
    }
    if (!cause.empty()) {
        s += ": ";
        s += cause;
    }
    return s;
}

LIBBPFCPP_INLINE std::string detail::cat(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (std::string_view p : parts) size += p.size();
    std::string s;
    s.reserve(size);
    for (std::string_view p : parts) s += p;
    return s;
}

LIBBPFCPP_INLINE void detail::throw_error(int err, std::string_view operation, std::string_view object,
                                          std::initializer_list<std::string_view> cause) {
    throw Error(err, describe(operation, object, cat(cause)));
}

LIBBPFCPP_INLINE void detail::require_bpffs(const std::string& path, std::string_view operation,
                                            std::string_view object) {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? std::string(".")
                      : slash == 0               ? std::string("/")
                                                 : path.substr(0, slash);
    if (!is_fs(dir.c_str(), bpffs_magic))
        throw_error(EINVAL, operation, object,
                    {"'", dir, "' is not on a BPF filesystem (bpffs); mount one with: mount -t bpf bpf /sys/fs/bpf"});
}

LIBBPFCPP_INLINE void detail::throw_errno(int err, std::string_view operation, std::string_view object,
                                          std::string_view cause) {
    std::string why = cause.empty() ? explain_errno(err) : std::string(cause);
    throw Error(is_libbpf_errno(err) ? EINVAL : err, describe(operation, object, why));
}

LIBBPFCPP_INLINE void detail::throw_moved_from(std::string_view owner) {
    throw Error(EBADF, cat({"use of a moved-from ", owner}));
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
