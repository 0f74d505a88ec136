#!/usr/bin/env python3
"""Compile time and peak memory of a tool's main.cpp: as written, with the umbrella header,
its #include lines alone, and two baselines without libbpfcpp.

usage: measure.py [BUILD_DIR...] [--tool NAME]... [--runs N] [--headers] [--show-baseline] [--no-compiled]
                  [--embed OBJECT]

BUILD_DIR is a configured meson build (default: build) whose compile_commands.json gives
the real compile line of examples/NAME/main.cpp in its source tree (default tools:
minimal, tcpconnect; run `meson compile -C BUILD_DIR` first so that the generated
skeletons exist). Every variant is compiled with that line, only the source file and the
output changed, N times (default 5), the variants taking turns; the figures are medians of
/usr/bin/time's elapsed time, user + system CPU time, and maximum resident set size.
Several BUILD_DIRs (e.g. of two checkouts) are measured in the same rounds, so that a
machine's changing load hits them alike.

  as written     examples/NAME/main.cpp itself;
  compiled mode  the same file with -DLIBBPFCPP_COMPILED_LIB added to the line: the tool as
                 it compiles against libbpfcpp-compiled.a (the link is not measured);
  umbrella       the same file with <libbpfcpp/libbpfcpp.hpp> included first;
  includes only  main.cpp's #include lines and an empty main(): the cost of its headers,
                 without the code that its main() makes the compiler generate;
  includes only, compiled  the same with -DLIBBPFCPP_COMPILED_LIB;
  baseline       an empty main() after the standard and system headers main.cpp names
                 itself (every <...> but libbpfcpp's) and libbpf's C headers (bpf/libbpf.h,
                 bpf/bpf.h, bpf/btf.h): a tool with the same includes written against
                 libbpf directly;
  baseline+      an empty main() after every standard and C header (libc, linux/, libbpf)
                 that main.cpp, its generated skeleton and the libbpfcpp headers they reach
                 include directly: what those headers cost before a line of libbpfcpp.

Each BUILD_DIR whose tree has src/libbpfcpp.cpp also compiles that file once per round
with the first tool's line ("libbpfcpp-compiled.a"): what the compiled mode's library
costs to build, once. The ratios are CPU time over the baseline's and the baseline+'s.
--no-compiled leaves the compiled-mode variants out. --headers also compiles each public header
include/libbpfcpp/*.hpp of the first BUILD_DIR's tree alone (that #include and an empty
main()) with the first tool's line.

--embed OBJECT measures what an embedded object costs instead of the tools (add --tool to
measure those too): each BUILD_DIR's tree's scripts/embed.py turns OBJECT (any file: the
embedder does not read it as ELF) into a header, and a file including that header and
returning the object's size is compiled with the first tool's line, beside the same file
with <libbpfcpp/embedded.hpp> and no object ("embedded.hpp alone"): the difference is the
object's cost.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile

LIBBPF_HEADERS = ["bpf/libbpf.h", "bpf/bpf.h", "bpf/btf.h"]


def source_root(build):
    """The source tree of a meson build directory."""
    with open(os.path.join(build, "meson-info", "meson-info.json")) as f:
        return os.path.realpath(json.load(f)["directories"]["source"])


def compile_line(build, tool):
    """The directory, arguments and source file of examples/TOOL/main.cpp's compile."""
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    want = os.path.join(source_root(build), "examples", tool, "main.cpp")
    for e in entries:
        src = os.path.normpath(os.path.join(e["directory"], e["file"]))
        if src == want:
            args = e.get("arguments") or shlex.split(e["command"])
            return e["directory"], args, src
    sys.exit(f"measure.py: no compile line for {want} in {build}/compile_commands.json")


def retarget(args, src, out):
    """The compile line with `src` as input, `out` as output and no dependency files."""
    res, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-MQ", "-MF", "-MT", "-o"):
            skip = True
            continue
        if a in ("-MD", "-MMD", "-c") or a.endswith((".cpp", ".cc", ".cxx")):
            continue
        if a.startswith("-fdiagnostics-color"):
            continue
        res.append(a)
    return res + ["-c", src, "-o", out]


