// Kernel symbolization from /proc/kallsyms: an address (a stack entry from
// bpf_get_stackid, an instruction pointer) to symbol+offset, and a symbol to its address.
#pragma once

#include "../detail/cxx20.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"

namespace bpf::tools {

/// One line of /proc/kallsyms.
struct KernelSymbol {
    std::uint64_t address = 0;
    char type = '?';      ///< nm's type letter: 'T'/'t' text, 'D'/'d' data, ...
    std::string name;
    std::string module;   ///< empty for the kernel image itself
};

/// An address resolved to the symbol at or below it.
struct KernelAddress {
    const KernelSymbol* symbol = nullptr;
    std::uint64_t offset = 0;  ///< address - symbol->address

    /// "name+0x1a", or "name+0x1a [module]" for a module's symbol.
    [[nodiscard]] std::string str() const {
        char off[24];
        std::snprintf(off, sizeof off, "+0x%llx", static_cast<unsigned long long>(offset));
        std::string s = symbol->name + off;
        if (!symbol->module.empty()) s += " [" + symbol->module + "]";
        return s;
    }
};

/// The kernel's symbols, sorted by address for binary search. Loading /proc/kallsyms takes
/// a few tens of milliseconds: load once, resolve many.
///
/// ```cpp
/// auto ksyms = bpf::tools::KernelSymbols::load();
/// for (auto ip : stack) if (auto a = ksyms.resolve(ip)) std::puts(a->str().c_str());
/// ```
class KernelSymbols {
public:
    /// Reads `path` (/proc/kallsyms). Throws bpf::Error when it cannot be read, and when
    /// every address is 0: the kernel hides them (kernel.kptr_restrict) from this process.
    static KernelSymbols load(const std::string& path = "/proc/kallsyms") {
        std::ifstream in(path);
        if (!in) throw Error(errno != 0 ? errno : ENOENT, "reading kernel symbols from " + path + ": cannot open it");
        std::stringstream text;
        text << in.rdbuf();
        return parse(text.str(), path);
    }

    /// Parses text in /proc/kallsyms's format ("ffffffff81000000 T _stext [module]");
    /// `source` names it in errors.
    static KernelSymbols parse(std::string_view text, std::string_view source = "/proc/kallsyms") {
        KernelSymbols s;
        bool any_address = false;
        std::size_t line_no = 0;
        while (!text.empty()) {
            const std::size_t eol = text.find('\n');
            std::string_view line = text.substr(0, eol);
            text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
            ++line_no;
            if (line.empty()) continue;
            KernelSymbol sym;
            const auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), sym.address, 16);
            const std::size_t at = static_cast<std::size_t>(p - line.data());
            if (ec != std::errc{} || at + 3 > line.size() || line[at] != ' ' || line[at + 2] != ' ')
                throw Error(EINVAL, "reading kernel symbols from " + std::string(source) + ": line " +
                                        std::to_string(line_no) + " is not 'ADDRESS TYPE NAME [MODULE]': '" +
                                        std::string(line.substr(0, 80)) + "'");
            sym.type = line[at + 1];
            std::string_view rest = line.substr(at + 3);
            const std::size_t tab = rest.find('\t');
            sym.name = std::string(rest.substr(0, tab));
            if (tab != std::string_view::npos) {
                std::string_view mod = rest.substr(tab + 1);
                if (mod.size() >= 2 && mod.front() == '[' && mod.back() == ']') mod = mod.substr(1, mod.size() - 2);
                sym.module = std::string(mod);
            }
            any_address = any_address || sym.address != 0;
            s.symbols_.push_back(std::move(sym));
        }
        if (!s.symbols_.empty() && !any_address)
            throw Error(EPERM, "reading kernel symbols from " + std::string(source) +
                                   ": every address is 0, the kernel hides them from this process "
                                   "(kernel.kptr_restrict); run as root with CAP_SYSLOG, or lower "
                                   "/proc/sys/kernel/kptr_restrict");
        std::stable_sort(s.symbols_.begin(), s.symbols_.end(),
                         [](const KernelSymbol& a, const KernelSymbol& b) { return a.address < b.address; });
        s.by_name_.resize(s.symbols_.size());
        for (std::size_t i = 0; i < s.by_name_.size(); ++i) s.by_name_[i] = i;
        std::stable_sort(s.by_name_.begin(), s.by_name_.end(),
                         [&](std::size_t a, std::size_t b) { return s.symbols_[a].name < s.symbols_[b].name; });
        return s;
    }

    /// The symbol at or below `address` and the offset into it; nullopt below the first
    /// symbol. Of several symbols at one address, the one listed last.
    [[nodiscard]] std::optional<KernelAddress> resolve(std::uint64_t address) const noexcept {
        auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                                   [](std::uint64_t a, const KernelSymbol& s) { return a < s.address; });
        if (it == symbols_.begin()) return std::nullopt;
        --it;
        return KernelAddress{&*it, address - it->address};
    }

    /// The address of symbol `name` (the lowest, when a name repeats: static functions of
    /// several files); nullopt when there is none.
    [[nodiscard]] std::optional<std::uint64_t> address_of(std::string_view name) const noexcept {
        auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                                   [&](std::size_t i, std::string_view n) { return symbols_[i].name < n; });
        if (it == by_name_.end() || symbols_[*it].name != name) return std::nullopt;
        return symbols_[*it].address;
    }

    [[nodiscard]] std::size_t size() const noexcept { return symbols_.size(); }
    [[nodiscard]] const std::vector<KernelSymbol>& symbols() const noexcept { return symbols_; }

private:
    std::vector<KernelSymbol> symbols_;  // by address
    std::vector<std::size_t> by_name_;   // indices into symbols_, by name
};

}  // namespace bpf::tools
