#!/usr/bin/env python3
"""Summarise `meson test` runs of one or more build directories.

usage: test-summary.py BUILD_DIR [BUILD_DIR ...]

Counts test cases: each test binary prints
`libbpfcpp-test-cases: passed=N failed=N skipped=N`; a test that prints no such line counts
as one case with meson's result. A binary that failed without reporting a failed case
(a crash, a timeout) counts as one more failure. Prints one line per build directory
with the kernel it ran on and the libbpf it was built with, a table kernel x libbpf of
the counts (a cell adds up every directory of that kernel and libbpf), the skip reasons,
the cases skipped in every directory given ("not covered anywhere": no kernel of the
matrix exercised them, with the reason each gave), the failures, and last the total line
`N passed, N failed, N skipped`.
A result directory written by scripts/vm/run.py names its guest kernel and the build's
libbpf in each line's "kernel" and "libbpf" fields; a meson build directory ran on this
machine's kernel, with the libbpf meson found for it (meson introspect), and any other
directory (scripts/test-consumer.sh's) with the machine's libbpf (pkg-config).
Exits 1 if anything failed or a build directory has no test log.
"""
import json
import os
import re
import subprocess
import sys

CASES = re.compile(r"^libbpfcpp-test-cases: passed=(\d+) failed=(\d+) skipped=(\d+)$", re.M)
SKIP = re.compile(r"^skipped: (.*)$", re.M)
# The skipped cases' names, printed by the C++ harness (tests/harness/main.cpp): a "skipped:"
# line is "NAME: REASON", and a name may itself contain ": ".
SKIPPED_CASE = re.compile(r"^libbpfcpp-test-skipped-case: (.*)$", re.M)
WHOLE = "all cases"
# Lines of each failure's output repeated at the end, where a reader of only the end of a
# long CI log finds them (the whole output is in the test log).
FAILURE_LINES = 8  # the case name of a skip that covers a whole binary


def failure_lines(out, n=FAILURE_LINES):
    """The lines of a failed test's output that say why: Catch2's failure reports (the
    file:line, the expansion) when there are any, else its last lines."""
    lines = [l.rstrip() for l in out.splitlines() if l.strip() and not CASES.match(l) and not SKIPPED_CASE.match(l)
             and not set(l.strip()) <= set("-=.~")]
    why = [l for l in lines if "FAILED" in l or "failed" in l or "error" in l.lower()
           or "with expansion" in l or "TIMEOUT" in l or "lockup" in l or "panic" in l]
    return (why or lines)[-n:]


