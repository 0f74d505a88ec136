// Utilities of the test harness that need the OS: paths, offsets, bpffs, child processes.
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"

namespace testing {

double time_scale() {
    static const double scale = [] {
        const char* v = std::getenv("LIBBPFCPP_TEST_TIME_SCALE");
        if (v == nullptr || *v == '\0') return 1.0;
        char* end = nullptr;
        const double s = std::strtod(v, &end);
        if (end == v || *end != '\0' || !std::isfinite(s)) {
            std::fprintf(stderr, "LIBBPFCPP_TEST_TIME_SCALE='%s' is not a number; using 1\n", v);
            return 1.0;
        }
        return std::max(s, 1.0);
    }();
    return scale;
}

StderrCapture::StderrCapture() {
    std::fflush(stderr);
    char path[] = "/tmp/libbpfcpp-stderr-XXXXXX";
    file_ = mkstemp(path);
    if (file_ < 0) throw std::runtime_error("mkstemp failed");
    unlink(path);
    saved_ = dup(STDERR_FILENO);
    if (saved_ < 0 || dup2(file_, STDERR_FILENO) < 0) throw std::runtime_error("redirecting stderr failed");
}

StderrCapture::~StderrCapture() {
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    close(file_);
}

std::string StderrCapture::text() const {
    std::fflush(stderr);
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t at = 0;
    while ((n = pread(file_, buf, sizeof buf, at)) > 0) {
        out.append(buf, static_cast<size_t>(n));
        at += n;
    }
    return out;
}

std::string self_exe() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) throw std::runtime_error("readlink /proc/self/exe failed");
    return std::string(buf, static_cast<size_t>(n));
}

std::uint64_t file_offset_of(const void* addr) {
    const auto a = reinterpret_cast<std::uintptr_t>(addr);
    FILE* f = std::fopen("/proc/self/maps", "r");
    if (f == nullptr) throw std::runtime_error("cannot open /proc/self/maps");
    char line[1024];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        std::uintptr_t start = 0, end = 0;
        std::uint64_t off = 0;
        char perms[8] = {};
        if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNx64, &start, &end, perms, &off) != 4) continue;
        if (a >= start && a < end && perms[2] == 'x') {
            std::fclose(f);
            return a - start + off;
        }
    }
    std::fclose(f);
    throw std::runtime_error("address not in an executable mapping");
}

TempBpffs::TempBpffs() {
    char tmpl[] = "/tmp/libbpfcpp-bpffs-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    if (mount("bpf", path_.c_str(), "bpf", 0, nullptr) != 0) {
        int err = errno;
        rmdir(path_.c_str());
        throw std::runtime_error(std::string("mounting bpffs failed: ") + std::strerror(err));
    }
}

TempBpffs::~TempBpffs() {
    umount2(path_.c_str(), MNT_DETACH);
    rmdir(path_.c_str());
}

std::string read_to_end(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
}

namespace {

// A one-byte message with room for one descriptor (SCM_RIGHTS), for send_fd/receive_fd.
struct FdMessage {
    char byte = 0;
    iovec io{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    FdMessage() {
        msg.msg_iov = &io;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    FdMessage(const FdMessage&) = delete;
    FdMessage& operator=(const FdMessage&) = delete;
};

}  // namespace

bool send_fd(int sock, int fd) {
    FdMessage m;
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &m.msg, MSG_NOSIGNAL) == 1;
}

int receive_fd(int sock) {
    FdMessage m;
    if (recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC) <= 0) return -1;
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    if (c == nullptr || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

namespace {

std::string write_proc_file(const char* path, const std::string& text) {
    const int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return std::string("opening ") + path + ": " + std::strerror(errno);
    const ssize_t n = write(fd, text.data(), text.size());
    const int err = errno;
    close(fd);
    if (n != static_cast<ssize_t>(text.size())) return std::string("writing ") + path + ": " + std::strerror(err);
    return {};
}

}  // namespace

std::string enter_user_namespace() {
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return std::string("unshare(CLONE_NEWUSER | CLONE_NEWNS): ") + std::strerror(errno) + " (errno " +
               std::to_string(errno) + ")";
    std::string why = write_proc_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
    if (why.empty()) why = write_proc_file("/proc/self/setgroups", "deny");
    if (why.empty()) why = write_proc_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    return why;
}

std::string in_child(void (*fn)(std::string& out)) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        close(fds[0]);
        std::string out;
        try {
            fn(out);
        } catch (const std::exception& e) {
            out = std::string("unexpected exception: ") + e.what();
        }
        const char* p = out.data();
        size_t left = out.size();
        while (left > 0) {
            ssize_t w = write(fds[1], p, left);
            if (w <= 0) break;
            p += w;
            left -= static_cast<size_t>(w);
        }
        _exit(0);
    }
    close(fds[1]);
    std::string result = read_to_end(fds[0]);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return result;
}

