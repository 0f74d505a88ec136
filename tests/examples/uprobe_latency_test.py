#!/usr/bin/env python3
"""uprobe_latency against a program whose work_ms() sleeps a known time: the exact number
of calls of the traced process (another process running the same binary is filtered out
by -p), an average and a histogram that match the sleep."""
import re
import subprocess
import sys

from exutil import Cases, Tool, require_root, skip, time_scale

tool_exe, target_exe = sys.argv[1:3]
require_root()
CALLS, MS = 20, 3

target = subprocess.Popen([target_exe, str(CALLS), str(MS)], stdin=subprocess.PIPE, text=True)
tool = Tool([tool_exe, "-p", str(target.pid), target_exe, "work_ms"])
if not tool.ready():
    target.kill()
    status, out, err = tool.finish()
    if "uprobe" in err and "not" in err and "support" in err:
        skip(f"uprobes are not usable here: {err.strip()}")
    print(f"uprobe_latency did not start (exit status {status})")
    print("libbpfcpp-test-cases: passed=0 failed=1 skipped=0")
    sys.exit(1)

# Another process of the same binary, not the one -p names.
subprocess.run([target_exe, "5", "1"], input="go\n", text=True, check=True)
target.communicate("go\n", timeout=60)
status, out, _ = tool.finish()

c = Cases()
c.check(status == 0, "uprobe_latency exits 0 on SIGINT", f"status {status}")
m = re.search(r"work_ms calls=(\d+) avg_us=(\d+) max_us=(\d+)", out)
if c.check(m is not None, "the summary line is printed"):
    calls, avg_us, max_us = (int(x) for x in m.groups())
    c.check(calls == CALLS, "every call of the traced process and none of the other one", f"calls={calls}")
    c.check(MS * 1000 <= avg_us < MS * 1000 * 20 * time_scale(), "the average is at least the sleep", f"avg_us={avg_us}")
    c.check(max_us >= avg_us, "the maximum is at least the average", f"max_us={max_us}")
rows = [(int(lo), int(hi), int(n)) for lo, hi, n in re.findall(r"^\s*(\d+) -> (\d+)\s*: (\d+)$", out, re.M)]
c.check(sum(n for _, _, n in rows) == CALLS, "the histogram holds every call", str(rows))
c.check(all(n == 0 or hi >= MS * 1000 for _, hi, n in rows), "no call is in a bucket below the sleep time")
c.finish()
