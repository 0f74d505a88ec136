// Network set-up for the parity tests without iproute2: a private network namespace,
// veth pairs made over rtnetlink, raw frames sent with AF_PACKET.
#pragma once

#include <cstddef>
#include <cstdint>
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

/// Sends `count` UDP datagrams to 127.0.0.1:`port` (the current namespace's loopback).
void send_udp_loopback(std::uint16_t port, int count);

}  // namespace testing
