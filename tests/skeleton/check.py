#!/usr/bin/env python3
"""Checks of libbpfcpp-gen that are not Catch2 cases: compare with a golden file, errors
of the generator, headers that must (or must not) compile.

usage: check.py golden GEN OBJECT GOLDEN [GEN ARGS...]
       check.py errors GEN OBJECT NO_BTF_OBJECT
       check.py outputs GEN OBJECT
       check.py link GEN LIB_OBJECT MAIN_OBJECT DUP_OBJECT
       check.py names CXX[,CXX...] GEN NAMES_OBJECT -I DIR... --
       check.py layout CXX[,CXX...] GEN OBJECT MUTATOR -I DIR... -- 
       check.py corrupt GEN MUTATOR CXX -I DIR... -- OBJECT...
       check.py compile-all CXX[,CXX...] -I DIR... -- HEADER...
       check.py compile-fail CXX -I DIR... -- SKELETON_HEADER

compile-all syntax-checks one file including every HEADER with each compiler under
-Wall -Wextra -Werror, header-only and in compiled mode (-DLIBBPFCPP_COMPILED_LIB, with
every libbpfcpp header after them). compile-fail checks that misuses of a skeleton are compile errors
(and for the stated reason), after checking that the correct use compiles.
"""
import difflib
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

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


def corrupt(gen: str, mutator: str, cxx: str, rest: list) -> int:
    """Damaged type graphs (tests/fuzz/btf_mutate.py): each is refused with a message or
    gives a header that compiles, with its layout asserts; never a crash or a hang. The
    message's first line is the generator's; libbpf >= 1.3 refuses some objects itself, and
    its lines follow."""
    incs, objects = split(rest)
    bad = 0
    refused, accepted = 0, []
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, mutator, d] + objects, check=True, capture_output=True)
        for i, name in enumerate(sorted(os.listdir(d))):
            path = os.path.join(d, name)
            try:
                r = subprocess.run([gen, "skeleton", path, "--no-embed", "--name", f"m{i}"], capture_output=True,
                                   text=True, timeout=60)
            except subprocess.TimeoutExpired:
                bad += fail(f"{name}: the generator hangs")
                continue
            err = r.stderr.strip().splitlines()
            if r.returncode < 0 or "Sanitizer" in r.stderr or "runtime error" in r.stderr or \
                    r.returncode not in (0, 1) or (r.returncode == 1 and not (err and err[0].startswith(
                        "libbpfcpp-gen: " + path + ": "))):
                bad += fail(f"{name}: exit {r.returncode}: {r.stderr[-2000:]}")
                continue
            # A cycle through a pointer is legal C (a list node); any other has no layout.
            if r.returncode == 0 and ("cycle" in name or "self" in name) and "ptr" not in name:
                bad += fail(f"{name}: a type that contains itself was accepted")
                continue
            if r.returncode == 1:
                refused += 1
            else:
                hdr = os.path.join(d, f"m{i}.skel.hpp")
                with open(hdr, "w") as f:
                    f.write(r.stdout)
                accepted.append(hdr)
        if accepted:
            r = compile_src(cxx, incs + ["-I", d], "".join(f'#include "{h}"\n' for h in accepted) +
                            "int main() { return 0; }\n")
            if r.returncode != 0:
                bad += fail(f"the headers of the {len(accepted)} accepted objects do not compile:\n{r.stderr[-4000:]}")
    if not bad:
        print(f"ok: {refused} damaged objects refused with a message, {len(accepted)} accepted with headers "
              "that compile and hold their layout asserts")
    return 1 if bad else 0


# The globals of tests/skeleton/bpf/layout.bpf.c and the values it initialises them with.
LAYOUT_VALUES = [
    ("ev_val.a", 0x5), ("ev_val.b", 0xab), ("ev_val.c", 0x77),
    ("wide_val.x", 5), ("wide_val.y", 0xbeef), ("wide_val.z", 0x42), ("wide_val.w", 0x123456789a),
    ("wide_val.v", 0xfedcba9876), ("wide_val.tail", 0xdeadbeef),
    ("tidy_val.p", 9), ("tidy_val.q", 0xabcdef1), ("tidy_val.r", 0x33),
    ("plain_val.a", 0x5), ("plain_val.b", 0xab), ("plain_val.c", 0x77),
]


