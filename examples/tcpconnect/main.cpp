// tcpconnect on libbpfcpp: one line per outgoing TCP connection (IPv4 and IPv6).
// main.c is the same tool on plain libbpf; both take the same options and print the
// same output, so they can be compared line by line. The BPF object is embedded.
#include <libbpfcpp/libbpfcpp.hpp>

#include <arpa/inet.h>
#include <getopt.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tcpconnect.bpf.hpp"
#include "tcpconnect.h"

namespace {

using Event = tcpconnect_event;

enum class Attach { Auto, Fentry, Kprobe, Tracepoint };
constexpr std::array<std::string_view, 4> attach_names = {"auto", "fentry", "kprobe", "tracepoint"};
constexpr std::array<std::string_view, 4> attach_points = {
    "", "fexit tcp_v4_connect, tcp_v6_connect", "kprobe+kretprobe tcp_v4_connect, tcp_v6_connect",
    "tracepoint sock:inet_sock_set_state"};

std::string_view name_of(Attach a) { return attach_names[static_cast<std::size_t>(a)]; }

struct Options {
    std::uint32_t pid = 0;                  // 0: every process
    std::uint32_t uid = UINT32_MAX;         // every user
    std::array<std::uint16_t, TCPCONNECT_MAX_PORTS> ports{};
    std::uint32_t nports = 0;
    std::uint16_t family = 0;               // 0, AF_INET or AF_INET6
    bool timestamp = false, print_uid = false, count = false, verbose = false, json = false, perf = false;
    double duration = 0;                    // seconds; 0: until a signal
    Attach attach = Attach::Auto;
};

constexpr std::string_view usage_text =
    "Usage: tcpconnect [OPTIONS]\n"
    "Trace outgoing TCP connections (IPv4 and IPv6), one line per connection:\n"
    "  COMM (pid: PID) (loginuid: LOGINUID) | (proto: 6) SADDR (SPORT) => DADDR (DPORT)\n"
    "\n"
    "  -p, --pid PID              only connections made by process PID\n"
    "  -u, --uid UID              only connections made by user UID\n"
    "  -P, --port PORT[,PORT...]  only these destination ports (at most 64)\n"
    "  -4, --ipv4                 only IPv4\n"
    "  -6, --ipv6                 only IPv6\n"
    "  -t, --timestamp            first column: seconds since the start\n"
    "  -U, --print-uid            add a UID column\n"
    "  -c, --count                count connects per source, destination and port;\n"
    "                             print the table at exit instead of each connection\n"
    "  -d, --duration SECONDS     stop after SECONDS\n"
    "      --json                 one JSON object per line\n"
    "      --perf                 use a perf buffer even when the kernel has a ring buffer\n"
    "      --attach MODE          auto (default), fentry, kprobe or tracepoint\n"
    "  -v, --verbose              say which attach strategy and buffer are used, and why\n"
    "  -h, --help                 show this help\n"
    "\n"
    "Needs root (CAP_BPF and CAP_PERFMON). SIGINT or SIGTERM ends it with a summary.\n";

/// One line on stderr, "tcpconnect: ...", whatever the message holds.
void message(std::string text) {
    for (char& c : text)
        if (c == '\n') c = ' ';
    text.insert(0, "tcpconnect: ");
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stderr);
}

/// Bad command line: the message is printed by main(), the exit code is 2.
struct UsageError {
    std::string text;
};