def is_ours(path, build):
    """A file of the tool, of its build (generated skeletons) or of libbpfcpp."""
    p = os.path.realpath(path)
    return p.startswith(source_root(build) + os.sep) or p.startswith(os.path.realpath(build) + os.sep)


def reached_headers(directory, args, src, build, tmp):
    """The standard and C headers that our files include directly, in the order g++ -H
    first reports them (a header already included is not reported again, and need not be)."""
    cmd = retarget(args, src, os.path.join(tmp, "h.o")) + ["-H", "-fsyntax-only"]
    r = subprocess.run(cmd, cwd=directory, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"measure.py: {' '.join(cmd)} failed:\n{r.stderr}")
    stack = [src]
    seen, out = set(), []
    for line in r.stderr.splitlines():
        m = re.match(r"^(\.+) (.*)$", line)
        if not m:
            continue
        depth, path = len(m.group(1)), os.path.normpath(os.path.join(directory, m.group(2)))
        del stack[depth:]
        parent = stack[-1]
        stack.append(path)
        if is_ours(parent, build) and not is_ours(path, build) and path not in seen:
            seen.add(path)
            out.append(path)
    return out


def includes_of(src):
    """The #include lines of `src`, and the <...> headers among them that are not libbpfcpp's."""
    with open(src) as f:
        lines = [l for l in f.read().splitlines() if re.match(r"\s*#\s*include\b", l)]
    system = [m.group(1) for l in lines if (m := re.match(r"\s*#\s*include\s*<([^>]+)>", l))]
    return lines, [h for h in system if not h.startswith("libbpfcpp/")]


def measure_once(directory, args, src, tmp):
    timing = os.path.join(tmp, "time.txt")
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", timing] + retarget(args, src, os.path.join(tmp, "x.o"))
    r = subprocess.run(cmd, cwd=directory, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"measure.py: compiling {src} failed:\n{r.stderr}")
    with open(timing) as f:
        wall, user, system, rss = f.read().split()[-4:]
    return float(wall), float(user) + float(system), int(rss) / 1024.0


