#!/usr/bin/env python3
"""xdp_counter on one end of a veth pair between two network namespaces of this test:
exactly the UDP datagrams sent from the other end are counted, with their frame bytes."""
import re
import subprocess
import sys

from exutil import Cases, Tool, VethPair, require_root

tool_exe = sys.argv[1]
require_root()
N, PAYLOAD = 10, 32

# A datagram received on side b has been through XDP there (veth hands frames to XDP in
# NAPI context, after the sender's call returned): the tool is stopped once all arrived.
RECEIVER = f"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9000))
print("ready", flush=True)
n, end = 0, time.monotonic() + 60
while n < {N} and time.monotonic() < end:
    s.settimeout(max(end - time.monotonic(), 0.01))
    try:
        s.recv(2048)
        n += 1
    except socket.timeout:
        break
print(f"received={{n}}", flush=True)
"""

net = VethPair().open()
try:
    tool = Tool([tool_exe, "-i", net.if_b], netns=net.ns_b)
    started = tool.ready()
    received = ""
    if started:
        rx = subprocess.Popen(["ip", "netns", "exec", net.ns_b, sys.executable, "-c", RECEIVER],
                              stdout=subprocess.PIPE, text=True)
        rx.stdout.readline()
        net.run_in(net.ns_a, "import socket, time\n"
                             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                             f"for _ in range({N}):\n"
                             f"    s.sendto(b'x' * {PAYLOAD}, ('{net.addr_b}', 9000))\n"
                             "    time.sleep(0.02)\n")
        received = rx.communicate(timeout=90)[0].strip()
        print("receiver: " + received)
    status, out, _ = tool.finish()
finally:
    net.close()

c = Cases()
c.check(started, "xdp_counter attaches to the veth")
c.check(received == f"received={N}", f"all {N} datagrams arrive", received)
c.check(status == 0, "xdp_counter exits 0 on SIGINT", f"status {status}")
rows = {name: (int(p), int(b)) for name, p, b in re.findall(r"^(\S+)\s+(\d+)\s+(\d+)$", out, re.M)}
frame = 14 + 20 + 8 + PAYLOAD
c.check(rows.get("udp") == (N, N * frame), f"{N} UDP frames of {frame} bytes", str(rows.get("udp")))
c.check(rows.get("non-ip", (0, 0))[0] >= 1, "ARP is counted as non-IP", str(rows.get("non-ip")))
c.finish()
