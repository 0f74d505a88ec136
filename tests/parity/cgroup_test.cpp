// Parity, cgroups: programs attached through a bpf_link and through the legacy
// BPF_PROG_ATTACH to a cgroup v2 directory the test creates, with a forked child moved
// into it doing the hooked thing; detach on request and at module destruction.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "harness.hpp"
#include "net_util.hpp"
#include "parity.h"
#include "parity_net.bpf.hpp"

using Catch::Matchers::Contains;

namespace {

/// A cgroup v2 directory for the test's lifetime, on the host's cgroup2 mount or on a
/// private one when the host has none.
class TempCgroup {
public:
    TempCgroup() {
        std::ifstream mounts("/proc/self/mounts");
        std::string dev, dir, type, rest;
        while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
            if (type == "cgroup2") {
                root_ = dir;
                break;
            }
        if (root_.empty()) {
            char tmpl[] = "/tmp/libbpfcpp-cgroup2-XXXXXX";
            if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
            if (mount("none", tmpl, "cgroup2", 0, nullptr) != 0) {
                rmdir(tmpl);
                throw std::runtime_error(std::string("mounting cgroup2 failed: ") + std::strerror(errno));
            }
            root_ = tmpl;
            own_mount_ = true;
        }
        path_ = root_ + "/libbpfcpp-parity-" + std::to_string(getpid());
        if (mkdir(path_.c_str(), 0755) != 0 && errno != EEXIST)
            throw std::runtime_error("mkdir " + path_ + ": " + std::strerror(errno));
    }
    ~TempCgroup() {
        rmdir(path_.c_str());
        if (own_mount_) {
            umount2(root_.c_str(), MNT_DETACH);
            rmdir(root_.c_str());
        }
    }
    TempCgroup(const TempCgroup&) = delete;
    TempCgroup& operator=(const TempCgroup&) = delete;
    const std::string& path() const { return path_; }

    /// Runs `fn` in a child moved into this cgroup; returns once the child has exited.
    void run_inside(void (*fn)()) const {
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            FILE* f = std::fopen((path_ + "/cgroup.procs").c_str(), "w");
            if (f == nullptr || std::fprintf(f, "0\n") < 0 || std::fclose(f) != 0) _exit(2);
            fn();
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("child in cgroup failed with status " + std::to_string(status));
    }

private:
    std::string root_;
    std::string path_;
    bool own_mount_ = false;
};

void send_three() { testing::send_udp_loopback(PARITY_UDP_PORT, 3); }
void make_two_sockets() {
    for (int i = 0; i < 2; ++i) close(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

std::uint64_t slot(const bpf::Module& mod, std::uint32_t s) {
    return mod.map("net_counts").lookup<std::uint32_t, std::uint64_t>(s).value_or(0);
}

bpf::Module loaded_net() {
    auto mod = bpf::Module::open_memory(bpf_objects::parity_net());
    mod.load();
    return mod;
}

}  // namespace

TEST_CASE("cgroup_skb egress through a bpf_link counts only the cgroup's packets") {
    TempCgroup cg;
    auto mod = loaded_net();
    bpf::Link& l = mod.program("cg_egress").attach_cgroup(cg.path());
    CHECK_THAT(l.description(), Contains(cg.path()));
    cg.run_inside(send_three);
    CHECK(slot(mod, SLOT_CGROUP_EGRESS) == 3);
    testing::send_udp_loopback(PARITY_UDP_PORT, 2);  // this process is not in the cgroup
    CHECK(slot(mod, SLOT_CGROUP_EGRESS) == 3);
    l.destroy();
    cg.run_inside(send_three);
    CHECK(slot(mod, SLOT_CGROUP_EGRESS) == 3);
    CHECK_THROWS_WITH(mod.program("cg_egress").attach_cgroup(cg.path() + "/missing"), Contains("cannot open cgroup"));
}

TEST_CASE("cgroup legacy attach with flags, detach, and detach_cgroup_legacy") {
    TempCgroup cg;
    {
        auto mod = loaded_net();
        auto prog = mod.program("cg_sock_create");
        auto& att = prog.attach_cgroup_legacy(cg.path(), BPF_CGROUP_INET_SOCK_CREATE, bpf::AttachFlag::AllowMulti);
        CHECK(att.attached());
        cg.run_inside(make_two_sockets);
        CHECK(slot(mod, SLOT_CGROUP_SOCK) == 2);
        att.detach();
        cg.run_inside(make_two_sockets);
        CHECK(slot(mod, SLOT_CGROUP_SOCK) == 2);

        prog.attach_cgroup_legacy(cg.path(), BPF_CGROUP_INET_SOCK_CREATE, bpf::AttachFlag::AllowMulti);
        cg.run_inside(make_two_sockets);
        CHECK(slot(mod, SLOT_CGROUP_SOCK) == 4);
        prog.detach_cgroup_legacy(cg.path(), BPF_CGROUP_INET_SOCK_CREATE);
        cg.run_inside(make_two_sockets);
        CHECK(slot(mod, SLOT_CGROUP_SOCK) == 4);
        CHECK_THROWS_AS(prog.detach_cgroup_legacy(cg.path(), BPF_CGROUP_INET_SOCK_CREATE), bpf::Error);

        prog.attach_cgroup_legacy(cg.path(), BPF_CGROUP_INET_SOCK_CREATE);  // undone by ~Module
    }
    auto mod = loaded_net();
    mod.program("cg_sock_create").attach_cgroup(cg.path());
    cg.run_inside(make_two_sockets);
    CHECK(slot(mod, SLOT_CGROUP_SOCK) == 2);  // only the new program: the old one is gone
}