def run_variants(variants, runs, tmp):
    """Medians of (wall s, cpu s, peak MiB) per variant (key, directory, args, source);
    the variants take turns."""
    results = {key: [] for key, *_ in variants}
    for _ in range(runs):
        for key, directory, args, src in variants:
            results[key].append(measure_once(directory, args, src, tmp))
    return {key: tuple(statistics.median(x[i] for x in vals) for i in range(3)) for key, vals in results.items()}


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def embed_variants(variants, tmp, bi, build, tool, obj, empty_main):
    """The embedded object OBJ as BUILD's tree's embedder writes it, and the same file
    without it."""
    directory, args, _ = compile_line(build, tool)
    header = os.path.join(tmp, f"{bi}_embedded.hpp")
    embedder = os.path.join(source_root(build), "scripts", "embed.py")
    subprocess.run([sys.executable, embedder, obj, header, "embedded"], check=True)
    size = os.path.getsize(obj)
    use = f"int main() {{ return static_cast<int>(bpf_objects::embedded().bytes.size() - {size}); }}\n"
    label = f"object of {size // 1000} KB"
    variants.append(((build, "(embedded)", label), directory, args,
                     write(tmp, f"{bi}_embed.cpp", f'#include "{header}"\n' + use)))
    variants.append(((build, "(embedded)", "embedded.hpp alone"), directory, args,
                     write(tmp, f"{bi}_embed_none.cpp", "#include <libbpfcpp/embedded.hpp>\n" + empty_main)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="*", default=["build"])
    ap.add_argument("--tool", action="append", help="an examples/ directory (repeatable)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--headers", action="store_true", help="also each public header alone")
    ap.add_argument("--show-baseline", action="store_true", help="print the baselines' headers")
    ap.add_argument("--no-compiled", action="store_true", help="leave out the compiled-mode variants")
    ap.add_argument("--embed", metavar="OBJECT", help="measure an embedded object of this file instead of the tools")
    o = ap.parse_args()
    builds = [os.path.abspath(b) for b in o.build]
    tools = o.tool or ["minimal", "tcpconnect"]
    measure_tools = o.embed is None or o.tool is not None
    empty_main = "int main() {}\n"
    variants, rows = [], []
    with tempfile.TemporaryDirectory(prefix="libbpfcpp-compile-") as tmp:
        for bi, build in enumerate(builds):
            if o.embed:
                embed_variants(variants, tmp, bi, build, tools[0], os.path.abspath(o.embed), empty_main)
            for tool in (tools if measure_tools else []):
                directory, args, src = compile_line(build, tool)
                lines, system = includes_of(src)
                base = [f"<{h}>" for h in system + [h for h in LIBBPF_HEADERS if h not in system]]
                reached = reached_headers(directory, args, src, build, tmp)
                if o.show_baseline:
                    print(f"baseline of {tool}: " + " ".join(base))
                    print(f"baseline+ of {tool} in {os.path.relpath(build)}: " +
                          " ".join(os.path.relpath(h, "/usr/include") for h in reached))
                tag = f"{bi}_{tool}"
                for name, text in [
                    ("as written", None),
                    ("umbrella", f'#include <libbpfcpp/libbpfcpp.hpp>\n#include "{src}"\n'),
                    ("includes only", "\n".join(lines) + "\n" + empty_main),
                    ("baseline", "".join(f"#include {h}\n" for h in base) + empty_main),
                    ("baseline+", "".join(f'#include "{h}"\n' for h in reached) + empty_main),
                ]:
                    path = src if text is None else write(tmp, f"{tag}_{name.replace(' ', '_')}.cpp", text)
                    variants.append(((build, tool, name), directory, args, path))
                    if name in ("as written", "includes only") and not o.no_compiled:
                        label = "compiled mode" if name == "as written" else "includes only, compiled"
                        variants.append(((build, tool, label), directory,
                                         args[:1] + ["-DLIBBPFCPP_COMPILED_LIB"] + args[1:], path))
            lib_src = os.path.join(source_root(build), "src", "libbpfcpp.cpp")
            if measure_tools and not o.no_compiled and os.path.exists(lib_src):
                directory, args, _ = compile_line(build, tools[0])
                variants.append(((build, "(once)", "libbpfcpp-compiled.a"), directory, args, lib_src))
        if o.headers:
            directory, args, _ = compile_line(builds[0], tools[0])
            inc = os.path.join(source_root(builds[0]), "include", "libbpfcpp")
            for h in sorted(h for h in os.listdir(inc) if h.endswith(".hpp")):
                path = write(tmp, f"hdr_{h}.cpp", f"#include <libbpfcpp/{h}>\n" + empty_main)
                variants.append(((builds[0], "header alone", f"<libbpfcpp/{h}>"), directory, args, path))
        res = run_variants(variants, o.runs, tmp)
    compiler = subprocess.run([variants[0][2][0], "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"{compiler}; medians of {o.runs} runs; compile lines of " +
          ", ".join(f"{os.path.relpath(b)}/compile_commands.json" for b in builds))
    several = len(builds) > 1
    names = {b: os.path.relpath(b) for b in builds}
    bw = max(len(n) for n in names.values())
    cols = ([f"{'build':<{bw}}"] if several else []) + [f"{'file':<13}", f"{'variant':<32}", "wall s", " cpu s",
                                                       "peak MiB", "cpu / baseline", "cpu / baseline+"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("-" * (len(c) + 2) for c in cols) + "|")
    for (build, tool, name), (wall, cpu, rss) in res.items():
        base = res.get((build, tool, "baseline"))
        ratio = f"{cpu / base[1]:.2f}x" if base else ""
        plus = res.get((build, tool, "baseline+"))
        ratio_plus = f"{cpu / plus[1]:.2f}x" if plus else ""
        cells = ([f"{names[build]:<{bw}}"] if several else []) + [
            f"{tool:<13}", f"{name:<32}", f"{wall:6.2f}", f"{cpu:6.2f}", f"{rss:8.0f}", f"{ratio:>14}", f"{ratio_plus:>15}"]
        print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
