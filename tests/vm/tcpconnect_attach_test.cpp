// End-to-end: the tcpconnect tools (C++ and plain libbpf C) with the kprobe and the fentry
// strategy, traced against real loopback connections. Built statically, this runs on the
// 6.1 kernel of the kernel matrix (scripts/vm/), where both strategies work; on a kernel
// without kprobes or without fentry the strategy's cases skip with the reason.
//
// The tools' paths come from the environment (set by meson): LIBBPFCPP_TCPCONNECT (C++)
// and LIBBPFCPP_TCPCONNECT_C.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {

// ------------------------------------------------------------------ the tool's output

/// One JSON object of a flat line (`{"pid": 1, "comm": "x", ...}`): keys to the raw
/// values, strings unquoted. Nested values are not part of the tool's format.
std::optional<std::map<std::string, std::string>> parse_flat_json(const std::string& line) {
    std::map<std::string, std::string> out;
    size_t i = 0;
    auto ws = [&] { while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i; };
    auto str = [&]() -> std::optional<std::string> {
        if (i >= line.size() || line[i] != '"') return std::nullopt;
        std::string s;
        for (++i; i < line.size() && line[i] != '"'; ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) ++i;
            s += line[i];
        }
        if (i >= line.size()) return std::nullopt;
        ++i;
        return s;
    };
    ws();
    if (i >= line.size() || line[i] != '{') return std::nullopt;
    ++i;
    for (;;) {
        ws();
        if (i < line.size() && line[i] == '}') return out;
        auto key = str();
        if (!key) return std::nullopt;
        ws();
        if (i >= line.size() || line[i] != ':') return std::nullopt;
        ++i;
        ws();
        std::string value;
        if (i < line.size() && line[i] == '"') {
            auto s = str();
            if (!s) return std::nullopt;
            value = *s;
        } else {
            while (i < line.size() && line[i] != ',' && line[i] != '}') value += line[i++];
            while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
        }
        out[*key] = value;
        ws();
        if (i < line.size() && line[i] == ',') {
            ++i;
            continue;
        }
        if (i < line.size() && line[i] == '}') return out;
        return std::nullopt;
    }
}

/// A running tracer whose stdout (JSON lines) and stderr are read back by the test.
class Tracer {
public:
    Tracer(const std::string& exe, const std::vector<std::string>& args) {
        int out[2], err[2];
        if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            dup2(out[1], STDOUT_FILENO);
            dup2(err[1], STDERR_FILENO);
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(exe.c_str()));
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            execv(exe.c_str(), argv.data());
            std::fprintf(stderr, "exec %s: %s\n", exe.c_str(), std::strerror(errno));
            _exit(127);
        }
        close(out[1]);
        close(err[1]);
        out_ = out[0];
        err_ = err[0];
    }
    ~Tracer() { stop(); }
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    /// Reads what the tracer wrote within `timeout`; false once it has exited.
    bool pump(std::chrono::milliseconds timeout) {
        pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
        if (poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return running();
        char buf[4096];
        for (int k = 0; k < 2; ++k) {
            if ((fds[k].revents & (POLLIN | POLLHUP)) == 0) continue;
            ssize_t n = read(fds[k].fd, buf, sizeof buf);
            if (n > 0) (k == 0 ? stdout_ : stderr_).append(buf, static_cast<size_t>(n));
        }
        return running();
    }

    /// Events (parsed JSON lines of stdout) so far.
    std::vector<std::map<std::string, std::string>> events() const {
        std::vector<std::map<std::string, std::string>> ev;
        size_t start = 0, nl;
        while ((nl = stdout_.find('\n', start)) != std::string::npos) {
            if (auto obj = parse_flat_json(stdout_.substr(start, nl - start))) ev.push_back(*obj);
            start = nl + 1;
        }
        return ev;
    }

    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            status_ = status;
            return false;
        }
        return true;
    }

    /// SIGINT, as a user's Ctrl-C; the exit status (-1 if it had to be killed).
    int stop() {
        if (pid_ > 0) {
            kill(pid_, SIGINT);
            // Detaching kernel probes waits for RCU grace periods, slow under emulation.
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (running() && std::chrono::steady_clock::now() < deadline) {
                pump(std::chrono::milliseconds(50));
                if (running()) usleep(10000);
            }
            if (pid_ > 0) {
                kill(pid_, SIGKILL);
                waitpid(pid_, &status_, 0);
                pid_ = -1;
                status_ = -1;
            }
        }
        if (out_ >= 0) close(out_);
        if (err_ >= 0) close(err_);
        out_ = err_ = -1;
        return status_;
    }

    const std::string& out() const { return stdout_; }
    const std::string& err() const { return stderr_; }

