#!/usr/bin/env python3
"""Summarise `meson test` runs of one or more build directories.

usage: test-summary.py BUILD_DIR [BUILD_DIR ...]

Counts test cases: each test binary prints
`libbpfcpp-test-cases: passed=N failed=N skipped=N`; a test that prints no such line counts
as one case with meson's result. A binary that failed without reporting a failed case
(a crash, a timeout) counts as one more failure. Prints one line per build directory,
the skip reasons, the failures, and last the total line `N passed, N failed, N skipped`.
Exits 1 if anything failed or a build directory has no test log.
"""
import json
import os
import re
import sys

CASES = re.compile(r"^libbpfcpp-test-cases: passed=(\d+) failed=(\d+) skipped=(\d+)$", re.M)
SKIP = re.compile(r"^skipped: (.*)$", re.M)


def summarise(build_dir):
    log = os.path.join(build_dir, "meson-logs", "testlog.json")
    counts = [0, 0, 0]
    skips, failures = [], []
    if not os.path.exists(log):
        return None, skips, [f"{build_dir}: no test log (build failed?)"]
    with open(log) as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            name, result, out = t.get("name", "?"), t.get("result", "?"), t.get("stdout") or ""
            found = CASES.findall(out)
            if found:
                p, fl, s = (int(x) for x in found[-1])
                if result not in ("OK", "SKIP") and fl == 0:
                    fl = 1  # crashed after reporting, or exited non-zero for another reason
                counts[0] += p
                counts[1] += fl
                counts[2] += s
            elif result == "OK":
                counts[0] += 1
            elif result == "SKIP":
                counts[2] += 1
            else:
                counts[1] += 1
            skips += [f"{name}: {r}" for r in SKIP.findall(out)]
            if result not in ("OK", "SKIP"):
                failures.append(f"{os.path.basename(build_dir)}/{name}: {result}")
    return counts, skips, failures


def main():
    dirs = sys.argv[1:]
    if not dirs:
        print(__doc__, file=sys.stderr)
        return 2
    total = [0, 0, 0]
    all_skips, all_failures = {}, []
    bad = False
    for d in dirs:
        counts, skips, failures = summarise(d)
        all_failures += failures
        label = os.path.basename(os.path.normpath(d))
        if counts is None:
            bad = True
            print(f"{label}: no results")
            continue
        print(f"{label}: {counts[0]} passed, {counts[1]} failed, {counts[2]} skipped")
        for s in skips:
            all_skips.setdefault(s, []).append(label)
        total = [a + b for a, b in zip(total, counts)]
    if all_skips:
        print("skipped cases:")
        for s, where in all_skips.items():
            print(f"  {s}  [{', '.join(where)}]")
    if all_failures:
        print("failures:")
        for f in all_failures:
            print(f"  {f}")
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if (bad or total[1] > 0) else 0


if __name__ == "__main__":
    sys.exit(main())
