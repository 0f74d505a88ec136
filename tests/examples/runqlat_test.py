#!/usr/bin/env python3
"""runqlat against a process that sleeps 1 ms a known number of times: the histogram of
that process holds about one wake-up per sleep, and the output has the layout of bcc's
runqlat: the tracing line, a blank line, the -T time, the column header, rows 0 -> 1,
2 -> 3, ... with 8-wide counts and 40-wide bars; -m names msecs."""
import re
import select
import subprocess
import sys

from exutil import Cases, require_root, skip, time_scale

tool_exe = sys.argv[1]
require_root()
SLEEPS = 300

ROW = re.compile(r"^( {0,9}\d+) -> (\d+ *) : (\d+ *) \|([* ]{40})\|$")


def run(options, interval):
    """Runs runqlat on a sleeper; returns (status, stdout lines, stderr)."""
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nsys.stdin.readline()\n"
         f"for _ in range({SLEEPS}): time.sleep(0.001)\n"], stdin=subprocess.PIPE, text=True)
    argv = [tool_exe, *options, "-p", str(sleeper.pid), str(interval), "1"]
    print("$ " + " ".join(argv), flush=True)
    tool = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = ""
    r, _, _ = select.select([tool.stdout], [], [], 60)
    if r:
        first = tool.stdout.readline()
    sleeper.communicate("go\n", timeout=60)
    out, err = tool.communicate(timeout=60 + interval)
    print(first + out + err, end="", flush=True)
    return tool.returncode, (first + out).splitlines(), err


status, lines, err = run(["-T"], max(3, int(2 * time_scale())))
if status != 0 and ("raw_tp" in err or "raw tracepoint" in err) and "support" in err:
    skip(f"raw tracepoints are not usable here: {err.strip()}")

c = Cases()
c.check(status == 0, "runqlat exits 0 after its one interval", f"status {status}: {err.strip()}")
c.check(lines[:2] == ["Tracing run queue latency... Hit Ctrl-C to end.", ""],
        "the tracing line, then a blank line, as the C tool prints them", repr(lines[:2]))
c.check(len(lines) > 2 and re.fullmatch(r"\d\d:\d\d:\d\d", lines[2]) is not None,
        "-T prints HH:MM:SS before the histogram", repr(lines[2:3]))
c.check(lines[3:4] == ["     usecs               : count    distribution"], "the column header of print_log2_hist",
        repr(lines[3:4]))
rows = lines[4:]
parsed = [ROW.match(r) for r in rows]
c.check(len(rows) > 0 and all(parsed), "every row is 'LOW -> HIGH : COUNT |40 columns|'",
        repr([r for r, m in zip(rows, parsed) if not m]))
if rows and all(parsed):
    ranges = [(int(m.group(1)), int(m.group(2))) for m in parsed]
    want = [(0, 1)] + [(1 << i, (1 << (i + 1)) - 1) for i in range(1, len(ranges))]
    c.check(ranges == want, "rows are the log2 ranges from 0 -> 1 up", repr(ranges))
    counts = [int(m.group(3)) for m in parsed]
    c.check(SLEEPS // 2 <= sum(counts) <= SLEEPS * 4, f"about one wake-up per sleep of the traced process ({SLEEPS})",
            f"total {sum(counts)}")
    top = max(counts)
    bars = [m.group(4).count("*") for m in parsed]
    c.check(all(b == n * 40 // top for b, n in zip(bars, counts)), "bars are count * 40 / largest count",
            repr(list(zip(counts, bars))))
    c.check(all(len(r) == 78 for r in rows), "rows are 78 columns, as %10lld -> %-10lld : %-8d |...| makes them")

status, lines, err = run(["-m"], max(2, int(time_scale())))
c.check(status == 0 and "     msecs               : count    distribution" in lines,
        "-m prints a histogram of msecs", repr(lines[:4]))
c.check(not any(re.fullmatch(r"\d\d:\d\d:\d\d", l) for l in lines), "without -T, no time line")
c.finish()