namespace {

// rtnetlink attributes of the netkit driver (linux/if_link.h of 6.7; not in older headers).
constexpr unsigned short netkit_peer_info = 1;
constexpr unsigned short netkit_mode = 5;
constexpr std::uint32_t netkit_l2 = 0;

int set_up(const std::string& name) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    int err = 0;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) err = errno;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (err == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) != 0) err = errno;
    close(s);
    return err;
}

}  // namespace

std::size_t nl_attr(std::vector<char>& buf, unsigned short type, const void* data, std::size_t len) {
    const std::size_t off = buf.size();
    rtattr rta{};
    rta.rta_type = type;
    rta.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    buf.resize(off + RTA_SPACE(len), 0);
    std::memcpy(buf.data() + off, &rta, sizeof rta);
    if (len != 0) std::memcpy(buf.data() + off + RTA_LENGTH(0), data, len);
    return off;
}

void nl_close(std::vector<char>& buf, std::size_t off) {
    const auto len = static_cast<unsigned short>(buf.size() - off);
    std::memcpy(buf.data() + off, &len, sizeof len);  // rta_len is the first member
}

void nl_append(std::vector<char>& buf, const void* p, std::size_t len) {
    const std::size_t off = buf.size();
    buf.resize(off + NLMSG_ALIGN(len), 0);
    std::memcpy(buf.data() + off, p, len);
}

int create_netkit(const std::string& primary, const std::string& peer) {
    int sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sk < 0) return errno;
    std::vector<char> msg(NLMSG_HDRLEN, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    nl_append(msg, &ifi, sizeof ifi);
    nl_attr(msg, IFLA_IFNAME, primary.c_str(), primary.size() + 1);
    const std::size_t linkinfo = nl_attr(msg, IFLA_LINKINFO, nullptr, 0);
    nl_attr(msg, IFLA_INFO_KIND, "netkit", 7);
    const std::size_t data = nl_attr(msg, IFLA_INFO_DATA, nullptr, 0);
    const std::size_t peer_info = nl_attr(msg, netkit_peer_info, nullptr, 0);
    nl_append(msg, &ifi, sizeof ifi);
    nl_attr(msg, IFLA_IFNAME, peer.c_str(), peer.size() + 1);
    nl_close(msg, peer_info);
    nl_attr(msg, netkit_mode, &netkit_l2, sizeof netkit_l2);
    nl_close(msg, data);
    nl_close(msg, linkinfo);
    nlmsghdr hdr{};
    hdr.nlmsg_len = static_cast<unsigned>(msg.size());
    hdr.nlmsg_type = RTM_NEWLINK;
    hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
    hdr.nlmsg_seq = 1;
    std::memcpy(msg.data(), &hdr, sizeof hdr);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    int result = 0;
    if (sendto(sk, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
        result = errno;
    } else {
        char reply[4096];
        const ssize_t n = recv(sk, reply, sizeof reply, 0);
        if (n < static_cast<ssize_t>(NLMSG_HDRLEN + sizeof(nlmsgerr))) {
            result = n < 0 ? errno : EPROTO;
        } else {
            nlmsgerr err;
            std::memcpy(&err, reply + NLMSG_HDRLEN, sizeof err);
            result = -err.error;
        }
    }
    close(sk);
    if (result == 0) result = set_up(primary);
    if (result == 0) result = set_up(peer);
    return result;
}

}  // namespace testing