def libbpf_of(build_dir):
    """The libbpf version a build directory was configured with."""
    if os.path.isdir(os.path.join(build_dir, "meson-info")):
        r = subprocess.run(["meson", "introspect", "--dependencies", build_dir], capture_output=True, text=True)
        if r.returncode == 0:
            for d in json.loads(r.stdout):
                if d.get("name") == "libbpf" and d.get("version"):
                    return d["version"]
    r = subprocess.run(["pkg-config", "--modversion", "libbpf"], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def summarise(build_dir):
    log = os.path.join(build_dir, "meson-logs", "testlog.json")
    counts = [0, 0, 0]
    skips, failures = [], []
    kernel = os.uname().release
    libbpf = None
    # test name -> names of its skipped cases, for the tests that ran at least one case
    ran = {}
    # (test, case) -> reason, for every skipped case
    skipped_cases = {}
    if not os.path.exists(log):
        return None, skips, [(f"{build_dir}: no test log (build failed?)", [])], kernel, "?", ran, skipped_cases
    with open(log) as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            name, result, out = t.get("name", "?"), t.get("result", "?"), t.get("stdout") or ""
            kernel = t.get("kernel", kernel)
            libbpf = t.get("libbpf", libbpf)
            found = CASES.findall(out)
            ran_cases = result in ("OK", "FAIL")
            if found:
                p, fl, s = (int(x) for x in found[-1])
                ran_cases = p + fl > 0
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
            reasons = SKIP.findall(out)
            skips += [f"{name}: {r}" for r in reasons]
            case_names = set()
            named = sorted(SKIPPED_CASE.findall(out), key=len, reverse=True)
            for r in reasons:
                case = next((n for n in named if r.startswith(n + ": ")), None)
                if case is None:
                    case, _, why = r.partition(": ")
                else:
                    why = r[len(case) + 2:]
                case_names.add(case)
                skipped_cases.setdefault((name, case), why)
            if ran_cases:
                ran[name] = case_names
            elif result == "SKIP" and not reasons:
                skipped_cases.setdefault((name, WHOLE), "the test exited with the skip code")
            if result not in ("OK", "SKIP"):
                failures.append((f"{os.path.basename(build_dir)}/{name}: {result}", failure_lines(out)))
    return counts, skips, failures, kernel, libbpf or libbpf_of(build_dir), ran, skipped_cases


def not_covered(results):
    """Cases skipped in every result directory: no kernel of the matrix ran them."""
    candidates = {}
    for _, _, skipped_cases in results:
        for key, why in skipped_cases.items():
            candidates.setdefault(key, why)

    def covered(test, case):
        for _, ran, _ in results:
            if test in ran and (case == WHOLE or case not in ran[test]):
                return True
        return False

    return [(t, c, why) for (t, c), why in candidates.items() if not covered(t, c)]


def release_key(text):
    """Sorts kernel and libbpf versions by their numbers ("5.10.0-46" before "6.1.0-57")."""
    return [int(x) if x.isdigit() else x for x in re.findall(r"\d+|[^\d.-]+", text)]


def print_table(cells):
    """Kernel x libbpf: passed / failed / skipped cases of each cell."""
    kernels = sorted({k for k, _ in cells}, key=release_key)
    libbpfs = sorted({l for _, l in cells}, key=release_key)
    here = os.uname().release
    rows = [["kernel \\ libbpf"] + libbpfs]
    for k in kernels:
        row = [k + (" (this machine)" if k == here else "")]
        for l in libbpfs:
            c = cells.get((k, l))
            row.append(f"{c[0][0]} / {c[0][1]} / {c[0][2]}" if c else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print("kernel x libbpf (cases passed / failed / skipped):")
    for r in rows:
        print("  " + "   ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    for (k, l), (_, labels) in sorted(cells.items(), key=lambda kv: (release_key(kv[0][0]), release_key(kv[0][1]))):
        if len(labels) > 1:
            print(f"  ({k}, libbpf {l}: {', '.join(labels)})")


FEATURE = re.compile(r"^(\w+): (available|missing) \(since ([\d.]+)\)(.*)$")


def features_of(build_dir):
    """{feature: (available, since, expected)} from DIR/features.txt (tests/feature_probe
    --report, written by scripts/vm/run.py in a guest and by scripts/test.sh here)."""
    path = os.path.join(build_dir, "features.txt")
    if not os.path.exists(path):
        return None
    found = {}
    with open(path) as f:
        for line in f:
            m = FEATURE.match(line.strip())
            if m:
                found[m.group(1)] = (m.group(2) == "available", m.group(3), "[expected:" in m.group(4))
    return found


def print_features(columns):
    """Feature x (kernel, libbpf): what the harness's probes found in each."""
    names = []
    for _, found in columns:
        names += [n for n in found if n not in names]
    heads = [label for label, _ in columns]
    rows = [["feature (since)"] + heads]
    for n in names:
        since = next((f[n][1] for _, f in columns if n in f), "?")
        row = [f"{n} ({since})"]
        for _, found in columns:
            if n not in found:
                row.append("?")
                continue
            available, _, expected = found[n]
            row.append("yes" if available else "NO, expected" if expected else "no")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(heads) + 1)]
    print("kernel features (columns: kernel/libbpf), as the test harness probes them (tests/harness/features.cpp):")
    for r in rows:
        print("  " + "   ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def main():
    dirs = sys.argv[1:]
    if not dirs:
        print(__doc__, file=sys.stderr)
        return 2
    total = [0, 0, 0]
    all_skips, all_failures = {}, []
    per_kernel, cells, coverage, feature_columns = {}, {}, [], {}
    bad = False
    for d in dirs:
        counts, skips, failures, kernel, libbpf, ran, skipped_cases = summarise(d)
        all_failures += failures
        label = os.path.basename(os.path.normpath(d))
        if counts is None:
            bad = True
            print(f"{label}: no results")
            continue
        print(f"{label} (kernel {kernel}, libbpf {libbpf}): "
              f"{counts[0]} passed, {counts[1]} failed, {counts[2]} skipped")
        for s in skips:
            all_skips.setdefault(s, []).append(label)
        total = [a + b for a, b in zip(total, counts)]
        per_kernel.setdefault(kernel, []).append(label)
        cell = cells.setdefault((kernel, libbpf), [[0, 0, 0], []])
        cell[0] = [a + b for a, b in zip(cell[0], counts)]
        cell[1].append(label)
        coverage.append((label, ran, skipped_cases))
        found = features_of(d)
        if found is not None:
            feature_columns.setdefault((kernel, libbpf), found)
    if cells:
        print_table(cells)
    if feature_columns:
        ordered = sorted(feature_columns.items(), key=lambda kv: (release_key(kv[0][0]), release_key(kv[0][1])))
        def short(v):
            m = re.match(r"\d+\.\d+", v)
            return m.group(0) if m else v
        print_features([(f"{short(k)}/{short(l)}", found) for (k, l), found in ordered])
    if all_skips:
        print("skipped cases:")
        for s, where in all_skips.items():
            print(f"  {s}  [{', '.join(where)}]")
    missing = not_covered(coverage)
    if missing:
        print(f"not covered anywhere (skipped on every kernel: {', '.join(per_kernel)}):")
        for t, c, why in missing:
            print(f"  {t}: {c}: {why}")
    elif len(per_kernel) > 1:
        print(f"not covered anywhere: nothing (every case ran on at least one of {', '.join(per_kernel)})")
    for d in dirs:
        # Guest boots that ended early (scripts/vm/run.py): what the console showed.
        events = os.path.join(d, "guest-events.txt")
        if os.path.exists(events) and os.path.getsize(events):
            print(f"guest events ({os.path.basename(os.path.normpath(d))}):")
            with open(events) as f:
                print("".join("  " + line for line in f.read().splitlines(True)[-60:]), end="")
    if all_failures:
        print("failures:")
        for f, why in all_failures[:20]:
            print(f"  {f}")
            for line in why:
                print(f"    | {line[:300]}")
        for f, _ in all_failures[20:]:
            print(f"  {f}")
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if (bad or total[1] > 0) else 0


if __name__ == "__main__":
    sys.exit(main())
