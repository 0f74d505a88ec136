// BPF tokens (kernel >= 6.9, libbpf >= 1.4). A forked child enters a user and a mount
// namespace of its own (root there, no capabilities in the initial one) and opens a
// bpffs context; this process, privileged, sets the delegation on it and creates the
// mount; the child mounts it and loads, runs and reads an XDP program through a token.
// Without a token, or with a delegation that lacks what the object needs, the load is
// refused naming what to delegate. With libbpf < 1.4 the token options fail naming the
// release they need.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "features.hpp"
#include "harness.hpp"
#include "lacks.hpp"
#include "parity_token.bpf.hpp"

namespace {

using Catch::Matchers::Contains;

/// What the child found, by name (an error's "errno|what()", a value, ...).
using Report = std::map<std::string, std::string>;
using Body = void (*)(const std::string& dir, Report& out);

/// What the object needs: its map and program, libbpf's first check (a socket filter,
/// attach type 0) and BTF.
bpf::TokenDelegation enough() {
    bpf::TokenDelegation d;
    d.cmds = "map_create:prog_load:btf_load";
    d.maps = "array";
    d.progs = "xdp:socket_filter";
    d.attachs = "xdp:cgroup_inet_ingress";
    return d;
}

struct Scenario {
    std::optional<bpf::TokenDelegation> delegation;  // nullopt: no bpffs is delegated
    bool context_from_outside = false;  // the bpffs context is opened by the privileged side
    bool child_delegates = false;       // the child sets the delegation itself
    Body body = nullptr;
};

std::string failure(const bpf::Error& e) { return std::to_string(e.error_number()) + "|" + e.what(); }

void put(int fd, const std::string& s) {
    const char* p = s.data();
    std::size_t left = s.size();
    while (left > 0) {
        const ssize_t w = write(fd, p, left);
        if (w <= 0) return;
        p += w;
        left -= static_cast<std::size_t>(w);
    }
}

// key \x1f value \x1e: values are error messages, with newlines of their own.
std::string encode(const Report& r) {
    std::string out;
    for (const auto& [k, v] : r) out += k + '\x1f' + v + '\x1e';
    return out;
}

Report decode(const std::string& s) {
    Report r;
    std::size_t at = 0;
    while (at < s.size()) {
        const auto sep = s.find('\x1f', at), end = s.find('\x1e', at);
        if (sep == std::string::npos || end == std::string::npos || sep > end) break;
        r[s.substr(at, sep - at)] = s.substr(sep + 1, end - sep - 1);
        at = end + 1;
    }
    return r;
}

void child(const Scenario& sc, const std::string& dir, int sock, int result) {
    Report r;
    try {
        if (std::string why = testing::enter_user_namespace(); !why.empty()) {
            r["skip"] = why;
        } else if (sc.delegation) {
            bpf::OwnedFd ctx = bpf::bpffs_context();
            if (sc.child_delegates) {
                try {
                    bpf::OwnedFd mnt = bpf::delegate_bpffs(ctx.get(), *sc.delegation);
                    bpf::mount_bpffs(mnt.get(), dir);
                    r["child_delegates"] = "mounted";
                } catch (const bpf::Error& e) {
                    r["child_delegates"] = failure(e);
                }
            } else {
                testing::send_fd(sock, ctx.get());
                const bpf::OwnedFd mnt(testing::receive_fd(sock));
                if (!mnt) throw std::runtime_error("the privileged side sent no mount");
                bpf::mount_bpffs(mnt.get(), dir);
            }
        }
        if (r.count("skip") == 0 && sc.body != nullptr) sc.body(dir, r);
    } catch (const bpf::Error& e) {
        r["unexpected"] = failure(e);
    } catch (const std::exception& e) {
        r["unexpected"] = e.what();
    }
    put(result, encode(r));
}

/// Runs `sc` in a child in a user namespace of its own; its report, plus "parent" when
/// the privileged side failed.
Report run(const Scenario& sc) {
    char tmpl[] = "/tmp/libbpfcpp-token-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    const std::string dir = tmpl;
    int sock[2], result[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0 || pipe2(result, O_CLOEXEC) != 0)
        throw std::runtime_error("socketpair/pipe failed");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        close(sock[0]);
        close(result[0]);
        child(sc, dir, sock[1], result[1]);
        _exit(0);
    }
    close(sock[1]);
    close(result[1]);
    Report parent;
    if (sc.delegation && !sc.child_delegates) {
        bpf::OwnedFd ctx(testing::receive_fd(sock[0]));
        try {
            if (ctx) {
                if (sc.context_from_outside) ctx = bpf::bpffs_context();
                bpf::OwnedFd mnt = bpf::delegate_bpffs(ctx.get(), *sc.delegation);
                testing::send_fd(sock[0], mnt.get());
            }
        } catch (const bpf::Error& e) {
            parent["parent"] = failure(e);
        }
    }
    close(sock[0]);
    const std::string text = testing::read_to_end(result[0]);
    close(result[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    rmdir(dir.c_str());
    Report r = decode(text);
    r.insert(parent.begin(), parent.end());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) r["unexpected"] += " (the child did not exit cleanly)";
    return r;
}

std::string load(const std::optional<std::string>& token_path) {
    try {
        bpf::OpenOptions o;
        o.bpf_token_path = token_path;
        auto mod = bpf::Module::open_memory(bpf_objects::parity_token(), o);
        mod.load();
        return "loaded";
    } catch (const bpf::Error& e) {
        return failure(e);
    }
}

bool unprivileged_bpf_allowed() {
    std::ifstream f("/proc/sys/kernel/unprivileged_bpf_disabled");
    int v = 1;
    return (f >> v) && v == 0;
}

// ---- the children's work --------------------------------------------------------------

void without_token(const std::string&, Report& r) {
    r["default"] = load(std::nullopt);
    r["empty"] = load(std::string());
    r["unprivileged_bpf_allowed"] = unprivileged_bpf_allowed() ? "yes" : "no";
    try {
        bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "tok_plain", 4, 8, 1);
        r["map"] = "created";
    } catch (const bpf::Error& e) {
        r["map"] = failure(e);
    }
}

