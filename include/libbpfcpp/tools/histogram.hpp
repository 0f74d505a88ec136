// Histograms printed the way bcc's tools (and their libbpf-tools) print them, so a port
// keeps its output: a log2 histogram (slot i counts values in [2^i, 2^(i+1)), slot 0 also
// counts 0) and a linear one (slot i counts base + i * step), each row a range, a count
// and a bar of stars 40 wide scaled to the largest count.
#pragma once

#include "../detail/cxx20.hpp"

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <ranges>
#include <string>
#include <string_view>

namespace bpf::tools {

/// A contiguous range of unsigned counts: a BPF map value `__u32 slots[N]`, a std::array,
/// a std::vector<std::uint64_t>, ...
template <class R>
concept HistogramSlots = std::ranges::contiguous_range<R> && std::unsigned_integral<std::ranges::range_value_t<R>>;

namespace detail {

/// Appends printf-formatted text (the column layouts are printf's, as in the C tools).
template <class... A>
void append_format(std::string& out, const char* fmt, A... args) {
    char buf[160];
    const int n = std::snprintf(buf, sizeof buf, fmt, args...);
    if (n > 0) out.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

/// `|` + `count` scaled to `max` as stars in `width` columns + `|`; a count above max
/// (slots changed while being read) gets a `+`.
inline void append_bar(std::string& out, std::uint64_t count, std::uint64_t max, int width) {
    const auto stars = static_cast<int>(std::min(count, max) * static_cast<std::uint64_t>(width) / max);
    out += '|';
    out.append(static_cast<std::size_t>(stars), '*');
    out.append(static_cast<std::size_t>(width - stars), ' ');
    if (count > max) out += '+';
    out += "|\n";
}

}  // namespace detail

/// The log2 histogram of `slots` as text, rows up to the last non-empty slot; empty when
/// all slots are 0. `unit` names the values ("usecs", "bytes"). Beyond 33 slots the columns
/// widen and the bar halves, as bcc does.
///
/// ```cpp
/// std::fputs(bpf::tools::log2_histogram(hist.slots, "usecs").c_str(), stdout);
/// ```
template <HistogramSlots R>
[[nodiscard]] std::string log2_histogram(const R& slots, std::string_view unit) {
    const auto* v = std::ranges::data(slots);
    const auto n = static_cast<int>(std::ranges::size(slots));
    int last = -1;
    std::uint64_t max = 0;
    for (int i = 0; i < n; ++i) {
        if (v[i] > 0) last = i;
        max = std::max<std::uint64_t>(max, v[i]);
    }
    std::string out;
    if (last < 0) return out;
    const bool wide = last > 32;
    const std::string label(unit);
    detail::append_format(out, "%*s%-*s : count    distribution\n", wide ? 15 : 5, "", wide ? 29 : 19, label.c_str());
    const int width = wide ? 20 : 10;
    for (int i = 0; i <= last; ++i) {
        // Slot i holds [2^i, 2^(i+1) - 1]; slot 0 is shown as 0 -> 1.
        const unsigned long long high = i >= 63 ? ~0ULL : (1ULL << (i + 1)) - 1;
        const unsigned long long low = i == 0 ? 0 : 1ULL << i;
        detail::append_format(out, "%*llu -> %-*llu : %-8llu ", width, low, width, high,
                              static_cast<unsigned long long>(v[i]));
        detail::append_bar(out, v[i], max, wide ? 20 : 40);
    }
    return out;
}

/// The linear histogram of `slots` as text: slot i is the value `base + i * step`; rows
/// from the first to the last non-empty slot, empty slots left out; empty when all are 0.
template <HistogramSlots R>
[[nodiscard]] std::string linear_histogram(const R& slots, std::uint64_t base, std::uint64_t step,
                                           std::string_view unit) {
    const auto* v = std::ranges::data(slots);
    const auto n = std::ranges::size(slots);
    std::uint64_t max = 0;
    for (std::size_t i = 0; i < n; ++i) max = std::max<std::uint64_t>(max, v[i]);
    std::string out;
    if (max == 0) return out;
    const std::string label(unit);
    detail::append_format(out, "     %-13s : count     distribution\n", label.c_str());
    for (std::size_t i = 0; i < n; ++i) {
        if (v[i] == 0) continue;
        detail::append_format(out, "        %-10llu : %-8llu ", static_cast<unsigned long long>(base + i * step),
                              static_cast<unsigned long long>(v[i]));
        detail::append_bar(out, v[i], max, 40);
    }
    return out;
}

/// log2_histogram() written to `out` (stdout by default).
template <HistogramSlots R>
void print_log2_histogram(const R& slots, std::string_view unit, std::FILE* out = stdout) {
    std::fputs(log2_histogram(slots, unit).c_str(), out);
}

/// linear_histogram() written to `out` (stdout by default).
template <HistogramSlots R>
void print_linear_histogram(const R& slots, std::uint64_t base, std::uint64_t step, std::string_view unit,
                            std::FILE* out = stdout) {
    std::fputs(linear_histogram(slots, base, step, unit).c_str(), out);
}

}  // namespace bpf::tools