def layout(cxxs: str, gen: str, obj: str, mutator: str, rest: list) -> int:
    """The bytes the BPF compiler wrote for layout.bpf.c's .data, copied into the generated
    Data struct and read back member by member, compiled and run with each compiler: a
    bitfield the mirror puts elsewhere reads a wrong value, whatever sizeof and offsetof say."""
    incs, _ = split(rest)
    sys.path.insert(0, os.path.dirname(os.path.abspath(mutator)))
    import btf_mutate
    data = open(obj, "rb").read()
    off, size = btf_mutate.btf_section(data, b".data")
    raw = data[off:off + size]
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([gen, "skeleton", obj, "--no-embed", "-o", os.path.join(d, "layout.skel.hpp")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return fail(f"libbpfcpp-gen exited {r.returncode}: {r.stderr}")
        checks = "".join(f'    check("{m}", d.{m}, {v:#x}ULL);\n' for m, v in LAYOUT_VALUES)
        src = f"""#include "layout.skel.hpp"
#include <cstdio>
#include <cstring>
static const unsigned char bytes[{len(raw)}] = {{{", ".join(str(b) for b in raw)}}};
static int bad = 0;
static void check(const char* what, unsigned long long got, unsigned long long want) {{
    if (got != want) {{
        std::printf("%s: 0x%llx, the BPF side wrote 0x%llx\\n", what, got, want);
        ++bad;
    }}
}}
int main() {{
    static_assert(sizeof(layout::Data) >= sizeof bytes);
    layout::Data d{{}};
    std::memcpy(&d, bytes, sizeof bytes);
{checks}    return bad;
}}
"""
        path = os.path.join(d, "layout.cpp")
        with open(path, "w") as f:
            f.write(src)
        for cxx in cxxs.split(","):
            exe = os.path.join(d, "layout")
            c = subprocess.run(cxx.split() + [f for f in FLAGS if f != "-fsyntax-only"] + incs +
                               ["-I", d, path, "-o", exe], capture_output=True, text=True)
            if c.returncode != 0:
                bad += fail(f"{cxx}: the layout test does not compile:\n{c.stderr}")
                continue
            run = subprocess.run([exe], capture_output=True, text=True)
            if run.returncode != 0:
                bad += fail(f"{cxx}: the generated mirrors read other values than the BPF side wrote:\n{run.stdout}")
            else:
                print(f"ok: {cxx}: {len(LAYOUT_VALUES)} members of packed and plain bitfield structs read back "
                      "what the BPF compiler laid out")
    return 1 if bad else 0


NAMES_USE = """#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <cmath>
#include <cstddef>
#include <string_view>
"""
NAMES_CHECKS = """
// The BTF's names that clash, as the generator renames them.
static_assert(sizeof(names::Skeleton_) == 4 && sizeof(names::Bss_) == 4 && sizeof(names::detail_) == 4);
static_assert(sizeof(names::std_) == 4 && sizeof(names::OpenSkeleton_) == 4);
static_assert(offsetof(names::value, class__) == 0 && offsetof(names::value, class_) == 4);
static_assert(offsetof(names::value, errno_) == 8 && offsetof(names::value, value_) == 12);
static_assert(names::value_ == 1 && names::kinds_ == 3);
static_assert(std::is_same_v<decltype(names::Skeleton::Maps::values), bpf::TypedMap<names::__u32, names::value>>);
static_assert(std::is_same_v<decltype(names::Skeleton::Maps::Maps_), bpf::TypedMap<names::__u32, names::holder>>);
static_assert(std::is_same_v<decltype(names::Skeleton::Progs::Progs_), bpf::Prog>);
void use(names::Skeleton& skel) {
    skel.data_a_b().dotted = 1;       // .data.a.b
    skel.data_a_b_().underscored = 2;  // .data.a_b
    skel.bss().bss_hits = 0;
    // Neither ring_buffer.hpp nor perf_buffer.hpp is included here: the skeleton includes
    // them because its object has such maps.
    auto& rb = skel.module().ring_buffer(skel.maps.ring, [](std::span<const std::byte>) {});
    auto& pb = skel.module().perf_buffer(skel.maps.perf, [](int, std::span<const std::byte>) {});
    (void)rb.poll(std::chrono::milliseconds(0));
    (void)pb.poll(std::chrono::milliseconds(0));
}
int main() { return 0; }
"""


def names(cxxs: str, gen: str, obj: str, rest: list) -> int:
    """Names legal in C that clash in C++, file names that would break out of a string or a
    comment, --name values that cannot be a namespace, and objects named after C library
    functions: headers that compile beside the C headers that declare those names."""
    incs, _ = split(rest)
    gen, obj = os.path.abspath(gen), os.path.abspath(obj)
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        run = lambda *a: subprocess.run([gen, "skeleton"] + list(a), capture_output=True, text=True)
        headers = []
        r = run(obj, "-o", os.path.join(d, "names.skel.hpp"))
        if r.returncode != 0:
            return fail(f"names.bpf.o: exit {r.returncode}: {r.stderr}")
        headers.append("names.skel.hpp")
        # A quote and a newline that would start a #define line, with and without embedding.
        weird = os.path.join(d, 'we"ird\n#define INJECTED 1\n\\.bpf.o')
        shutil.copy(obj, weird)
        # (The embedded object's name, from the file's, is a string literal.)
        for i, extra in enumerate([["--no-embed", "--name", "weird"], []]):
            out = os.path.join(d, f"weird{i}.skel.hpp")
            r = run(weird, *extra, "-o", out)
            if r.returncode != 0:
                bad += fail(f"a file name with a quote and a newline: exit {r.returncode}: {r.stderr}")
            elif not extra and 'return {"we\\"ird\\012#define INJECTED 1\\012\\\\", ' not in open(out).read():
                bad += fail("the embedded object's name is not the file's, escaped")
            headers.append(os.path.basename(out))
        # Objects named after functions of the C library: the namespace takes "_bpf".
        libc = ["read", "readahead", "open", "select", "signal", "time", "sync", "index", "log", "exit"]
        for n in libc:
            o = os.path.join(d, n + ".bpf.o")
            shutil.copy(obj, o)
            r = run(o, "--no-embed", "-o", os.path.join(d, n + ".skel.hpp"))
            text = open(os.path.join(d, n + ".skel.hpp")).read() if r.returncode == 0 else ""
            if f"namespace {n}_bpf {{" not in text:
                bad += fail(f"{n}.bpf.o: exit {r.returncode}, no namespace {n}_bpf: {r.stderr}")
            headers.append(n + ".skel.hpp")
        src = NAMES_USE + "".join(f'#include "{h}"\n' for h in headers) + \
            "#ifdef INJECTED\n#error a file name wrote a line of code\n#endif\n#include <type_traits>\n" + \
            "".join(f"static_assert(sizeof({n}_bpf::Bss) == 8);\n" for n in libc) + NAMES_CHECKS
        for cxx in cxxs.split(","):
            c = compile_src(cxx, incs + ["-I", d], src)
            if c.returncode != 0:
                bad += fail(f"{cxx}: the headers do not compile beside the C headers:\n{c.stderr[-6000:]}")
            else:
                print(f"ok: {cxx}: clashing BTF names, sections .data.a.b and .data.a_b, a file name with a "
                      f"quote and a newline, and {len(libc)} objects named after C library functions compile")
        for name, why in [("1abc", "not a C++ identifier"), ("a-b", "not a C++ identifier"),
                          ("class", "C++ keyword"), ("errno", "macro of the C library"), ("weird\nname", "not a C++ identifier"),
                          ("read", "C library"), ("readahead", "C library"), ("bpf", "namespace the header uses")]:
            r = run(obj, "--name", name, "--no-embed")
            if r.returncode != 1 or why not in r.stderr or r.stdout:
                bad += fail(f"--name {name!r}: exit {r.returncode}, {r.stderr!r}")
            else:
                print(f"ok: --name {name!r} refused: {r.stderr.strip()}")
    return 1 if bad else 0


def outputs(gen: str, obj: str) -> int:
    """-o on what is not a regular file: written in place, never replaced. A private null
    device (mknod in a temporary directory) stands in for /dev/null, so a regression
    cannot break the machine's."""
    bad = 0
    gen, obj = os.path.abspath(gen), os.path.abspath(obj)
    run = lambda *a, cwd=None: subprocess.run([gen, "skeleton", obj, "--no-embed"] + list(a), capture_output=True,
                                              cwd=cwd)
    want = run().stdout
    if not want.startswith(b"// Generated by libbpfcpp-gen"):
        return fail("the generator writes no header to standard output")
    with tempfile.TemporaryDirectory(dir=os.environ.get("MESON_BUILD_ROOT")) as d:
        def same_node(path, before, what):
            after = os.lstat(path)
            if (after.st_mode, after.st_rdev, after.st_ino) != (before.st_mode, before.st_rdev, before.st_ino):
                return fail(f"{what}: {path} was replaced: mode {oct(before.st_mode)} -> {oct(after.st_mode)}, "
                            f"rdev {before.st_rdev} -> {after.st_rdev}")
            return 0

        if os.geteuid() == 0:
            null = os.path.join(d, "null")
            os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            before = os.lstat(null)
            try:
                os.close(os.open(null, os.O_WRONLY))
            except OSError as e:  # a file system mounted nodev
                print(f"skipped: -o on a null device: the private node cannot be opened here ({e})")
                null = None
        else:
            print("skipped: -o on a null device (mknod needs root)")
            null = None
        if null:
            r = run("-o", null)
            if r.returncode != 0:
                bad += fail(f"-o on a null device: exit {r.returncode}: {r.stderr!r}")
            bad += same_node(null, before, "-o on a null device")
            if not bad:
                print("ok: -o on a null device: still the same character device 1:3")

        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo, 0o640)
        before = os.lstat(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        r = run("-o", fifo)
        reader.join(30)
        if r.returncode != 0:
            bad += fail(f"-o on a FIFO: exit {r.returncode}: {r.stderr!r}")
        elif reader.is_alive() or got != [want]:
            bad += fail("-o on a FIFO: the reader did not get the header")
            if reader.is_alive():
                open(fifo, "wb").close()  # lets the reader finish
        bad += same_node(fifo, before, "-o on a FIFO")
        if not bad:
            print(f"ok: -o on a FIFO: the reader got the {len(want)}-byte header; still the same FIFO")

        r = run("-o", "-", cwd=d)
        if r.returncode != 0 or r.stdout != want or os.path.exists(os.path.join(d, "-")):
            bad += fail(f"-o -: exit {r.returncode}, {len(r.stdout)} bytes on standard output")
        else:
            print("ok: -o - writes standard output")

        r = run("-o", d)
        if r.returncode == 0 or b"is a directory" not in r.stderr or not os.path.isdir(d):
            bad += fail(f"-o on a directory: exit {r.returncode}: {r.stderr!r}")
        else:
            print(f"ok: -o on a directory: {r.stderr.decode().strip().splitlines()[-1]}")

        reg = os.path.join(d, "x.skel.hpp")
        with open(reg, "w") as f:
            f.write("old")
        os.chmod(reg, 0o640)
        link = os.path.join(d, "link.skel.hpp")
        os.symlink(reg, link)
        r = run("-o", link)
        if r.returncode != 0 or open(reg, "rb").read() != want or not os.path.islink(link) \
                or stat.S_IMODE(os.stat(reg).st_mode) != 0o640 or sorted(os.listdir(d)) != sorted(
                    ["fifo", "x.skel.hpp", "link.skel.hpp"] + (["null"] if os.geteuid() == 0 else [])):
            bad += fail(f"-o on a symbolic link to a regular file: exit {r.returncode}, {os.listdir(d)}")
        else:
            print("ok: -o through a symbolic link replaces the file it names, keeps its mode, leaves no temporary")
    return 1 if bad else 0


def link(gen: str, lib: str, main: str, dup: str) -> int:
    """Several objects into one skeleton: the header equals the one of the same objects
    linked by `bpftool gen object` (when bpftool is installed; the embedded bytes may come
    from another libbpf release and are left out), and every refusal exits non-zero, names
    the input at fault and leaves -o's file as it was, with nothing else in its directory."""
    bad = 0
    embedded = lambda line: line.startswith('    "') or "bytes[" in line or ".first(" in line
    with tempfile.TemporaryDirectory(dir=os.environ.get("MESON_BUILD_ROOT")) as d:
        r = subprocess.run([gen, "skeleton", lib, main, "--name", "linked"], capture_output=True, text=True)
        if r.returncode != 0 or "(linked)" not in r.stdout.splitlines()[0]:
            return fail(f"linking two objects: exit {r.returncode}: {r.stderr!r}")
        print("ok: two objects give one header: " + r.stdout.splitlines()[0])
        ours = r.stdout
        bpftool = shutil.which("bpftool") or ("/usr/sbin/bpftool" if os.path.exists("/usr/sbin/bpftool") else None)
        if bpftool is None:
            print("skipped: the comparison with bpftool gen object (bpftool is not installed)")
        else:
            linked = os.path.join(d, "by_bpftool.bpf.o")
            subprocess.run([bpftool, "gen", "object", linked, lib, main], check=True, capture_output=True)
            theirs = subprocess.run([gen, "skeleton", linked, "--name", "linked"], capture_output=True, text=True,
                                    check=True).stdout
            strip = lambda t: [ln.replace("link_lib.bpf.o + link_main.bpf.o (linked)", "SOURCE")
                                 .replace("by_bpftool.bpf.o", "SOURCE") for ln in t.splitlines() if not embedded(ln)]
            if strip(ours) != strip(theirs):
                sys.stdout.writelines(difflib.unified_diff(strip(theirs), strip(ours), "bpftool gen object", "ours",
                                                           lineterm=""))
                bad += fail("the header of the objects linked by bpftool differs")
            else:
                print(f"ok: same header as from `bpftool gen object` ({len(strip(ours))} lines compared)")

        junk = os.path.join(d, "junk.bpf.o")
        with open(junk, "w") as f:
            f.write("not an object\n")
        data = open(lib, "rb").read()
        truncated = os.path.join(d, "truncated.bpf.o")
        with open(truncated, "wb") as f:
            f.write(data[:len(data) // 3])
        # The section header table moved past the end of the file.
        beyond = os.path.join(d, "beyond.bpf.o")
        with open(beyond, "wb") as f:
            f.write(data[:0x28] + (len(data) * 4).to_bytes(8, "little") + data[0x30:])
        # Bytes changed at random (seeded): libbpf 1.1's linker faults on this one.
        damaged = os.path.join(d, "damaged.bpf.o")
        rng = random.Random(1)
        mutated = bytearray(data)
        for _ in range(20):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        with open(damaged, "wb") as f:
            f.write(mutated)
        cases = [
            ("a damaged second input", [main, damaged, "--name", "x"], [damaged]),
            ("a strong symbol two inputs define", [main, lib, dup, "--name", "x"], [dup, "weight"]),
            ("a second input that is not ELF", [main, junk, "--name", "x"], [junk, "not an ELF file"]),
            ("a truncated second input", [main, truncated, "--name", "x"], [truncated]),
            ("a second input whose sections are past its end", [main, beyond, "--name", "x"], [beyond]),
            ("a missing second input", [main, os.path.join(d, "absent.bpf.o"), "--name", "x"],
             ["absent.bpf.o", "no such file"]),
            ("several inputs without --name", [main, lib], ["--name NAME"]),
            ("several inputs with --no-embed", [main, lib, "--name", "x", "--no-embed"], ["--no-embed", "bpftool gen object"]),
        ]
        out = os.path.join(d, "out.skel.hpp")
        for what, args, needles in cases:
            with open(out, "w") as f:
                f.write("previous header\n")
            before = sorted(os.listdir(d))
            r = subprocess.run([gen, "skeleton"] + args + ["-o", out], capture_output=True, text=True)
            missing = [n for n in needles if n not in r.stderr]
            kept = open(out).read() == "previous header\n"
            after = sorted(os.listdir(d))
            if r.returncode not in (1, 2) or missing or r.stdout or not kept or after != before:
                bad += fail(f"{what}: exit {r.returncode}, stderr {r.stderr!r}, missing {missing}, "
                            f"-o file kept: {kept}, new files: {sorted(set(after) - set(before))}")
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
                    "(void)skel.rodata().filter_pid; "
                    # without #include <libbpfcpp/ring_buffer.hpp>: the skeleton's object has one
                    "skel.module().ring_buffer(skel.maps.events, [](const tricky::tricky_event&) {});", None),
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
    if len(a) >= 5 and a[0] == "corrupt":
        return corrupt(a[1], a[2], a[3], a[4:])
    if len(a) >= 6 and a[0] == "layout":
        return layout(a[1], a[2], a[3], a[4], a[5:])
    if len(a) >= 5 and a[0] == "names":
        return names(a[1], a[2], a[3], a[4:])
    if len(a) == 5 and a[0] == "link":
        return link(*a[1:])
    if len(a) == 3 and a[0] == "outputs":
        return outputs(a[1], a[2])
    if len(a) >= 3 and a[0] == "compile-all":
        return compile_all(a[1], a[2:])
    if len(a) >= 3 and a[0] == "compile-fail":
        return compile_fail(a[1], a[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
