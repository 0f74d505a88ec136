#!/usr/bin/env python3
"""asio_agent while this test starts processes: each one's exec comes through the ring
buffer and its exit (with its status) through the perf buffer, the counts line appears
every second, and SIGTERM ends the agent cleanly with its totals."""
import re
import signal
import subprocess
import sys
import time

from exutil import Cases, require_root, time_scale

tool_exe = sys.argv[1]
require_root()

agent = subprocess.Popen([tool_exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
time.sleep(1.0 * time_scale())  # loaded and attached
children = []
for _ in range(5):
    p = subprocess.Popen(["/bin/sh", "-c", "exit 7"])
    p.wait()
    children.append(p.pid)
time.sleep(2.2 * time_scale())  # two counts lines at least
agent.send_signal(signal.SIGTERM)
try:
    out, _ = agent.communicate(timeout=10 * time_scale())
except subprocess.TimeoutExpired:
    agent.kill()
    out, _ = agent.communicate()
print(out)

c = Cases()
c.check(agent.returncode == 0, "SIGTERM ends asio_agent with status 0", f"status {agent.returncode}")
execs = {int(m.group(1)) for m in re.finditer(r"^EXEC (\d+)\s+\d+\s+sh$", out, re.M)}
exits = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"^EXIT (\d+)\s+(-?\d+)\s+\S+$", out, re.M)}
c.check(all(pid in execs for pid in children), "every child's exec came through the ring buffer",
        f"{sorted(set(children) - execs)} missing")
c.check(all(exits.get(pid) == 7 for pid in children), "every child's exit status came through the perf buffer",
        str({pid: exits.get(pid) for pid in children}))
ticks = re.findall(r"^-- execs (\d+) \(dropped (\d+)\), exits (\d+) \(lost (\d+)\)$", out, re.M)
c.check(len(ticks) >= 2, "a counts line every second", f"{len(ticks)} lines")
m = re.search(r"^-- total: execs (\d+) \(dropped (\d+)\), exits (\d+) \(lost (\d+)\)$", out, re.M)
if c.check(m is not None, "the totals are printed at the end"):
    c.check(int(m.group(1)) >= len(children) and int(m.group(3)) >= len(children), "the totals count the children",
            m.group(0))
c.finish()