std::optional<std::uint32_t> parse_u32(std::string_view s, std::uint32_t max) {
    std::uint64_t v = 0;
    if (s.empty() || s[0] < '0' || s[0] > '9') return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

void parse_ports(std::string_view list, Options& o) {
    auto bad = [&] {
        return UsageError{"invalid port list '" + std::string(list) +
                          "': expected PORT[,PORT...], ports 1-65535, at most " +
                          std::to_string(TCPCONNECT_MAX_PORTS)};
    };
    o.nports = 0;
    std::size_t start = 0;
    while (true) {
        auto comma = list.find(',', start);
        auto port = parse_u32(list.substr(start, comma == std::string_view::npos ? list.npos : comma - start), 65535);
        if (!port || *port == 0 || o.nports == TCPCONNECT_MAX_PORTS) throw bad();
        o.ports[o.nports++] = static_cast<std::uint16_t>(*port);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
}

/// The options, or std::nullopt after printing the help.
std::optional<Options> parse_options(int argc, char** argv) {
    enum { opt_json = 256, opt_perf, opt_attach };
    static const option longopts[] = {
        {"pid", required_argument, nullptr, 'p'},      {"uid", required_argument, nullptr, 'u'},
        {"port", required_argument, nullptr, 'P'},     {"ipv4", no_argument, nullptr, '4'},
        {"ipv6", no_argument, nullptr, '6'},           {"timestamp", no_argument, nullptr, 't'},
        {"print-uid", no_argument, nullptr, 'U'},      {"count", no_argument, nullptr, 'c'},
        {"duration", required_argument, nullptr, 'd'}, {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},           {"json", no_argument, nullptr, opt_json},
        {"perf", no_argument, nullptr, opt_perf},      {"attach", required_argument, nullptr, opt_attach},
        {nullptr, 0, nullptr, 0},
    };
    Options o;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":p:u:P:46tUcd:vh", longopts, nullptr)) != -1) {
        const std::string_view arg = optarg != nullptr ? optarg : "";
        switch (c) {
            case 'p': {
                auto pid = parse_u32(arg, INT32_MAX);
                if (!pid || *pid == 0)
                    throw UsageError{"invalid PID '" + std::string(arg) + "': expected a positive process id"};
                o.pid = *pid;
                break;
            }
            case 'u': {
                auto uid = parse_u32(arg, UINT32_MAX - 1);
                if (!uid)
                    throw UsageError{"invalid UID '" + std::string(arg) +
                                     "': expected a number from 0 to 4294967294"};
                o.uid = *uid;
                break;
            }
            case 'P': parse_ports(arg, o); break;
            case '4':
            case '6': {
                const std::uint16_t f = c == '4' ? AF_INET : AF_INET6;
                if (o.family != 0 && o.family != f) throw UsageError{"-4 and -6 exclude each other"};
                o.family = f;
                break;
            }
            case 't': o.timestamp = true; break;
            case 'U': o.print_uid = true; break;
            case 'c': o.count = true; break;
            case 'v': o.verbose = true; break;
            case 'd': {
                char* end = nullptr;
                errno = 0;
                o.duration = std::strtod(optarg, &end);
                if (errno != 0 || *end != '\0' || end == optarg || !(o.duration > 0) || o.duration > 1e9)
                    throw UsageError{"invalid duration '" + std::string(arg) +
                                     "': expected a positive number of seconds"};
                break;
            }
            case 'h': std::fwrite(usage_text.data(), 1, usage_text.size(), stdout); return std::nullopt;
            case opt_json: o.json = true; break;
            case opt_perf: o.perf = true; break;
            case opt_attach: {
                std::size_t i = 0;
                while (i < attach_names.size() && attach_names[i] != arg) ++i;
                if (i == attach_names.size())
                    throw UsageError{"invalid --attach '" + std::string(arg) +
                                     "': expected auto, fentry, kprobe or tracepoint"};
                o.attach = static_cast<Attach>(i);
                break;
            }
            case ':':
                throw UsageError{"option '" + std::string(argv[optind - 1]) + "' needs a value (see --help)"};
            default:
                // getopt sets optopt to a known option's value when that option was given
                // a value it does not take (--json=1, --count=3).
                for (const option* lo = longopts; lo->name != nullptr; ++lo)
                    if (optopt != 0 && lo->val == optopt && lo->has_arg == no_argument)
                        throw UsageError{std::string("option '--") + lo->name + "' takes no value (see --help)"};
                if (optopt != 0)
                    throw UsageError{std::string("unknown option '-") + static_cast<char>(optopt) +
                                     "' (see --help)"};
                throw UsageError{"unknown option '" + std::string(argv[optind - 1]) + "' (see --help)"};
        }
    }
    if (optind < argc) throw UsageError{"unexpected argument '" + std::string(argv[optind]) + "' (see --help)"};
    return o;
}

bool has_capability(int cap) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &hdr, data) != 0) return false;
    return (data[cap / 32].effective & (1U << (cap % 32))) != 0;
}

bool privileged() {
    constexpr int cap_perfmon = 38, cap_bpf = 39;  // absent from older kernel headers
    return has_capability(CAP_SYS_ADMIN) || (has_capability(cap_bpf) && has_capability(cap_perfmon));
}

// ---- the BPF side ---------------------------------------------------------------------

bool belongs_to(std::string_view prog, Attach mode) {
    switch (mode) {
        case Attach::Fentry: return prog.starts_with("fexit_");
        case Attach::Kprobe: return prog.starts_with("kprobe_") || prog.starts_with("kretprobe_");
        case Attach::Tracepoint: return prog.starts_with("tp_");
        case Attach::Auto: break;
    }
    return false;
}