// A frame of `size` bytes run through the program; what it wrote to its map.
std::uint64_t run_frame(bpf::Module& mod, std::size_t size, std::uint32_t& retval) {
    std::array<std::byte, 128> frame{};
    bpf::TestRunOptions o;
    o.data_in = std::span<const std::byte>(frame).first(size);
    const auto res = mod.program("token_xdp").test_run(o);
    retval = res.retval;
    return mod.map("token_seen").lookup<std::uint32_t, std::uint64_t>(0).value_or(0);
}

void with_token(const std::string& dir, Report& r) {
    {
        bpf::OpenOptions o;
        o.bpf_token_path = dir;
        auto mod = bpf::Module::open_memory(bpf_objects::parity_token(), o);
        mod.load();
        r["token_fd"] = mod.token_fd() >= 0 ? "set" : "none";
        std::uint32_t retval = 0;
        r["seen_60"] = std::to_string(run_frame(mod, 60, retval));
        r["retval"] = std::to_string(retval);
        r["seen_90"] = std::to_string(run_frame(mod, 90, retval));
    }
    {
        // libbpf's own default: the path in LIBBPF_BPF_TOKEN_PATH.
        setenv("LIBBPF_BPF_TOKEN_PATH", dir.c_str(), 1);
        auto mod = bpf::Module::open_memory(bpf_objects::parity_token());
        mod.load();
        unsetenv("LIBBPF_BPF_TOKEN_PATH");
        std::uint32_t retval = 0;
        r["env_seen_70"] = std::to_string(run_frame(mod, 70, retval));
    }
    {
        const bpf::Token token = bpf::Token::create(dir);
        bpf::MapCreateOptions mo;
        mo.token_fd = token.fd();
        auto m = bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "tok_cfg", 4, 8, 1, mo);
        m.update(std::uint32_t{0}, std::uint64_t{77});
        r["standalone"] = std::to_string(m.lookup<std::uint32_t, std::uint64_t>(0).value_or(0));
        try {
            bpf::MapCreateOptions hash = mo;
            bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "tok_hash", 4, 8, 1, hash);
            r["hash"] = "created";
        } catch (const bpf::Error& e) {
            r["hash"] = failure(e);
        }
    }
    // A real hook: XDP on the loopback device of a network namespace of the child's own.
    if (unshare(CLONE_NEWNET) != 0) {
        r["xdp"] = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
        return;
    }
    const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) r["xdp"] = std::string("bringing lo up: ") + std::strerror(errno);
    bpf::OpenOptions o;
    o.bpf_token_path = dir;
    auto mod = bpf::Module::open_memory(bpf_objects::parity_token(), o);
    mod.load();
    mod.program("token_xdp").attach_xdp("lo");
    // A listener, so that the datagram is delivered (XDP_PASS) and no ICMP error follows it.
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof to;
    bind(rx, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    getsockname(rx, reinterpret_cast<sockaddr*>(&to), &len);
    const char payload[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    sendto(s, payload, sizeof payload, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    timeval limit{static_cast<time_t>(10 * testing::time_scale()), 0};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    char got[64] = {};
    const ssize_t n = recv(rx, got, sizeof got, 0);
    r["xdp_received"] = std::to_string(n);
    close(s);
    close(rx);
    r["xdp_seen"] = std::to_string(mod.map("token_seen").lookup<std::uint32_t, std::uint64_t>(0).value_or(0));
}

void refused(const std::string& dir, Report& r) {
    r["load"] = load(dir);
    try {
        bpf::Token::create(dir);
        r["token"] = "created";
    } catch (const bpf::Error& e) {
        r["token"] = failure(e);
    }
}

}  // namespace

TEST_CASE("BPF tokens: a path that is no delegating bpffs is named; libbpf < 1.4 names the release") {
    if (!bpf::libbpf_at_least(1, 4)) {
        bpf::OpenOptions o;
        o.bpf_token_path = "/sys/fs/bpf";
        CHECK_THROWS_WITH(bpf::Module::open_memory(bpf_objects::parity_token(), o),
                          Contains("OpenOptions::bpf_token_path (BPF tokens)"));
        CHECK_THROWS_MATCHES(bpf::Module::open_memory(bpf_objects::parity_token(), o), bpf::Error,
                             testing::lacks_libbpf("BPF tokens", "1.4"));
        o.bpf_token_path = "";  // no token: what libbpf before 1.4 does anyway
        CHECK_NOTHROW(bpf::Module::open_memory(bpf_objects::parity_token(), o));
        CHECK_THROWS_MATCHES(bpf::Token::create("/sys/fs/bpf"), bpf::Error, testing::lacks_libbpf("BPF tokens", "1.4"));
        bpf::MapCreateOptions mo;
        mo.token_fd = 0;
        CHECK_THROWS_WITH(bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "tok", 4, 8, 1, mo),
                          Contains("MapCreateOptions::token_fd (BPF tokens)"));
        CHECK_THROWS_MATCHES(bpf::StandaloneMap::create(BPF_MAP_TYPE_ARRAY, "tok", 4, 8, 1, mo), bpf::Error,
                             testing::lacks_libbpf("BPF tokens", "1.4"));
        return;
    }
    CHECK_THROWS_WITH(bpf::Token::create("/tmp"), Contains("'/tmp' is not a BPF filesystem (bpffs)"));
    CHECK_THROWS_WITH(bpf::Token::create("/nonexistent-libbpfcpp"), Contains("no such directory"));
    bpf::OpenOptions o;
    o.bpf_token_path = "/tmp";
    auto mod = bpf::Module::open_memory(bpf_objects::parity_token(), o);
    CHECK_THROWS_WITH(mod.load(), Contains("creating a BPF token from '/tmp': '/tmp' is not a BPF filesystem"));
    // The initial user namespace gets no tokens; a kernel before 6.9 has none at all.
    testing::TempBpffs fs;
    CHECK_THROWS_WITH(bpf::Token::create(fs.path()),
                      Contains("in the initial user namespace, where the kernel makes no BPF tokens") ||
                          Contains("has no BPF tokens (BPF_TOKEN_CREATE needs Linux >= 6.9)"));
    if (testing::feature(testing::Feature::BpfToken).available)
        CHECK_THROWS_WITH(bpf::Token::create(fs.path()), Contains("in the initial user namespace"));
}

