// What Module::load() says when libbpf fails: the verifier log of the rejected program,
// read from a log buffer libbpf fills for that program (bpf_program__set_log_buf), and
// the causes errno, probes and the object itself give. Nothing here reads libbpf's
// printed text for a verdict; its last warnings only fill a message nothing better explains.
#pragma once

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/libbpf.h>

#include "../error.hpp"
#include "../log.hpp"
#include "compiled.hpp"
#include "load_checks.hpp"
#include "token_checks.hpp"

namespace bpf::detail {

/// The last `n` non-empty lines of `text`.
LIBBPFCPP_INLINE std::string tail_lines(const std::string& text, std::size_t n);

/// The part of a verifier log that says why: its last lines, and from Linux 7.x, whose
/// log ends in a long explanation ("Verification failed: ...", "Reason:", source and
/// instruction context, "Suggestion:"), the lines before that block and its first two
/// paragraphs, so the rejected instruction and the error line stay in the message.
[[gnu::cold]] LIBBPFCPP_INLINE std::string verifier_summary(const std::string& log);

/// libbpf's warnings of one failed call, joined into a short cause.
LIBBPFCPP_INLINE std::string libbpf_warnings(const std::string& captured, std::size_t n = 3);

/// A verifier log buffer for each program of an object, for the length of one load.
///
/// With a buffer of the caller's and log level 0, libbpf loads a program without a log
/// first (a load that succeeds costs nothing extra) and only after a failure loads it
/// again at level 1 into the buffer. It prints no log it did not allocate, so the log
/// reaches the Error and nothing else. A program given a log level of its own
/// (OpenOptions::kernel_log_level) gets a buffer as large as the kernel accepts, since
/// libbpf does not grow a buffer it was given and a full one fails even a load that
/// succeeds; its log is handed to the logger here, as libbpf does with logs it keeps.
class ProgramLogs {
public:
    explicit ProgramLogs(bpf_object* obj);
    ProgramLogs(const ProgramLogs&) = delete;
    ProgramLogs& operator=(const ProgramLogs&) = delete;
    ~ProgramLogs();

    /// The program whose load failed, and its log (in this object's buffer); with no log
    /// anywhere, the only program the object loads, if it has one, and an empty log.
    /// libbpf loads programs in object order and stops at the first that fails, so that
    /// is the last one with text in its buffer.
    [[nodiscard]] std::optional<std::pair<bpf_program*, std::string_view>> failed() const;

    /// Sends the logs of programs with a log level of their own to the logger at debug
    /// level, all but `except` (the one an Error carries).
    void print_requested(const bpf_program* except = nullptr) const;

    /// True when the buffer of `prog` filled up: the kernel then fails the load with
    /// ENOSPC whatever the verdict.
    [[nodiscard]] bool full(const bpf_program* prog, const std::string& log) const;

private:
    // Level 0: libbpf's own first buffer is this size, so a log it would hold fits.
    static constexpr std::size_t default_size_ = (std::size_t{1} << 24) - 1;
    // A program with a log level: the most the kernel takes (UINT_MAX >> 2, Linux >= 5.2).
    // Only the pages the kernel writes are touched; where the address space cannot be
    // had, the default size stands.
    static constexpr std::size_t requested_size_ = (std::size_t{1} << 30) - 1;
    struct Buffer {
        bpf_program* prog;
        std::unique_ptr<char[]> text;
        std::size_t size;
        bool requested;  // the program has a log level of its own
    };
    std::size_t loaded_ = 0;  // programs the load loads
    std::vector<Buffer> bufs_;
};

/// Throws the Error for a load or prepare of `obj` (called `name`) that failed with
/// libbpf's return value `ret`: the verifier's verdict from `logs`, else a cause errno or
/// the object gives.
[[noreturn, gnu::cold]] LIBBPFCPP_INLINE void throw_load_error(bpf_object* obj, const std::string& name,
                                                    const std::optional<std::string>& token_path, int ret,
                                                    const std::string& printed, const ProgramLogs* logs);

/// The cause throw_load_error() gives for a failure with `err`, and the verifier log the
/// Error carries in `verifier_log`. Apart so that the Error is built at one place: each
/// construction inlined the message's and the log's strings and their clean-up.
[[gnu::cold]] LIBBPFCPP_INLINE std::string load_error_cause(bpf_object* obj,
                                                           const std::optional<std::string>& token_path, int err,
                                                           const std::string& printed, const ProgramLogs* logs,
                                                           std::string& verifier_log);

}  // namespace bpf::detail

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE std::string detail::tail_lines(const std::string& text, std::size_t n) {
    std::size_t end = text.size();
    while (end > 0 && text[end - 1] == '\n') --end;
    std::size_t pos = end;
    for (std::size_t count = 0; pos > 0 && count < n;) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) {
            pos = 0;
            break;
        }
        ++count;
        if (count == n) {
            ++pos;
            break;
        }
    }
    return text.substr(pos, end - pos);
}

