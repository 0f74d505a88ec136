#!/usr/bin/env python3
"""map_iter while a child process calls getppid() in a loop: the child's row names the
getppid syscall and has a large count; the batch read and the key walk agree on the
size of the (detached, still) map; the batch erase empties it."""
import re
import subprocess
import sys

from exutil import Cases, require_root

tool_exe = sys.argv[1]
require_root()

child = subprocess.Popen([sys.executable, "-c",
                          "import os, time\nend = time.monotonic() + 20\n"
                          "while time.monotonic() < end: os.getppid()"])
try:
    r = subprocess.run([tool_exe, "-d", "1.5", "-n", "50", "-p", str(child.pid)], capture_output=True, text=True,
                       timeout=120)
finally:
    child.kill()
    child.wait()
print(r.stdout + r.stderr)

c = Cases()
c.check(r.returncode == 0, "map_iter exits 0", f"status {r.returncode}")
m = re.search(r"map 'counts': (\d+) entries read in a batch, (\d+) walked key by key", r.stdout)
if c.check(m is not None, "the entry counts are printed"):
    batch, walked = int(m.group(1)), int(m.group(2))
    c.check(batch > 0 and batch == walked, "batch read and key walk see the same entries", f"{batch} vs {walked}")
rows = re.findall(r"^(\d+)\s+(\S+)\s+(\S+)\s+(\d+)$", r.stdout, re.M)
mine = [int(n) for pid, _, sc, n in rows if int(pid) == child.pid and sc == "getppid"]
c.check(len(mine) == 1 and mine[0] > 1000, "the child's getppid calls are counted", str(mine))
c.check(all(int(pid) == child.pid for pid, _, _, _ in rows), "-p shows only that process")
m = re.search(r"erased (\d+) entries; (\d+) left", r.stdout)
c.check(m is not None and int(m.group(2)) == 0, "the batch erase empties the map", m.group(0) if m else "")
c.finish()