TEST_CASE("BPF tokens: in a user namespace without a token, a load is refused with what to delegate") {
    Report r = run({std::nullopt, false, false, without_token});
    if (r.count("skip") != 0) SKIP_TEST("no user namespace: " + r["skip"]);
    INFO(encode(r));
    CHECK(r["unexpected"].empty());
    for (const char* which : {"default", "empty"}) {
        CHECK_THAT(r[which], Contains(std::to_string(EPERM) + "|loading object 'parity_token'"));
        CHECK_THAT(r[which], Contains("this process is in a user namespace, where the kernel grants BPF only through a BPF token"));
        CHECK_THAT(r[which], Contains("delegate_progs"));
        if (!bpf::libbpf_at_least(1, 4)) CHECK_THAT(r[which], Contains("which cannot use BPF tokens"));
    }
    if (bpf::libbpf_at_least(1, 4)) {
        CHECK_THAT(r["empty"], Contains("no BPF token was used (OpenOptions::bpf_token_path or LIBBPF_BPF_TOKEN_PATH is empty)"));
        // /sys/fs/bpf of this mount namespace is the initial namespace's bpffs.
        CHECK_THAT(r["default"], Contains("creating one from '/sys/fs/bpf'"));
    }
    if (r["unprivileged_bpf_allowed"] == "no") {
        CHECK_THAT(r["map"], Contains(std::to_string(EPERM) + "|creating map 'tok_plain'"));
        CHECK_THAT(r["map"], Contains("MapCreateOptions::token_fd"));
    }
}

