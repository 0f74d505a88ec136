// User-space symbolization: an address in a process (a user stack entry, a uprobe's
// instruction pointer) to function+offset and source line, through the process's
// mappings (/proc/PID/maps) and the ELF and DWARF of each mapped file, read by elfutils'
// libdwfl. Needs libdw: link with `pkg-config --libs libdw` (Debian: libdw-dev; a static
// link adds -lelf -lz -llzma -lbz2 -lzstd).
#pragma once

#include "../detail/cxx20.hpp"

#if !__has_include(<elfutils/libdwfl.h>)
#error "<libbpfcpp/tools/usyms.hpp> needs elfutils' libdw (Debian: apt-get install libdw-dev)"
#include <libbpfcpp-usyms-needs-libdw>
#endif

#include <elfutils/libdwfl.h>
#include <cxxabi.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "../error.hpp"

namespace bpf::tools {

/// An address resolved in a process.
struct UserAddress {
    std::string symbol;        ///< the function (demangled), empty when no symbol covers it
    std::uint64_t offset = 0;  ///< address - the symbol's start
    std::string module;        ///< the mapped file ("/usr/lib/x86_64-linux-gnu/libc.so.6")
    std::string file;          ///< source file, from DWARF line info when the file has it
    int line = 0;              ///< source line (0: unknown)

    /// "symbol+0x1a (module)", or "[unknown] (module)".
    [[nodiscard]] std::string str() const {
        char off[24];
        std::snprintf(off, sizeof off, "+0x%llx", static_cast<unsigned long long>(offset));
        return (symbol.empty() ? std::string("[unknown]") : symbol + off) + " (" + module + ")";
    }
};

/// The symbols of one process, as it is mapped when the object is made (make a new one
/// after it loaded more libraries). Not thread-safe: one thread at a time resolves.
///
/// ```cpp
/// bpf::tools::UserSymbols syms(e.pid);
/// if (auto a = syms.resolve(e.ip)) std::puts(a->str().c_str());
/// ```
class UserSymbols {
public:
    /// Reads the mappings of process `pid`. Throws bpf::Error when the process does not
    /// exist or its mappings cannot be read (another user's process needs
    /// CAP_SYS_PTRACE).
    explicit UserSymbols(pid_t pid) : pid_(pid) {
        dwfl_.reset(dwfl_begin(&callbacks_));
        if (!dwfl_) fail(ENOMEM, "starting libdwfl", dwfl_errmsg(-1));
        const int rc = dwfl_linux_proc_report(dwfl_.get(), pid);
        if (rc > 0) fail(rc, "reading the mappings of process " + std::to_string(pid), "/proc/PID/maps");
        if (rc < 0) fail(EINVAL, "reading the mappings of process " + std::to_string(pid), dwfl_errmsg(-1));
        if (dwfl_report_end(dwfl_.get(), nullptr, nullptr) != 0)
            fail(EINVAL, "reading the mappings of process " + std::to_string(pid), dwfl_errmsg(-1));
    }

    /// The function, module and (with debug info) source line of `address`; nullopt when
    /// no mapped file covers it (an anonymous mapping: JIT code, the stack).
    [[nodiscard]] std::optional<UserAddress> resolve(std::uint64_t address) {
        Dwfl_Module* mod = dwfl_addrmodule(dwfl_.get(), address);
        if (mod == nullptr) return std::nullopt;
        UserAddress out;
        const char* mainfile = nullptr;
        const char* modname = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, &mainfile, nullptr);
        out.module = mainfile != nullptr ? mainfile : modname != nullptr ? modname : "";
        GElf_Off off = 0;
        GElf_Sym sym{};
        if (const char* name = dwfl_module_addrinfo(mod, address, &off, &sym, nullptr, nullptr, nullptr)) {
            out.symbol = demangle(name);
            out.offset = off;
        }
        if (Dwfl_Line* line = dwfl_module_getsrc(mod, address)) {
            int lineno = 0;
            if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
                out.file = file;
                out.line = lineno;
            }
        }
        return out;
    }

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }

private:
    struct End {
        void operator()(Dwfl* d) const noexcept { dwfl_end(d); }
    };

    [[noreturn]] static void fail(int err, const std::string& what, const std::string& why) {
        std::string hint;
        if (err == ENOENT || err == ESRCH) hint = "; no such process";
        if (err == EACCES || err == EPERM) hint = "; another user's process needs CAP_SYS_PTRACE (or root)";
        throw Error(err, what + ": " + why + hint);
    }

    static std::string demangle(const char* name) {
        int status = 0;
        std::unique_ptr<char, decltype(&std::free)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
        return status == 0 && d ? std::string(d.get()) : std::string(name);
    }

    // libdwfl keeps a pointer to the callbacks: they live as long as the object.
    static inline char* debuginfo_path_ = nullptr;
    static inline const Dwfl_Callbacks callbacks_{dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr,
                                                  &debuginfo_path_};
    pid_t pid_;
    std::unique_ptr<Dwfl, End> dwfl_;
};

}  // namespace bpf::tools