LIBBPFCPP_INLINE std::string detail::verifier_summary(const std::string& log) {
    const std::size_t block = log.find("\nVerification failed:");
    if (block == std::string::npos) return tail_lines(log, 12);
    std::string out = tail_lines(log.substr(0, block), 6);
    // The headline and the "Reason:" paragraph: up to the second blank line after it.
    std::size_t end = block + 1;
    for (int blank = 0; blank < 2 && end < log.size();) {
        std::size_t nl = log.find('\n', end);
        if (nl == std::string::npos) nl = log.size();
        const std::string_view line(log.data() + end, nl - end);
        if (line.find_first_not_of(" \t") == std::string_view::npos) ++blank;
        end = nl + 1;
    }
    std::string explanation = log.substr(block + 1, std::min(end, log.size()) - block - 1);
    while (!explanation.empty() && (explanation.back() == '\n' || explanation.back() == ' ')) explanation.pop_back();
    return cat({out, "\n", explanation});
}

LIBBPFCPP_INLINE std::string detail::libbpf_warnings(const std::string& captured, std::size_t n) {
    const std::string lines = tail_lines(captured, n);
    std::string out;
    for (std::string_view rest = lines; !rest.empty();) {
        const auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        if (line.starts_with("libbpf: ")) line.remove_prefix(8);
        if (!line.empty()) out = cat({out, out.empty() ? "" : "; ", line});
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
    }
    return out;
}

LIBBPFCPP_INLINE detail::ProgramLogs::ProgramLogs(bpf_object* obj) {
    for (bpf_program* p = nullptr; (p = bpf_object__next_program(obj, p)) != nullptr;) {
        if (!bpf_program__autoload(p)) continue;
        ++loaded_;
        size_t size = 0;
        if (bpf_program__log_buf(p, &size) != nullptr) continue;  // the caller's own buffer
        const bool requested = bpf_program__log_level(p) != 0;
        size = requested ? requested_size_ : default_size_;
        std::unique_ptr<char[]> buf(new (std::nothrow) char[size]);
        if (!buf) buf.reset(new char[size = default_size_]);
        buf[0] = '\0';
        if (bpf_program__set_log_buf(p, buf.get(), size) != 0) continue;
        bufs_.push_back({p, std::move(buf), size, requested});
    }
}

LIBBPFCPP_INLINE detail::ProgramLogs::~ProgramLogs() {
    // libbpf keeps the pointer: a buffer freed here must not be handed out later.
    for (auto& b : bufs_) bpf_program__set_log_buf(b.prog, nullptr, 0);
}

LIBBPFCPP_INLINE std::optional<std::pair<bpf_program*, std::string_view>> detail::ProgramLogs::failed() const {
    using Failed = std::pair<bpf_program*, std::string_view>;
    for (auto b = bufs_.rbegin(); b != bufs_.rend(); ++b)
        if (b->text[0] != '\0') return Failed(b->prog, std::string_view(b->text.get(), strnlen(b->text.get(), b->size)));
    if (loaded_ == 1 && bufs_.size() == 1) return Failed(bufs_.front().prog, std::string_view());
    return std::nullopt;
}

LIBBPFCPP_INLINE void detail::ProgramLogs::print_requested(const bpf_program* except) const {
    for (const auto& b : bufs_) {
        if (!b.requested || b.prog == except || b.text[0] == '\0') continue;
        route_libbpf_message(LIBBPF_DEBUG, cat({"libbpf: prog '", bpf_program__name(b.prog),
                                                "': -- BEGIN PROG LOAD LOG --\n",
                                                std::string_view(b.text.get(), strnlen(b.text.get(), b.size)),
                                                "-- END PROG LOAD LOG --\n"}));
    }
}

