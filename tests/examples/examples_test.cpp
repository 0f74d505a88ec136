// The examples driven from C++ with real events, so they also run in the qemu guest of the
// kernel matrix (static binaries only, no python or iproute2 there): a traced program, a
// busy child process, raw frames over a veth pair in a private network namespace. The
// python tests next to this file cover the same tools with full network round trips.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "../parity/net_util.hpp"
#include "harness.hpp"

namespace {

/// The path of an example or target binary, given to the test in its environment.
std::string tool(const char* var) {
    const char* p = std::getenv(var);
    return p != nullptr ? p : "";
}

/// A child process with its stdout and stderr (and optionally stdin) on pipes.
class Process {
public:
    explicit Process(const std::vector<std::string>& argv, bool with_stdin = false) {
        int out[2], err[2], in[2] = {-1, -1};
        REQUIRE(pipe2(out, O_CLOEXEC) == 0);
        REQUIRE(pipe2(err, O_CLOEXEC) == 0);
        if (with_stdin) REQUIRE(pipe2(in, O_CLOEXEC) == 0);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            dup2(out[1], 1);
            dup2(err[1], 2);
            if (with_stdin) dup2(in[0], 0);
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
        close(out[1]);
        close(err[1]);
        out_ = out[0];
        err_ = err[0];
        if (with_stdin) {
            close(in[0]);
            in_ = in[1];
        }
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        for (int fd : {out_, err_, in_})
            if (fd >= 0) close(fd);
    }

    [[nodiscard]] pid_t pid() const { return pid_; }

    /// Reads stderr until a line contains `marker`; false if the process ends first or
    /// `timeout` passes.
    bool wait_for(const std::string& marker, std::chrono::seconds timeout = std::chrono::seconds(60)) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            if (err_text_.find(marker) != std::string::npos) return true;
            if (!pump(200)) return err_text_.find(marker) != std::string::npos;
        }
        return false;
    }

    /// Writes a line to the child's stdin.
    void send_line(const std::string& line) {
        const std::string text = line + "\n";
        REQUIRE(write(in_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }

    /// Ends the child (SIGINT unless `interrupt` is false), collects its output; returns
    /// its exit status (-1 for a signal).
    int finish(bool interrupt = true) {
        if (interrupt) kill(pid_, SIGINT);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (pump(1000)) {
            if (std::chrono::steady_clock::now() > deadline) kill(pid_, SIGKILL);  // hung: fail, not block
        }
        int status = 0;
        waitpid(pid_, &status, 0);
        exited_ = true;
        INFO("stdout:\n" << out_text_ << "stderr:\n" << err_text_);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    [[nodiscard]] const std::string& out() const { return out_text_; }
    [[nodiscard]] const std::string& err() const { return err_text_; }

private:
    // Moves what is readable into the buffers; false once both pipes reached EOF.
    bool pump(int timeout_ms) {
        pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
        if (out_ < 0 && err_ < 0) return false;
        if (poll(fds, 2, timeout_ms) < 0) return errno == EINTR;
        char buf[4096];
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? out_text_ : err_text_).append(buf, static_cast<std::size_t>(n));
            } else {
                close(fds[i].fd);
                (i == 0 ? out_ : err_) = -1;
            }
        }
        return out_ >= 0 || err_ >= 0;
    }

    pid_t pid_ = -1;
    int out_ = -1, err_ = -1, in_ = -1;
    bool exited_ = false;
    std::string out_text_, err_text_;
};

/// Skips unless root and the binaries named by `vars` were given.
bool prerequisites(std::initializer_list<const char*> vars) {
    if (geteuid() != 0) {
        testing::skip("needs root (loads BPF programs)");
        return false;
    }
    for (const char* v : vars) {
        if (tool(v).empty()) {
            testing::skip(std::string("the example binaries are not built (") + v + " is not set)");
            return false;
        }
    }
    return true;
}

// Output parsing by hand: std::regex trips GCC 12's -Wmaybe-uninitialized under the
// sanitizers, and the formats are simple.
constexpr std::uint64_t none = UINT64_MAX;

