// rtnetlink and AF_PACKET plumbing of the parity tests.
#include "net_util.hpp"

#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace testing {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

NetnsScope::NetnsScope() {
    saved_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_ < 0) fail("open /proc/self/ns/net");
    if (unshare(CLONE_NEWNET) != 0) {
        close(saved_);
        fail("unshare(CLONE_NEWNET)");
    }
    link_up("lo");
}

NetnsScope::~NetnsScope() {
    if (setns(saved_, CLONE_NEWNET) != 0) std::perror("setns back to the original network namespace");
    close(saved_);
}

void create_veth(const std::string& a, const std::string& b) {
    int sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sk < 0) fail("netlink socket");
    std::vector<char> msg(NLMSG_HDRLEN, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    nl_append(msg, &ifi, sizeof ifi);
    nl_attr(msg, IFLA_IFNAME, a.c_str(), a.size() + 1);
    std::size_t linkinfo = nl_attr(msg, IFLA_LINKINFO, nullptr, 0);
    nl_attr(msg, IFLA_INFO_KIND, "veth", 5);
    std::size_t data = nl_attr(msg, IFLA_INFO_DATA, nullptr, 0);
    std::size_t peer = nl_attr(msg, VETH_INFO_PEER, nullptr, 0);
    nl_append(msg, &ifi, sizeof ifi);
    nl_attr(msg, IFLA_IFNAME, b.c_str(), b.size() + 1);
    nl_close(msg, peer);
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
    if (sendto(sk, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
        close(sk);
        fail("netlink send RTM_NEWLINK");
    }
    char reply[4096];
    ssize_t n = recv(sk, reply, sizeof reply, 0);
    close(sk);
    if (n < static_cast<ssize_t>(NLMSG_HDRLEN + sizeof(nlmsgerr))) fail("netlink reply");
    nlmsgerr err;
    std::memcpy(&err, reply + NLMSG_HDRLEN, sizeof err);
    if (err.error != 0) {
        errno = -err.error;
        fail("creating veth " + a + "/" + b);
    }
    link_up(a);
    link_up(b);
}

void link_up(const std::string& name) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
        close(s);
        fail("SIOCGIFFLAGS " + name);
    }
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
        close(s);
        fail("SIOCSIFFLAGS " + name);
    }
    close(s);
}

std::vector<std::byte> udp_frame(std::uint16_t dst_port, const std::string& payload) {
    std::vector<std::byte> f(14 + 20 + 8 + payload.size());
    auto* p = reinterpret_cast<unsigned char*>(f.data());
    std::memset(p, 0xff, 6);                           // broadcast destination
    const unsigned char src_mac[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(p + 6, src_mac, 6);
    p[12] = 0x08;                                      // IPv4
    p[13] = 0x00;
    unsigned char* ip = p + 14;
    const auto ip_len = static_cast<std::uint16_t>(20 + 8 + payload.size());
    ip[0] = 0x45;
    ip[2] = static_cast<unsigned char>(ip_len >> 8);
    ip[3] = static_cast<unsigned char>(ip_len & 0xff);
    ip[8] = 64;
    ip[9] = 17;                                        // UDP
    const unsigned char src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const auto csum = static_cast<std::uint16_t>(~sum);
    ip[10] = static_cast<unsigned char>(csum >> 8);
    ip[11] = static_cast<unsigned char>(csum & 0xff);
    unsigned char* udp = ip + 20;
    udp[0] = 0x9c;                                     // source port 40000
    udp[1] = 0x40;
    udp[2] = static_cast<unsigned char>(dst_port >> 8);
    udp[3] = static_cast<unsigned char>(dst_port & 0xff);
    const auto udp_len = static_cast<std::uint16_t>(8 + payload.size());
    udp[4] = static_cast<unsigned char>(udp_len >> 8);
    udp[5] = static_cast<unsigned char>(udp_len & 0xff);
    std::memcpy(udp + 8, payload.data(), payload.size());  // checksum 0: none (IPv4)
    return f;
}

namespace {

void send_frames(const std::string& ifname, const std::vector<std::byte>& frame, int count, bool dropped) {
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s < 0) fail("AF_PACKET socket");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    addr.sll_halen = ETH_ALEN;
    std::memset(addr.sll_addr, 0xff, ETH_ALEN);
    for (int i = 0; i < count; ++i) {
        if (sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 &&
            !(dropped && errno == ENOBUFS)) {
            close(s);
            fail("sending a frame on " + ifname);
        }
    }
    close(s);
}

}  // namespace

void send_frame(const std::string& ifname, const std::vector<std::byte>& frame, int count) {
    send_frames(ifname, frame, count, false);
}

void send_dropped_frame(const std::string& ifname, const std::vector<std::byte>& frame, int count) {
    send_frames(ifname, frame, count, true);
}

void send_udp_loopback(std::uint16_t port, int count) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("UDP socket");
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < count; ++i)
        if (sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
            close(s);
            fail("sendto 127.0.0.1");
        }
    close(s);
}

int receive_datagrams(int fd, int count, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int got = 0;
    while (got < count) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR) fail("poll");
        char buf[2048];
        while (got < count && recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++got;
    }
    return got;
}

OneCpuScope::OneCpuScope() {
    const int cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof saved_, &saved_) != 0) fail("sched_getcpu/sched_getaffinity");
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) fail("sched_setaffinity");
    pinned_ = true;
}

OneCpuScope::~OneCpuScope() {
    if (pinned_ && sched_setaffinity(0, sizeof saved_, &saved_) != 0) std::perror("restoring the CPU affinity");
}

ArrivingFrames::ArrivingFrames(const std::string& ifname) {
    fd_ = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
    if (fd_ < 0) fail("AF_PACKET socket");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_IP);
    addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (addr.sll_ifindex == 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd_);
        fail("binding an AF_PACKET socket to " + ifname);
    }
}

ArrivingFrames::~ArrivingFrames() { close(fd_); }

int ArrivingFrames::wait_udp(std::uint16_t port, int count, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        unsigned char ip[128];  // SOCK_DGRAM: the frame from its IPv4 header on
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        const ssize_t n = recvfrom(fd_, ip, sizeof ip, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (n >= 0) {
            const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
            if (from.sll_pkttype != PACKET_OUTGOING && n >= 20 && (ip[0] >> 4) == 4 && ip[9] == 17 &&
                static_cast<std::size_t>(n) >= ihl + 4)
                ++udp_[static_cast<std::uint16_t>(ip[ihl + 2] << 8 | ip[ihl + 3])];
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail("receiving frames");
        if (udp_[port] >= count) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR) fail("poll");
    }
    return udp_[port];
}

}  // namespace testing