TEST_CASE("BPF tokens: with a delegated bpffs the object loads, runs and fills its map") {
    if (!bpf::libbpf_at_least(1, 4)) SKIP_TEST("built with libbpf < 1.4, which cannot use BPF tokens");
    REQUIRE_FEATURE(BpfToken);
    Report r = run({enough(), false, false, with_token});
    INFO(encode(r));
    REQUIRE(r["parent"].empty());
    REQUIRE(r["unexpected"].empty());
    CHECK(r["token_fd"] == "set");
    CHECK(r["retval"] == "2");  // XDP_PASS
    CHECK(r["seen_60"] == "1060");
    CHECK(r["seen_90"] == "1090");
    CHECK(r["env_seen_70"] == "1070");
    CHECK(r["standalone"] == "77");
    // A map type the bpffs does not delegate.
    CHECK_THAT(r["hash"], Contains(std::to_string(EPERM) + "|creating map 'tok_hash'"));
    CHECK_THAT(r["hash"], Contains("delegate_maps with hash"));
    // 10 bytes of UDP payload in IPv4 in Ethernet.
    CHECK(r["xdp_received"] == "10");
    CHECK(r["xdp_seen"] == std::to_string(1000 + 14 + 20 + 8 + 10));
}

TEST_CASE("BPF tokens: a delegation without the program type is refused naming the option") {
    if (!bpf::libbpf_at_least(1, 4)) SKIP_TEST("built with libbpf < 1.4, which cannot use BPF tokens");
    REQUIRE_FEATURE(BpfToken);
    bpf::TokenDelegation d = enough();
    d.progs = "socket_filter";
    Report r = run({d, false, false, refused});
    INFO(encode(r));
    REQUIRE(r["parent"].empty());
    CHECK(r["unexpected"].empty());
    CHECK(r["token"] == "created");
    CHECK_THAT(r["load"], Contains(std::to_string(EPERM) + "|loading object 'parity_token'"));
    CHECK_THAT(r["load"], Contains("does not delegate program type 'xdp'"));
    CHECK_THAT(r["load"], Contains("delegate_progs=socket_filter:xdp"));
    CHECK_THAT(r["load"], Contains("CAP_SYS_ADMIN in the initial user namespace"));
}

/// "2" of "2|message", as its errno name where it is one of the expected ones.
std::string errno_of(const std::string& failure) {
    const std::string n = failure.substr(0, failure.find('|'));
    for (auto [value, name] : {std::pair{EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {EINVAL, "EINVAL"}, {EOPNOTSUPP, "EOPNOTSUPP"}})
        if (n == std::to_string(value)) return name;
    return failure == "mounted" ? "accepted" : n;
}

TEST_CASE("BPF tokens: a bpffs that delegates nothing, or that belongs to another namespace, is named") {
    if (!bpf::libbpf_at_least(1, 4)) SKIP_TEST("built with libbpf < 1.4, which cannot use BPF tokens");
    REQUIRE_FEATURE(BpfToken);
    std::string seen;  // what this kernel answered, for the log
    {
        Report r = run({bpf::TokenDelegation{}, false, false, refused});
        INFO(encode(r));
        REQUIRE(r["parent"].empty());
        CHECK(r["unexpected"].empty());
        CHECK_THAT(r["token"], Contains(std::to_string(ENOENT) + "|creating a BPF token from"));
        CHECK_THAT(r["token"], Contains("delegates nothing"));
        CHECK_THAT(r["load"], Contains("delegates nothing"));
        CHECK_THAT(r["load"], Contains("delegate_cmds"));
        seen += "a token from a bpffs delegating nothing: " + errno_of(r["token"]);
    }
    {
        Report r = run({bpf::TokenDelegation::any(), true, false, refused});
        INFO(encode(r));
        REQUIRE(r["parent"].empty());
        CHECK(r["unexpected"].empty());
        CHECK_THAT(r["token"], Contains(std::to_string(EPERM) + "|creating a BPF token from"));
        CHECK_THAT(r["token"], Contains("was not created for this process's user namespace"));
        CHECK_THAT(r["load"], Contains("was not created for this process's user namespace"));
        seen += "; from a bpffs of another namespace: " + errno_of(r["token"]);
    }
    {
        // The unprivileged side cannot delegate to itself: the kernel refuses the options
        // (or, on some kernels, ignores them, and the bpffs then delegates nothing).
        Report r = run({bpf::TokenDelegation::any(), false, true, refused});
        INFO(encode(r));
        CHECK(r["unexpected"].empty());
        if (r["child_delegates"] == "mounted") {
            CHECK_THAT(r["token"], Contains("delegates nothing"));
        } else {
            CHECK_THAT(r["child_delegates"], Contains(std::to_string(EPERM) + "|setting bpffs option 'delegate_cmds=any'"));
            CHECK_THAT(r["child_delegates"], Contains("only a process with CAP_SYS_ADMIN in the initial user namespace"));
        }
        seen += "; delegation options set inside the namespace: " + errno_of(r["child_delegates"]);
    }
    WARN("kernel " << testing::kernel_release_text() << ": " << seen);
}