/// The number right after the first `key` in `text`, or `none`.
std::uint64_t number_after(const std::string& text, const std::string& key) {
    const auto at = text.find(key);
    if (at == std::string::npos) return none;
    const char* p = text.c_str() + at + key.size();
    char* end = nullptr;
    const auto v = std::strtoull(p, &end, 10);
    return end == p ? none : v;
}

/// The number right before the first `key` in `text`, or `none`.
std::uint64_t number_before(const std::string& text, const std::string& key) {
    auto at = text.find(key);
    if (at == std::string::npos) return none;
    std::size_t begin = at;
    while (begin > 0 && text[begin - 1] >= '0' && text[begin - 1] <= '9') --begin;
    return begin == at ? none : std::stoull(text.substr(begin, at - begin));
}

/// The whitespace-separated words of each line of `text`.
std::vector<std::vector<std::string>> rows(const std::string& text) {
    std::vector<std::vector<std::string>> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        out.emplace_back();
        for (std::string w; words >> w;) out.back().push_back(w);
    }
    return out;
}

}  // namespace

TEST_CASE("uprobe_latency counts every call of the traced process and times it") {
    if (!prerequisites({"EXAMPLE_UPROBE_LATENCY", "EXAMPLE_LATENCY_TARGET"})) return;
    const std::string target_exe = tool("EXAMPLE_LATENCY_TARGET");
    Process target({target_exe, "20", "3"}, true);
    Process latency({tool("EXAMPLE_UPROBE_LATENCY"), "-p", std::to_string(target.pid()), target_exe, "work_ms"});
    REQUIRE(latency.wait_for("Ctrl-C to end"));

    Process other({target_exe, "5", "1"}, true);  // same binary, another process: filtered out
    other.send_line("go");
    CHECK(other.finish(false) == 0);
    target.send_line("go");
    CHECK(target.finish(false) == 0);

    REQUIRE(latency.finish() == 0);
    CHECK(number_after(latency.out(), "work_ms calls=") == 20);
    const auto avg_us = number_after(latency.out(), "avg_us=");
    CHECK(avg_us >= 3000);
    CHECK(avg_us < 60000 * testing::time_scale());  // microseconds, not a larger unit
    // The histogram holds every call, none in a bucket below the 3 ms sleep.
    std::uint64_t in_histogram = 0, too_fast = 0;
    for (const auto& w : rows(latency.out())) {  // "LOW -> HIGH : COUNT"
        if (w.size() != 5 || w[1] != "->" || w[3] != ":") continue;
        const auto n = std::stoull(w[4]);
        in_histogram += n;
        if (std::stoull(w[2]) < 3000) too_fast += n;
    }
    CHECK(in_histogram == 20);
    CHECK(too_fast == 0);
}

TEST_CASE("map_iter sees a busy process's getppid calls, both ways, and empties the map") {
    if (!prerequisites({"EXAMPLE_MAP_ITER"})) return;
    const pid_t busy = fork();
    REQUIRE(busy >= 0);
    if (busy == 0) {
        // Busy, with a breather every 50 calls: flat out, the child's updates and the
        // tool's batch reads of the same hash buckets kept both CPUs of the emulated 6.1
        // guest inside the kernel for minutes (soft lockups, seen twice).
        for (;;) {
            for (int i = 0; i < 50; ++i) syscall(SYS_getppid);
            usleep(1000);
        }
    }
    Process iter({tool("EXAMPLE_MAP_ITER"), "-d", "1.5", "-n", "50", "-p", std::to_string(busy)});
    const int status = iter.finish(false);
    kill(busy, SIGKILL);
    waitpid(busy, nullptr, 0);
    REQUIRE(status == 0);

    const auto batch = number_before(iter.out(), " entries read in a batch");
    CHECK(batch > 0);
    CHECK(batch != none);
    CHECK(number_before(iter.out(), " walked key by key") == batch);
    std::uint64_t calls = none;  // the row "PID COMM SYSCALL COUNT" of the busy child's getppid
    for (const auto& w : rows(iter.out()))
        if (w.size() == 4 && w[0] == std::to_string(busy) && w[2] == "getppid") calls = std::stoull(w[3]);
    CHECK(calls != none);
    CHECK(calls > 1000 / testing::time_scale());  // a busy process: many calls in 1.5 s
    CHECK(number_after(iter.out(), "entries; ") == 0);
}