private:
    pid_t pid_ = -1;
    int status_ = 0;
    int out_ = -1, err_ = -1;
    std::string stdout_, stderr_;
};

// ------------------------------------------------------------------ connections

struct Listener {
    int fd = -1;
    std::uint16_t port = 0;
    int family = AF_INET;

    explicit Listener(int fam) : family(fam) {
        fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw std::runtime_error("socket failed");
        sockaddr_storage ss{};
        socklen_t len = bind_addr(ss, 0);
        if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 64) != 0)
            throw std::runtime_error(std::string("bind/listen on loopback failed: ") + std::strerror(errno));
        getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
    ~Listener() { close(fd); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    socklen_t bind_addr(sockaddr_storage& ss, std::uint16_t p) const {
        if (family == AF_INET) {
            auto* in = reinterpret_cast<sockaddr_in*>(&ss);
            in->sin_family = AF_INET;
            in->sin_port = htons(p);
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return sizeof *in;
        }
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(p);
        in6->sin6_addr = in6addr_loopback;
        return sizeof *in6;
    }

    /// Accepts and closes whatever connected so far.
    void drain() const {
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 0) <= 0) return;
            int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) return;
            close(c);
        }
    }
};

/// Connects to the listener from a child process running as uid/gid; returns the child's
/// pid and the local (source) port of its connection.
std::pair<pid_t, std::uint16_t> connect_as(const Listener& l, uid_t uid, gid_t gid) {
    int ports[2];
    if (pipe(ports) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
        close(ports[0]);
        if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) _exit(2);
        int s = socket(l.family, SOCK_STREAM, 0);
        sockaddr_storage ss{};
        socklen_t len = l.bind_addr(ss, l.port);
        if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&ss), len) != 0) _exit(3);
        sockaddr_storage local{};
        socklen_t llen = sizeof local;
        getsockname(s, reinterpret_cast<sockaddr*>(&local), &llen);
        std::uint16_t sport = ntohs(l.family == AF_INET ? reinterpret_cast<sockaddr_in*>(&local)->sin_port
                                                        : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
        if (write(ports[1], &sport, sizeof sport) != sizeof sport) _exit(4);
        close(s);
        _exit(0);
    }
    close(ports[1]);
    std::uint16_t sport = 0;
    if (read(ports[0], &sport, sizeof sport) != sizeof sport) sport = 0;
    close(ports[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("the connecting child failed (status " + std::to_string(status) + ")");
    return {pid, sport};
}

const std::map<std::string, std::string>* find_event(const std::vector<std::map<std::string, std::string>>& ev,
                                                     const std::string& key, const std::string& value) {
    for (const auto& e : ev) {
        auto it = e.find(key);
        if (it != e.end() && it->second == value) return &e;
    }
    return nullptr;
}

std::string field(const std::map<std::string, std::string>& e, const std::string& key) {
    auto it = e.find(key);
    return it == e.end() ? "<missing " + key + ">" : it->second;
}

/// Runs `tool --attach strategy --json`, connects over IPv4 and IPv6 loopback as an
/// unprivileged uid with a different gid, and checks each reported connection.
void check_strategy(const char* tool_variable, const std::string& strategy) {
    const char* tool = std::getenv(tool_variable);
    INFO("$" << tool_variable << " names the tool under test");
    REQUIRE(tool != nullptr);
    REQUIRE(access(tool, X_OK) == 0);
    if (!testing::require(strategy == "kprobe" ? testing::Feature::Kprobes : testing::Feature::Fentry)) return;
    const std::string exe = tool;
    INFO(exe << " --attach " << strategy << " --json");

    Listener v4(AF_INET);
    Listener v6(AF_INET6);
    Tracer tracer(exe, {"--attach", strategy, "--json"});

    // The tracer is ready when a connection shows up; under emulation start-up takes seconds.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
        auto [pid, sport] = connect_as(v4, 0, 0);
        (void)sport;
        v4.drain();
        for (int i = 0; i < 10 && !ready; ++i) {
            if (!tracer.pump(std::chrono::milliseconds(100))) break;
            ready = find_event(tracer.events(), "pid", std::to_string(pid)) != nullptr;
        }
        if (!tracer.running()) break;
    }
    INFO("tracer stdout:\n" << tracer.out() << "\ntracer stderr:\n" << tracer.err());
    REQUIRE(ready);

    constexpr uid_t uid = 4321;
    constexpr gid_t gid = 8765;
    auto [pid4, sport4] = connect_as(v4, uid, gid);
    auto [pid6, sport6] = connect_as(v6, uid, gid);
    v4.drain();
    v6.drain();
    const std::map<std::string, std::string>* e4 = nullptr;
    const std::map<std::string, std::string>* e6 = nullptr;
    std::vector<std::map<std::string, std::string>> ev;
    // Until both events are in, however much else the tracer reports meanwhile (other
    // processes' connections end pump() early): a deadline, not a number of rounds.
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (e4 == nullptr || e6 == nullptr) {
        const bool running = tracer.pump(std::chrono::milliseconds(50));
        ev = tracer.events();
        e4 = find_event(ev, "pid", std::to_string(pid4));
        e6 = find_event(ev, "pid", std::to_string(pid6));
        if (!running || std::chrono::steady_clock::now() >= deadline) break;
    }
    REQUIRE(e4 != nullptr);
    REQUIRE(e6 != nullptr);

    CHECK(field(*e4, "uid") == std::to_string(uid));
    CHECK(field(*e4, "gid") == std::to_string(gid));
    CHECK(field(*e4, "family") == "4");
    CHECK(field(*e4, "saddr") == "127.0.0.1");
    CHECK(field(*e4, "daddr") == "127.0.0.1");
    CHECK(field(*e4, "dport") == std::to_string(v4.port));
    CHECK(field(*e4, "sport") == std::to_string(sport4));

    CHECK(field(*e6, "uid") == std::to_string(uid));
    CHECK(field(*e6, "gid") == std::to_string(gid));
    CHECK(field(*e6, "family") == "6");
    CHECK(field(*e6, "saddr") == "::1");
    CHECK(field(*e6, "daddr") == "::1");
    CHECK(field(*e6, "dport") == std::to_string(v6.port));
    CHECK(field(*e6, "sport") == std::to_string(sport6));

    auto stopping = std::chrono::steady_clock::now();
    int status = tracer.stop();
    const auto stop_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - stopping).count();
    std::printf("%s --attach %s: %zu events, stopped %lld ms after SIGINT\n", exe.c_str(), strategy.c_str(),
                ev.size(), static_cast<long long>(stop_ms));
    INFO("stopping took " << stop_ms << " ms");
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("tcpconnect (C++) --attach kprobe reports loopback connections") { check_strategy("LIBBPFCPP_TCPCONNECT", "kprobe"); }
TEST_CASE("tcpconnect (C++) --attach fentry reports loopback connections") { check_strategy("LIBBPFCPP_TCPCONNECT", "fentry"); }
TEST_CASE("tcpconnect-c --attach kprobe reports loopback connections") { check_strategy("LIBBPFCPP_TCPCONNECT_C", "kprobe"); }
TEST_CASE("tcpconnect-c --attach fentry reports loopback connections") { check_strategy("LIBBPFCPP_TCPCONNECT_C", "fentry"); }
