#!/usr/bin/env python3
"""Checks of libbpfcpp-gen that are not Catch2 cases: compare with a golden file, errors
of the generator, headers that must (or must not) compile.

usage: check.py golden GEN OBJECT GOLDEN [GEN ARGS...]
       check.py errors GEN OBJECT NO_BTF_OBJECT
       check.py compile-all CXX[,CXX...] -I DIR... -- HEADER...
       check.py compile-fail CXX -I DIR... -- SKELETON_HEADER

compile-all syntax-checks one file including every HEADER with each compiler under
-Wall -Wextra -Werror, header-only and in compiled mode (-DLIBBPFCPP_COMPILED_LIB, with
every libbpfcpp header after them). compile-fail checks that misuses of a skeleton are compile errors
(and for the stated reason), after checking that the correct use compiles.
"""
import difflib
import os
import subprocess
import sys
import tempfile

FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]


def fail(msg: str) -> int:
    print("FAIL: " + msg)
    return 1


def golden(gen: str, obj: str, expected: str, extra: list) -> int:
    out = subprocess.run([gen, "skeleton", obj, "--no-embed"] + extra, capture_output=True, text=True)
    if out.returncode != 0:
        return fail(f"libbpfcpp-gen exited {out.returncode}: {out.stderr}")
    want = open(expected).read()
    if out.stdout == want:
        print(f"{os.path.basename(expected)}: identical")
        return 0
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), out.stdout.splitlines(True),
                                               expected, "generated"))
    return fail("generated header differs from the golden file (regenerate it if the change is intended)")


def errors(gen: str, obj: str, no_btf: str) -> int:
    cases = [
        ("an object without BTF", [no_btf], [no_btf, "no BTF", "-g"]),
        ("a missing file", ["/nonexistent.bpf.o"], ["/nonexistent.bpf.o", "cannot read"]),
        ("an unknown --type", [obj, "--type", "struct no_such"], [obj, "no_such", "no such type"]),
        ("a type only declared", [obj, "--type", "opaque"], [obj, "struct opaque", "only declared"]),
        ("a bad option", [obj, "--frobnicate"], ["--frobnicate"]),
    ]
    bad = 0
    for what, args, needles in cases:
        r = subprocess.run([gen, "skeleton"] + args, capture_output=True, text=True)
        missing = [n for n in needles if n not in r.stderr]
        if r.returncode == 0 or missing or r.stdout:
            bad += fail(f"{what}: exit {r.returncode}, stderr {r.stderr!r}, missing {missing}")
        else:
            print(f"ok: {what}: {r.stderr.strip().splitlines()[0]}")
    return 1 if bad else 0


def split(args: list):
    sep = args.index("--")
    return args[:sep], args[sep + 1:]


def compile_src(cxx: str, incs: list, src: str):
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", delete=False) as f:
        f.write(src)
        path = f.name
    try:
        return subprocess.run(cxx.split() + FLAGS + incs + [path], capture_output=True, text=True)
    finally:
        os.unlink(path)


def compile_all(cxxs: str, rest: list) -> int:
    incs, headers = split(rest)
    includes = "".join(f'#include "{os.path.basename(h)}"\n' for h in headers)
    # Header-only: the skeletons. Compiled mode, which the builds compile only with g++: the
    # skeletons first (each must compile on its own), then every libbpfcpp header.
    passes = [([], includes, "skeletons"),
              (["-DLIBBPFCPP_COMPILED_LIB"], includes + "#include <libbpfcpp/libbpfcpp.hpp>\n",
               "skeletons and libbpfcpp.hpp")]
    bad = 0
    for cxx in cxxs.split(","):
        for mode, text, what in passes:
            r = compile_src(cxx, incs + mode, text + "int main() { return 0; }\n")
            who = f"{cxx}{' ' + mode[0] if mode else ''}"
            if r.returncode != 0:
                bad += fail(f"{who}: the {what} do not compile:\n{r.stderr}")
            else:
                print(f"ok: {who}: {len(headers)} {what} compile with {' '.join(FLAGS[1:4])}")
    return 1 if bad else 0


# Each misuse next to the line a user would write correctly; `why` lists alternatives of
# words the compilers' messages use (g++, clang++).
PRELUDE = """#include "tricky.skel.hpp"
void use() {
    auto open = tricky::Skeleton::open();
    open.rodata().filter_pid = 1;
    tricky::Skeleton skel = std::move(open).load();
"""
CASES = [
    ("correct use", "auto v = skel.maps.results.lookup(1u); (void)v; skel.bss().hits = 0; "
                    "(void)skel.rodata().filter_pid;", None),
    ("a misspelled map", "(void)skel.maps.resutls;", ["resutls"]),
    ("a .rodata write after load", "skel.rodata().filter_pid = 2;", ["read-only", "const"]),
    ("a typed map looked up with the wrong key type",
     "auto v = skel.maps.new_.lookup(tricky::pair{}); (void)v;", ["pair", "no matching", "cannot convert"]),
    ("a misspelled program", "skel.progs.on_getpid.attach();", ["on_getpid"]),
    ("load() of an open skeleton that is not an rvalue",
     "auto o2 = tricky::Skeleton::open(); auto s2 = o2.load(); (void)s2;", ["load", "rvalue", "discards"]),
]


def compile_fail(cxx: str, rest: list) -> int:
    incs, _ = split(rest)
    bad = 0
    for what, body, why in CASES:
        r = compile_src(cxx, incs, PRELUDE + "    " + body + "\n}\nint main() { use(); }\n")
        if why is None:
            if r.returncode != 0:
                return fail(f"{what} does not compile, so no failure below would mean anything:\n{r.stderr}")
            print(f"ok: {what} compiles")
            continue
        if r.returncode == 0:
            bad += fail(f"{what} compiles")
        elif not any(w in r.stderr for w in why):
            bad += fail(f"{what} fails, but not for the expected reason:\n{r.stderr}")
        else:
            first = next((l for l in r.stderr.splitlines() if "error" in l), "")
            print(f"ok: {what} does not compile: {first.split('error:', 1)[-1].strip()}")
    return 1 if bad else 0


def main() -> int:
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "golden":
        return golden(a[1], a[2], a[3], a[4:])
    if len(a) == 4 and a[0] == "errors":
        return errors(a[1], a[2], a[3])
    if len(a) >= 3 and a[0] == "compile-all":
        return compile_all(a[1], a[2:])
    if len(a) >= 3 and a[0] == "compile-fail":
        return compile_fail(a[1], a[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
