#!/usr/bin/env python3
"""usdt against a program with a DTRACE_PROBE2: with -p and -n, exactly the first hits of
that process, in order, with both arguments."""
import re
import subprocess
import sys

from exutil import Cases, Tool, require_root

tool_exe, target_exe = sys.argv[1:3]
require_root()
HITS = 5

target = subprocess.Popen([target_exe, "20"], stdin=subprocess.PIPE, text=True)
tool = Tool([tool_exe, "-p", str(target.pid), "-n", str(HITS), target_exe, "libbpfcpp_example", "tick"])
started = tool.ready()
target.communicate("go\n", timeout=60)
status, out, _ = tool.finish()

c = Cases()
c.check(started, "usdt attaches to the probe")
c.check(status == 0, "usdt exits 0 after -n hits", f"status {status}")
hits = [(int(p), int(a), int(b)) for p, a, b in re.findall(r"pid=(\d+) tid=\d+ arg0=(-?\d+) arg1=(-?\d+)", out)]
c.check(len(hits) >= HITS, f"at least {HITS} hits", str(len(hits)))
c.check(hits[:HITS] == [(target.pid, i, i * i) for i in range(1, HITS + 1)],
        "the first hits carry (i, i*i) from the traced process, in order", str(hits[:HITS]))
c.finish()