/// The object opened, filtered, loaded and attached with one strategy; throws bpf::Error.
bpf::Module open_tracer(const Options& o, Attach mode, bool ringbuf) {
    auto mod = bpf::Module::open_memory(bpf_objects::tcpconnect());
    if (!ringbuf) {
        // Same map, retyped: max_entries 0 lets libbpf use one slot per possible CPU.
        auto events = mod.map("events");
        events.set_type(BPF_MAP_TYPE_PERF_EVENT_ARRAY);
        events.set_key_size(sizeof(int));
        events.set_value_size(sizeof(int));
        events.set_max_entries(0);
    }
    mod.set_global("filter_pid", o.pid);
    mod.set_global("filter_uid", o.uid);
    mod.set_global("filter_family", o.family);
    mod.set_global("filter_nports", o.nports);
    mod.set_global("filter_ports", o.ports);
    mod.set_global("use_ringbuf", ringbuf);
    for (bpf::Prog p : mod.programs()) p.set_autoload(belongs_to(p.name(), mode));
    mod.load();
    switch (mode) {
        case Attach::Kprobe:
            for (const char* fn : {"tcp_v4_connect", "tcp_v6_connect"}) {
                mod.program(std::string("kprobe_") + fn).attach_kprobe(fn);
                mod.program(std::string("kretprobe_") + fn).attach_kretprobe(fn);
            }
            break;
        case Attach::Tracepoint:
            mod.program("tp_inet_sock_set_state").attach_tracepoint("sock", "inet_sock_set_state");
            break;
        default: mod.attach_all(); break;
    }
    return mod;
}

// ---- output ---------------------------------------------------------------------------

std::uint64_t now_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string format_addr(std::uint16_t family, const std::uint8_t* addr) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr, buf, sizeof buf) == nullptr) return "?";
    return buf;
}

template <class T>
void append_number(std::string& out, T value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, end);
}

void append_padded(std::string& out, std::string_view text, std::size_t width) {
    out += text;
    if (text.size() < width) out.append(width - text.size(), ' ');
}