TEST_CASE("usdt reports the probe's hits with both arguments, in order") {
    if (!prerequisites({"EXAMPLE_USDT", "EXAMPLE_USDT_TARGET"})) return;
    const std::string target_exe = tool("EXAMPLE_USDT_TARGET");
    Process target({target_exe, "20"}, true);
    Process usdt({tool("EXAMPLE_USDT"), "-p", std::to_string(target.pid()), "-n", "5", target_exe, "libbpfcpp_example",
                  "tick"});
    REQUIRE(usdt.wait_for("Ctrl-C to end"));
    target.send_line("go");
    CHECK(target.finish(false) == 0);
    REQUIRE(usdt.finish(false) == 0);
    std::string want;
    for (int i = 1; i <= 5; ++i)
        want += "pid=" + std::to_string(target.pid()) + " tid=" + std::to_string(target.pid()) +
                " arg0=" + std::to_string(i) + " arg1=" + std::to_string(i * i) + "\n";
    std::string got;
    std::istringstream lines(usdt.out());
    for (std::string line; std::getline(lines, line) && got.size() < want.size();) {
        const auto at = line.find("pid=");
        if (at != std::string::npos) got += line.substr(at) + "\n";
    }
    CHECK(got == want);
}

TEST_CASE("xdp_counter counts the UDP frames arriving on a veth in a private namespace") {
    if (!prerequisites({"EXAMPLE_XDP_COUNTER"})) return;
    testing::NetnsScope netns;
    testing::create_veth("exa0", "exb0");
    Process xdp({tool("EXAMPLE_XDP_COUNTER"), "-i", "exb0"});
    REQUIRE(xdp.wait_for("Ctrl-C to end"));
    testing::ArrivingFrames arrived("exb0");
    testing::send_frame("exa0", testing::udp_frame(9000, std::string(32, 'x')), 10);
    CHECK(arrived.wait_udp(9000, 10) == 10);  // past XDP, so counted (veth delivers through NAPI, later)
    REQUIRE(xdp.finish() == 0);
    std::uint64_t packets = none, bytes = none;  // the row "udp PACKETS BYTES"
    for (const auto& w : rows(xdp.out()))
        if (w.size() == 3 && w[0] == "udp") packets = std::stoull(w[1]), bytes = std::stoull(w[2]);
    CHECK(packets == 10);
    CHECK(bytes == 10 * (14 + 20 + 8 + 32));
}

TEST_CASE("tc_filter drops the UDP frames to its port and passes the others") {
    if (!prerequisites({"EXAMPLE_TC_FILTER"})) return;
    testing::NetnsScope netns;
    testing::create_veth("exa1", "exb1");
    Process tc({tool("EXAMPLE_TC_FILTER"), "-i", "exb1", "-p", "9001"});
    REQUIRE(tc.wait_for("Ctrl-C to end"));
    testing::ArrivingFrames arrived("exb1");
    {
        // From one CPU, the frames are filtered in the order sent: once the last open one
        // has arrived past the filter, the blocked ones before it have been dropped.
        testing::OneCpuScope one_cpu;
        testing::send_frame("exa1", testing::udp_frame(9001, "blocked"), 10);
        testing::send_frame("exa1", testing::udp_frame(9000, "open"), 10);
    }
    CHECK(arrived.wait_udp(9000, 10) == 10);
    REQUIRE(tc.finish() == 0);
    CHECK(arrived.wait_udp(9001, 0) == 0);  // none passed the filter
    CHECK(number_after(tc.out(), "dropped=") == 10);
    const auto passed = number_after(tc.out(), "passed=");
    CHECK(passed >= 10);
    CHECK(passed != none);
}