LIBBPFCPP_INLINE bool detail::ProgramLogs::full(const bpf_program* prog, const std::string& log) const {
    for (const auto& b : bufs_)
        if (b.prog == prog) return log.size() + 1 >= b.size;
    return false;
}

LIBBPFCPP_INLINE void detail::throw_load_error(bpf_object* obj, const std::string& name,
                                               const std::optional<std::string>& token_path, int ret,
                                               const std::string& printed, const ProgramLogs* logs) {
    int err = positive_errno(ret);
    if (is_libbpf_errno(err)) err = EINVAL;
    if (err == EMFILE || err == ENFILE) fd_exhaustion_seen().store(true, std::memory_order_relaxed);
    std::string verifier_log;
    const std::string cause = load_error_cause(obj, token_path, err, printed, logs, verifier_log);
    throw Error(err,
                cat({describe("loading object", name, cause),
                     fd_exhaustion_seen().load(std::memory_order_relaxed) ? fd_restart_note : std::string_view()}),
                std::move(verifier_log));
}

LIBBPFCPP_INLINE std::string detail::load_error_cause(bpf_object* obj, const std::optional<std::string>& token_path,
                                                      int err, const std::string& printed, const ProgramLogs* logs,
                                                      std::string& verifier_log) {
    if (std::string cause = token_load_cause(obj, token_path, err); !cause.empty()) return cause;
    if ((err == EPERM || err == EACCES) && lacks_bpf_privileges()) return std::string(privileges_hint);
    const auto vlog = logs != nullptr ? logs->failed() : std::nullopt;
    if (logs != nullptr) logs->print_requested(vlog ? vlog->first : nullptr);
    if (vlog) {
        bpf_program* const prog = vlog->first;
        const std::string log(vlog->second);
        const std::string pname = bpf_program__name(prog);
        if (err == ENOSPC && logs->full(prog, log)) {
            verifier_log = log;
            return cat({"the verifier log of program '", pname, "' outgrew its ", Decimal(log.size() + 1),
                        "-byte buffer, which fails the load whatever the verdict; lower "
                        "OpenOptions::kernel_log_level (level 2 logs every state)"});
        }
        // "processed 0 insns" is the kernel refusing the program before the verifier
        // looked at it (e.g. an attach type this kernel does not permit).
        const bool unverified = log.empty() || (log.find("processed 0 insns") != std::string::npos &&
                                                (err == EPERM || err == EACCES));
        if (!unverified) {
            // A logger of the user's own sees the log where libbpf would have printed it;
            // the default logger does not, since the Error carries it (see LogCapture).
            route_libbpf_message(LIBBPF_WARN, cat({"libbpf: prog '", pname, "': -- BEGIN PROG LOAD LOG --\n", log,
                                                   "-- END PROG LOAD LOG --\n"}));
            verifier_log = log;
            return cat({"the verifier rejected program '", pname, "':\n", verifier_summary(log),
                        "\n(full log in Error::verifier_log())"});
        }
        // Refused without a verifier verdict: name the program and what its hook needs.
        const std::string sec = bpf_program__section_name(prog);
        const std::string cause = cat({"the kernel refused program '", pname, "' (section '", sec, "')"});
        for (std::string_view tramp : {"fentry", "fexit", "fmod_ret", "lsm", "freplace"})
            if (sec.rfind(tramp, 0) == 0 && err == EPERM)
                return cat({cause, ": this kernel does not allow BPF trampoline programs "
                                   "(fentry/fexit/fmod_ret/lsm); use a kprobe or a tracepoint instead"});
        // Without a log the program is only the one the object loads, and the failure may
        // have come before it reached the kernel: libbpf's last words say which.
        const std::string said = log.empty() ? libbpf_warnings(without_memlock_hints(printed)) : std::string();
        return cat({cause, err == EPERM || err == EACCES ? " before verifying it: " : ": ", explain_errno(err),
                    said.empty() ? "" : " (libbpf: ", said, said.empty() ? "" : ")"});
    }
    std::string why = libbpf_warnings(without_memlock_hints(printed));
    return why.empty() ? explain_errno(err) : why;
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
