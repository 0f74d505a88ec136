// Network set-up for the parity tests without iproute2: a private network namespace,
// veth pairs made over rtnetlink, raw frames sent with AF_PACKET.
#pragma once

#include <sched.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace testing {

/// Moves the calling thread into a fresh network namespace for its lifetime; the
/// destructor moves back, and the namespace (with every device made in it) disappears.
class NetnsScope {
public:
    NetnsScope();
    ~NetnsScope();
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

private:
    int saved_ = -1;
};

/// Creates the veth pair `a` <-> `b` in the current namespace and brings both up.
void create_veth(const std::string& a, const std::string& b);

/// Brings interface `name` up (e.g. "lo" of a new namespace).
void link_up(const std::string& name);

/// An Ethernet/IPv4/UDP frame to `dst_port` with `payload` (broadcast MAC, 10.0.0.1 -> 10.0.0.2).
std::vector<std::byte> udp_frame(std::uint16_t dst_port, const std::string& payload);

/// Sends `frame` out of interface `ifname` with an AF_PACKET socket, `count` times.
void send_frame(const std::string& ifname, const std::vector<std::byte>& frame, int count = 1);

/// The same for frames a program on the sending device's own path drops: the kernel may
/// tell the sender (netkit on 6.12 does: ENOBUFS), which is then not an error.
void send_dropped_frame(const std::string& ifname, const std::vector<std::byte>& frame, int count = 1);

/// Sends `count` UDP datagrams to 127.0.0.1:`port` (the current namespace's loopback).
void send_udp_loopback(std::uint16_t port, int count);

/// Receives datagrams on the bound socket `fd` until `count` have arrived or `timeout`
/// has passed; returns how many arrived. Loopback and veth traffic is handled in softirq
/// context, possibly after the sending call returned: this is the wait for it.
int receive_datagrams(int fd, int count, std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Keeps the calling thread on the CPU it is running on for the scope's lifetime. Frames
/// it sends over a veth pair without XDP go to that one CPU's receive backlog and are
/// handled in the order they were sent, so the arrival of the last one means the earlier
/// ones (even those a filter dropped) have been through the receive path.
class OneCpuScope {
public:
    OneCpuScope();
    ~OneCpuScope();
    OneCpuScope(const OneCpuScope&) = delete;
    OneCpuScope& operator=(const OneCpuScope&) = delete;

private:
    cpu_set_t saved_{};
    bool pinned_ = false;
};

/// The IPv4 frames arriving on interface `ifname` of the current namespace, seen by an
/// AF_PACKET socket for ETH_P_IP bound to it: the stack hands it a frame after XDP and
/// TC ingress have passed the frame, so its arrival means both have run on it.
class ArrivingFrames {
public:
    explicit ArrivingFrames(const std::string& ifname);
    ~ArrivingFrames();
    ArrivingFrames(const ArrivingFrames&) = delete;
    ArrivingFrames& operator=(const ArrivingFrames&) = delete;

    /// Waits until `count` UDP frames to `port` have arrived since construction, or
    /// `timeout` has passed; returns how many have arrived.
    int wait_udp(std::uint16_t port, int count, std::chrono::milliseconds timeout = std::chrono::seconds(30));

private:
    int fd_ = -1;
    std::map<std::uint16_t, int> udp_;  // arrivals per destination port
};

}  // namespace testing