/// The length of the well-formed UTF-8 sequence at the start of `s` (2 to 4 bytes, no
/// overlong forms, surrogates or code points above U+10FFFF), or 0; its code point in `cp`.
std::size_t utf8_sequence(std::string_view s, std::uint32_t& cp) {
    const auto b0 = static_cast<unsigned char>(s[0]);
    std::size_t n = b0 >= 0xf0 && b0 <= 0xf4 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc2 && b0 < 0xe0 ? 2 : 0;
    if (n == 0 || b0 > 0xf4 || s.size() < n) return 0;
    cp = b0 & (0xff >> (n + 1));
    for (std::size_t i = 1; i < n; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    static constexpr std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/// A process name for a terminal: any local process picks its own name, so control
/// bytes (a newline would forge a line, ESC drives the terminal) and bytes that are not
/// UTF-8 are shown as \xHH, and a backslash as \\; well-formed UTF-8 passes, except
/// the C1 controls (U+0080-U+009F), which terminals obey too.
void append_text_comm(std::string& out, std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0;
        std::size_t n = c >= 0x80 ? utf8_sequence(s.substr(i), cp) : 0;
        if (n > 0 && cp >= 0xa0) {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
        ++i;
    }
}

/// A JSON string: well-formed UTF-8 passes as it is; control characters (C0, DEL and
/// C1) are escaped as \u00XX, and a byte that is not UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = c;
        std::size_t n = 1;
        if (c >= 0x80) {
            n = utf8_sequence(s.substr(i), cp);
            if (n == 0) {
                out += "\\ufffd";
                ++i;
                continue;
            }
        }
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    out += '"';
}

/// Prints each event (or counts it) as it arrives.
class Printer {
public:
    explicit Printer(const Options& o)
        : o_(o),
          start_mono_ns_(now_ns(CLOCK_MONOTONIC)),
          realtime_offset_ns_(static_cast<std::int64_t>(now_ns(CLOCK_REALTIME) - start_mono_ns_)) {
        line_.reserve(256);
    }

    void operator()(const Event& e) {
        ++events_;
        if (o_.count) {
            CountKey key{e.family, {}, {}, e.dport};
            std::memcpy(key.saddr.data(), e.saddr, 16);
            std::memcpy(key.daddr.data(), e.daddr, 16);
            ++counts_[key];
            return;
        }
        const std::string_view comm(e.comm, strnlen(e.comm, sizeof e.comm));
        const std::string saddr = format_addr(e.family, e.saddr), daddr = format_addr(e.family, e.daddr);
        line_.clear();
        if (o_.json) {
            line_ += "{\"ts_ns\":";
            append_number(line_, static_cast<std::uint64_t>(static_cast<std::int64_t>(e.ts_ns) + realtime_offset_ns_));
            line_ += ",\"pid\":";
            append_number(line_, e.pid);
            line_ += ",\"tid\":";
            append_number(line_, e.tid);
            line_ += ",\"uid\":";
            append_number(line_, e.uid);
            line_ += ",\"gid\":";
            append_number(line_, e.gid);
            line_ += ",\"loginuid\":";
            append_number(line_, e.loginuid);
            line_ += ",\"comm\":";
            append_json_string(line_, comm);
            line_ += ",\"family\":";
            line_ += e.family == AF_INET ? '4' : '6';
            line_ += ",\"saddr\":\"" + saddr + "\",\"sport\":";
            append_number(line_, e.sport);
            line_ += ",\"daddr\":\"" + daddr + "\",\"dport\":";
            append_number(line_, e.dport);
            line_ += "}\n";
        } else {
            if (o_.timestamp) {
                char buf[32];
                const double secs = static_cast<double>(static_cast<std::int64_t>(e.ts_ns - start_mono_ns_)) / 1e9;
                auto [end, ec] = std::to_chars(buf, buf + sizeof buf, secs, std::chars_format::fixed, 3);
                append_padded(line_, std::string_view(buf, static_cast<std::size_t>(end - buf)), 9);
                line_ += ' ';
            }
            if (o_.print_uid) {
                char buf[16];
                auto [end, ec] = std::to_chars(buf, buf + sizeof buf, e.uid);
                append_padded(line_, std::string_view(buf, static_cast<std::size_t>(end - buf)), 6);
                line_ += ' ';
            }
            append_text_comm(line_, comm);
            line_ += " (pid: ";
            append_number(line_, e.pid);
            line_ += ") (loginuid: ";
            append_number(line_, e.loginuid);
            line_ += ") | (proto: ";
            append_number(line_, e.proto);
            line_ += ") " + saddr + " (";
            append_number(line_, e.sport);
            line_ += ") => " + daddr + " (";
            append_number(line_, e.dport);
            line_ += ")\n";
        }
        std::fwrite(line_.data(), 1, line_.size(), stdout);
    }

    /// The -c table, most connects first.
    void print_counts() const {
        std::vector<std::pair<CountKey, std::uint64_t>> rows(counts_.begin(), counts_.end());
        std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        std::string out;
        if (!o_.json) {
            append_padded(out, "SADDR", 39);
            out += ' ';
            append_padded(out, "DADDR", 39);
            out += ' ';
            append_padded(out, "DPORT", 5);
            out += " CONNECTS\n";
        }
        for (const auto& [k, n] : rows) {
            const std::string saddr = format_addr(k.family, k.saddr.data()), daddr = format_addr(k.family, k.daddr.data());
            std::string port;
            append_number(port, k.dport);
            if (o_.json) {
                out += std::string("{\"family\":") + (k.family == AF_INET ? "4" : "6") + ",\"saddr\":\"" + saddr +
                       "\",\"daddr\":\"" + daddr + "\",\"dport\":" + port + ",\"connects\":";
                append_number(out, n);
                out += "}\n";
            } else {
                append_padded(out, saddr, 39);
                out += ' ';
                append_padded(out, daddr, 39);
                out += ' ';
                append_padded(out, port, 5);
                out += ' ';
                append_number(out, n);
                out += '\n';
            }
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
    }

    [[nodiscard]] std::uint64_t events() const { return events_; }
    [[nodiscard]] std::uint64_t start_mono_ns() const { return start_mono_ns_; }

private:
    // Ordered like main.c's table: family, then the address bytes, then the port.
    struct CountKey {
        std::uint16_t family;
        std::array<std::uint8_t, 16> saddr, daddr;
        std::uint16_t dport;
        bool operator<(const CountKey& o) const {
            return std::tie(family, saddr, daddr, dport) < std::tie(o.family, o.saddr, o.daddr, o.dport);
        }
    };

    const Options& o_;
    std::uint64_t start_mono_ns_;
    std::int64_t realtime_offset_ns_;
    std::uint64_t events_ = 0;
    std::string line_;
    std::map<CountKey, std::uint64_t> counts_;
};

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) { stop_requested = 1; }

/// Why strategy `a` failed: libbpf's words, unless the kernel refuses the whole program
/// type, which says it better (libbpf blames the memlock limit for any EPERM).
std::string why_unusable(Attach a, const bpf::Error& e) {
    if (a == Attach::Fentry && e.error_number() == EPERM) {
        try {
            if (!bpf::prog_type_supported(BPF_PROG_TYPE_TRACING))
                return "this kernel refuses fentry/fexit programs (BPF trampolines unavailable)";
        } catch (const bpf::Error&) {
            // The probe itself failed: keep the load's own error.
        }
    }
    return e.what();
}

int run(const Options& o) {
    bpf::set_log_level(o.verbose ? bpf::LogLevel::Warn : bpf::LogLevel::Off);
    const bool ringbuf = !o.perf && bpf::map_type_supported(BPF_MAP_TYPE_RINGBUF);

    std::optional<bpf::Module> mod;
    Attach chosen = Attach::Auto;
    if (o.attach == Attach::Auto) {
        std::string reasons;
        for (Attach a : {Attach::Fentry, Attach::Kprobe, Attach::Tracepoint}) {
            try {
                mod.emplace(open_tracer(o, a, ringbuf));
                chosen = a;
                break;
            } catch (const bpf::Error& e) {
                const std::string why = why_unusable(a, e);
                if (o.verbose) message(std::string(name_of(a)) + ": not usable: " + why);
                reasons += (reasons.empty() ? "" : "; ") + std::string(name_of(a)) + ": " + why;
            }
        }
        if (!mod) {
            message("no usable attach strategy in this kernel: " + reasons);
            return 1;
        }
    } else {
        try {
            mod.emplace(open_tracer(o, o.attach, ringbuf));
            chosen = o.attach;
        } catch (const bpf::Error& e) {
            message("--attach " + std::string(name_of(o.attach)) + ": " + why_unusable(o.attach, e));
            return 1;
        }
    }
    if (o.verbose)
        message("attached: " + std::string(attach_points[static_cast<std::size_t>(chosen)]) + " (" +
                (o.attach != Attach::Auto       ? "forced by --attach"
                 : chosen == Attach::Fentry ? "the kernel supports fentry"
                 : chosen == Attach::Kprobe ? "fentry is not usable, kprobes are"
                                            : "neither fentry nor kprobes are usable") +
                ")");

    Printer printer(o);
    bpf::RingBuffer* rb = nullptr;
    bpf::PerfBuffer* pb = nullptr;
    try {
        if (ringbuf)
            rb = &mod->ring_buffer("events", [&](const Event& e) { printer(e); });
        else
            pb = &mod->perf_buffer("events", [&](const Event& e) { printer(e); }, nullptr, 64);
    } catch (const bpf::Error& e) {
        message(e.what());
        return 1;
    }
    if (o.verbose)
        message(std::string("events: ") + (ringbuf  ? "ring buffer"
                                           : o.perf ? "perf buffer (--perf)"
                                                    : "perf buffer (no ring buffer in this kernel)"));

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    const std::uint64_t deadline =
        o.duration > 0 ? printer.start_mono_ns() + static_cast<std::uint64_t>(o.duration * 1e9) : 0;
    if (o.verbose) message("tracing TCP connects; Ctrl-C to end");

    int status = 0;
    try {
        while (stop_requested == 0) {
            std::chrono::milliseconds timeout(100);
            if (deadline != 0) {
                const std::uint64_t now = now_ns(CLOCK_MONOTONIC);
                if (now >= deadline) break;
                if ((deadline - now) / 1'000'000 < 100)
                    timeout = std::chrono::milliseconds((deadline - now) / 1'000'000 + 1);
            }
            if ((rb != nullptr ? rb->poll(timeout) : pb->poll(timeout)) > 0) std::fflush(stdout);
        }
        // Whatever is already in the buffer was connected while tracing: report it too.
        rb != nullptr ? rb->consume() : pb->consume();
    } catch (const bpf::Error& e) {
        message(std::string("polling the events: ") + e.what());
        status = 1;
    }
    const std::uint64_t lost = (pb != nullptr ? pb->lost() : 0) + mod->global<std::uint64_t>("lost_events");
    if (o.count) printer.print_counts();
    std::fflush(stdout);
    std::fprintf(stderr, "tcpconnect: %llu events, %llu lost\n", static_cast<unsigned long long>(printer.events()),
                 static_cast<unsigned long long>(lost));
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<Options> options;
    try {
        options = parse_options(argc, argv);
    } catch (const UsageError& e) {
        message(e.text);
        return 2;
    }
    if (!options) return 0;
    if (!privileged()) {
        message("must run as root (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
        return 1;
    }
    try {
        return run(*options);
    } catch (const std::exception& e) {
        message(e.what());
        return 1;
    }
}
