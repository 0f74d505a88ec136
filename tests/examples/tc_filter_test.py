#!/usr/bin/env python3
"""tc_filter on one end of a veth pair between two network namespaces of this test: UDP
to the blocked port never reaches the receiver and is counted as dropped, UDP to another
port arrives; the filter and the clsact qdisc are gone after the tool exits."""
import re
import subprocess
import sys

from exutil import Cases, Tool, VethPair, require_root

tool_exe = sys.argv[1]
require_root()
N, OPEN_PORT, BLOCKED_PORT, ECHO_PORT = 10, 9000, 9001, 9002

RECEIVER = f"""
import socket, select, time
socks = {{}}
for port in ({OPEN_PORT}, {BLOCKED_PORT}, {ECHO_PORT}):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    socks[s] = port
counts = {{{OPEN_PORT}: 0, {BLOCKED_PORT}: 0}}
print("ready", flush=True)
# Until every datagram to the open port is in (the sender may start slowly on a busy
# machine). The sender's datagrams are filtered in the order sent, each blocked one
# before an open one: one to the blocked port that got through would be in by then.
end = time.monotonic() + 60
while counts[{OPEN_PORT}] < {N} and time.monotonic() < end:
    r, _, _ = select.select(list(socks), [], [], 0.1)
    for s in r:
        data, peer = s.recvfrom(2048)
        if socks[s] == {ECHO_PORT}:
            s.sendto(data, peer)
        else:
            counts[socks[s]] += 1
print(" ".join(f"{{p}}={{n}}" for p, n in counts.items()), flush=True)
"""

# From one CPU, so that the datagrams go through one receive backlog and the filter in
# the order sent; after an echo, so that no datagram waits for address resolution and
# overtakes another when it is resolved.
def sender(addr):
    return f"""
import os, socket, time
os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(60)
s.sendto(b"echo", ("{addr}", {ECHO_PORT}))
s.recvfrom(16)
for _ in range({N}):
    for port in ({BLOCKED_PORT}, {OPEN_PORT}):
        s.sendto(b"x" * 16, ("{addr}", port))
    time.sleep(0.02)
"""


net = VethPair().open()
try:
    tool = Tool([tool_exe, "-i", net.if_b, "-p", str(BLOCKED_PORT)], netns=net.ns_b)
    started = tool.ready()
    received = ""
    if started:
        rx = subprocess.Popen(["ip", "netns", "exec", net.ns_b, sys.executable, "-c", RECEIVER],
                              stdout=subprocess.PIPE, text=True)
        rx.stdout.readline()
        net.run_in(net.ns_a, sender(net.addr_b), timeout=90)
        received = rx.communicate(timeout=90)[0]
        print("receiver: " + received.strip())
    status, out, _ = tool.finish()
    qdiscs = subprocess.run(["ip", "netns", "exec", net.ns_b, "tc", "qdisc", "show", "dev", net.if_b],
                            capture_output=True, text=True).stdout
finally:
    net.close()

c = Cases()
c.check(started, "tc_filter attaches to the veth's ingress")
c.check(status == 0, "tc_filter exits 0 on SIGINT", f"status {status}")
got = dict(re.findall(r"(\d+)=(\d+)", received))
c.check(got.get(str(OPEN_PORT)) == str(N), f"all {N} datagrams to port {OPEN_PORT} arrive", received.strip())
c.check(got.get(str(BLOCKED_PORT)) == "0", f"none to port {BLOCKED_PORT} arrives", received.strip())
m = re.search(r"dropped=(\d+) passed=(\d+)", out)
c.check(m is not None and int(m.group(1)) == N, f"the filter counts {N} drops", m.group(0) if m else "")
c.check(m is not None and int(m.group(2)) >= N, f"and at least {N} passes", m.group(0) if m else "")
c.check("clsact" not in qdiscs, "the clsact qdisc the tool created is removed at exit", qdiscs.strip())
c.finish()
