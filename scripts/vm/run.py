#!/usr/bin/env python3
"""Run a build's test suite on a Debian cloud kernel under qemu.

usage: run.py BUILD_DIR [--out DIR] [--release RELEASE | --kernel-dir DIR]
              [--timeout SECONDS] [--test-timeout SECONDS] [--only NAME] [--skip-suite SUITE] [--verbose]

RELEASE is the Debian release whose cloud kernel boots: bullseye (5.10), bookworm (6.1,
the default), trixie (6.12) or trixie-backports (7.3); scripts/vm/fetch-kernel.sh resolves and caches it.

BUILD_DIR must be configured with -Dstatic=true and compiled. Every test that meson
registers (`meson introspect --tests`) is put into an initramfs at the same absolute
path, together with the files it names on its command line and the build's compiled
BPF objects; a test whose command is not a static executable is reported as skipped
with the reason. The guest (scripts/vm/init) runs the tests one after the other and
prints their output on the serial console; this script turns that into
OUT/meson-logs/testlog.json (one JSON object per test, as `meson test` writes it), so
scripts/test-summary.py counts the guest's results like a host build's (each line also
names the guest's kernel and the libbpf the build used). OUT defaults to BUILD_DIR-vm;
the raw console is OUT/console.log (OUT/console-N.log for later boots), and the test
harness's verdict on each kernel feature (tests/feature_probe --report, run in the guest
before the tests) OUT/features.txt.

A guest that stops making progress (a kernel panic, a soft lockup, which the guest turns
into a panic, or no end marker long after the running test's own bound) is booted again
from the test it was running; that test gets one more run in the new guest, and a second
stall makes it a failure. Every such event is written to OUT/guest-events.txt with the
end of the console, and scripts/test-summary.py repeats it in its summary.

Exit status: 0 when every test passed or skipped, 1 when one failed, 2 when the guest
could not be run at all (no kernel, no qemu, the build is missing).
"""
import argparse
import fcntl
import gzip
import hashlib
import json
import lzma
import os
import selectors
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MARK = "@@libbpfcpp-vm "
# Modules the suite needs that Debian's cloud kernels (5.10 to 7.3) build as modules:
# veth pairs, the clsact qdisc (in sch_ingress) and cls_bpf for TC programs. (dummy and
# act_bpf were loaded too once; no test uses them: with the direct-action cls_bpf of
# bpf_tc_attach() no BPF action is needed.)
WANTED_MODULES = ["veth", "sch_ingress", "cls_bpf"]
# How much of a failed test's output is repeated on the host (all of it is in the log).
FAILURE_LINES = 80
# Where the guest finds its kernel's configuration: with it the test harness knows which
# features this kernel must have (tests/harness/features.hpp), so a refusal fails.
GUEST_KERNEL_CONFIG = "/vm/kernel.config"
# LIBBPFCPP_TEST_TIME_SCALE in the guest under software emulation (10-50x slower than the
# host): the tests multiply the time bounds they assert by it (tests/harness).
TCG_TIME_SCALE = "20"
# Default bound of one test in the guest (each is also bounded by its meson timeout): the
# slowest takes about 25 s under emulation; a hung test must not eat the whole run.
GUEST_TEST_TIMEOUT = 180
# How long after a test's own bound (or after the last marker, between tests) the host
# waits for the guest before it calls the guest stuck.
STALL_GRACE = 60
# How long the host waits for the guest's first marker (unpacking a 130 MiB initramfs and
# booting under emulation takes 10-40 s).
BOOT_BOUND = 300


class RunError(Exception):
    pass


def log(msg):
    print(f"vm: {msg}", flush=True)


# ---------------------------------------------------------------------------- ELF


def elf_header(path):
    """The segment types (p_type) of a 64-bit little-endian ELF file, or None if `path`
    is not one."""
    try:
        with open(path, "rb") as f:
            ident = f.read(64)
            if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
                return None
            e_phoff, = struct.unpack_from("<Q", ident, 32)
            e_phentsize, e_phnum = struct.unpack_from("<HH", ident, 54)
            f.seek(e_phoff)
            table = f.read(e_phentsize * e_phnum)
            return [struct.unpack_from("<I", table, i * e_phentsize)[0] for i in range(e_phnum)]
    except OSError:
        return None


def why_not_static(path):
    """None when `path` is a static x86-64 executable the guest can run, else the reason."""
    if not os.path.isfile(path):
        return f"runs {path}, which does not exist"
    types = elf_header(path)
    if types is None:
        with open(path, "rb") as f:
            first = f.readline(200).decode("utf-8", "replace").strip()
        if first.startswith("#!"):
            return f"runs {path}, a script ({first}); the guest has busybox only"
        return f"runs {path}, not an x86-64 ELF executable"
    if 3 in types:  # PT_INTERP: needs the dynamic loader and shared libraries
        return f"runs {path}, dynamically linked; the guest has no shared libraries (build with -Dstatic=true)"
    return None


def module_bytes(path):
    """A kernel module's ELF bytes. Debian 13 ships its modules xz-compressed; busybox's
    insmod hands the file to init_module(), which wants them plain, so they are
    decompressed here, on the host."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        raise RunError(f"{path}: zstd-compressed modules are not supported (no zstd in Python's standard library)")
    return data


def module_name(path):
    """`veth` for .../veth.ko, .../veth.ko.xz."""
    base = os.path.basename(path)
    return base[:base.index(".ko")]


def modinfo_depends(path):
    """The `depends=` entry of a kernel module's .modinfo section."""
    data = module_bytes(path)
    e_shoff, = struct.unpack_from("<Q", data, 40)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 58)

    def section(i):
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", data, e_shoff + i * e_shentsize)
        return name, off, size

    _, stroff, _ = section(e_shstrndx)
    for i in range(e_shnum):
        name, off, size = section(i)
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] == b".modinfo":
            for entry in data[off:off + size].split(b"\0"):
                if entry.startswith(b"depends="):
                    return [d for d in entry[8:].decode().split(",") if d]
    return []


def builtin_modules(moddir):
    """Names of the drivers built into the kernel (modules.builtin)."""
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            return {module_name(line.strip()).replace("-", "_") for line in f if ".ko" in line}
    except OSError:
        return set()


def module_load_order(moddir, wanted):
    """Paths of `wanted` modules and their dependencies, dependencies first."""
    by_name = {}
    for root, _, files in os.walk(moddir):
        for fn in files:
            if fn.endswith((".ko", ".ko.xz", ".ko.gz", ".ko.zst")):
                by_name[module_name(fn).replace("-", "_")] = os.path.join(root, fn)
    order, seen = [], set()

    def visit(name):
        key = name.replace("-", "_")
        if key in seen:
            return
        seen.add(key)
        path = by_name.get(key)
        if path is None:
            return  # built in
        for dep in modinfo_depends(path):
            visit(dep)
        order.append(path)

    for m in wanted:
        visit(m)
    return order


# ---------------------------------------------------------------------------- cpio


class Cpio:
    """Writes a newc cpio archive (the initramfs format) without a staging directory,
    so device nodes need no mknod and paths need no root-owned tree."""

    def __init__(self, out):
        self.out = out
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.lstrip("/").encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.out.write(hdr.encode() + name_b)
        self.out.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        self.out.write(data)
        self.out.write(b"\0" * ((4 - len(data) % 4) % 4))

    def mkdir(self, path):
        path = path.rstrip("/")
        if not path or path == "/" or path in self.dirs:
            return
        self.mkdir(os.path.dirname(path))
        self.dirs.add(path)
        self._entry(path, stat.S_IFDIR | 0o755)

    def file(self, path, data, mode=0o755):
        self.mkdir(os.path.dirname(path))
        self._entry(path, stat.S_IFREG | mode, data)

    def chardev(self, path, major, minor):
        self.mkdir(os.path.dirname(path))
        self._entry(path, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)


def stripped(path):
    """The file's bytes without debug sections (smaller initramfs, faster boot); the
    symbol table stays, uprobes attach by symbol name."""
    with tempfile.NamedTemporaryFile(suffix=".stripped") as tmp:
        r = subprocess.run(["objcopy", "--strip-debug", path, tmp.name], capture_output=True)
        if r.returncode == 0:
            with open(tmp.name, "rb") as f:
                return f.read()
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------------- tests


def introspect(build):
    r = subprocess.run(["meson", "introspect", "--tests", build], capture_output=True, text=True)
    if r.returncode != 0:
        raise RunError(f"meson introspect --tests {build} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


def libbpf_version(build):
    """The version of the libbpf the build found (meson's dependency), e.g. "1.1.2"."""
    r = subprocess.run(["meson", "introspect", "--dependencies", build], capture_output=True, text=True)
    if r.returncode == 0:
        for d in json.loads(r.stdout):
            if d.get("name") == "libbpf":
                return d.get("version")
    return None


def plan(build, tests, default_timeout):
    """Splits tests into those the guest runs (with the files they need) and those it
    cannot run (with the reason)."""
    build = os.path.abspath(build)
    runnable, skipped = [], []
    for t in tests:
        cmd = t["cmd"]
        reason = why_not_static(cmd[0])
        if reason is not None:
            skipped.append((t, reason))
            continue
        files = [cmd[0]]
        for arg in cmd[1:]:
            # Arguments that are files (tools the test drives) travel with it; a dynamic
            # one makes the test unrunnable in the guest.
            if os.path.isabs(arg) and os.path.isfile(arg):
                r = why_not_static(arg) if os.access(arg, os.X_OK) else None
                if r is not None:
                    reason = r
                    break
                files.append(arg)
        for value in (t.get("env") or {}).values():
            if reason is None and os.path.isabs(value) and os.path.isfile(value):
                if os.access(value, os.X_OK):
                    reason = why_not_static(value)
                files.append(value)
        if reason is not None:
            skipped.append((t, reason))
            continue
        timeout = t.get("timeout") or default_timeout
        runnable.append((t, files, timeout))
    return runnable, skipped


def meson_names(tests):
    """Renames the tests as `meson test` names them in its log, so that one test's results
    on the host and in the guest line up in scripts/test-summary.py."""
    suites = {s for t in tests for s in t.get("suite") or []}
    for t in tests:
        if len(suites) > 1 and t.get("suite"):
            project = t["suite"][0].split(":")[0]
            parts = "+".join(s.split(":", 1)[1] for s in t["suite"] if ":" in s)
            t["name"] = f"{project}:{parts} / {t['name']}" if parts else f"{project} / {t['name']}"


def accel():
    return os.environ.get("LIBBPFCPP_VM_ACCEL", "tcg")


def time_scale():
    """LIBBPFCPP_TEST_TIME_SCALE for the guest's tests: LIBBPFCPP_VM_TIME_SCALE when it is
    set, else TCG_TIME_SCALE under software emulation and 1 with KVM."""
    return os.environ.get("LIBBPFCPP_VM_TIME_SCALE") or (TCG_TIME_SCALE if accel() == "tcg" else "1")


def test_script(t, timeout, build):
    lines = ["cd " + shlex.quote(t.get("workdir") or os.path.abspath(build)),
             "export LIBBPFCPP_TEST_TIME_SCALE=" + shlex.quote(time_scale()),
             "export LIBBPFCPP_TEST_KERNEL_CONFIG=" + GUEST_KERNEL_CONFIG]
    for k, v in sorted((t.get("env") or {}).items()):
        lines.append(f"export {k}={shlex.quote(v)}")
    # TERM first: Catch2 then names the case that hung; KILL if that does not end it.
    lines.append(f"exec timeout -s TERM -k 10 {int(timeout)} " + " ".join(shlex.quote(c) for c in t["cmd"]))
    return ("\n".join(lines) + "\n").encode()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_tests_part(path, build, runnable):
    """The part of the initramfs every kernel shares: busybox, init, the tests, their
    files and the build's BPF objects."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if why_not_static(busybox) is not None:
        raise RunError(f"{busybox} is not a static busybox; the guest needs one (apt-get install busybox-static)")
    with open(path, "wb") as out:
        c = Cpio(out)
        for d in ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/proc", "/sys", "/tmp", "/run", "/root", "/etc"):
            c.mkdir(d)
        c.chardev("/dev/console", 5, 1)
        c.chardev("/dev/null", 1, 3)
        c.file("/bin/busybox", read_bytes(busybox))
        with open(os.path.join(HERE, "init"), "rb") as f:
            c.file("/init", f.read())
        c.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
        c.file("/etc/group", b"root:x:0:\n", 0o644)
        c.file("/etc/hosts", b"127.0.0.1 localhost\n::1 localhost\n", 0o644)
        c.mkdir(build)
        added = set()
        for i, (t, files, timeout) in enumerate(runnable):
            for f in files:
                if f not in added:
                    added.add(f)
                    c.file(f, stripped(f) if elf_header(f) is not None else read_bytes(f))
            if t.get("workdir"):
                c.mkdir(t["workdir"])
            c.file(f"/vm/tests/{i:03d}.sh", test_script(t, timeout, build), 0o644)
        probe = feature_probe(build)
        if probe is not None:
            c.file("/vm/feature_probe", stripped(probe))
        # Tests may open their BPF objects from the build directory by absolute path.
        for p in build_objects(build):
            if p not in added:
                added.add(p)
                c.file(p, read_bytes(p), 0o644)
        c.finish()


def feature_probe(build):
    """The build's tests/feature_probe when the guest can run it, else None."""
    path = os.path.join(build, "tests", "feature_probe")
    return path if why_not_static(path) is None else None


def build_objects(build):
    """The compiled BPF objects of the build (*.bpf.o)."""
    found = []
    for root, _, names in os.walk(build):
        if "meson-" in root or "@" in root:
            continue
        found += [os.path.join(root, n) for n in names if n.endswith(".bpf.o")]
    return sorted(found)


def copy_tests_part(out, build, runnable):
    """Writes the shared part of the initramfs to `out`. It is made once per build and set
    of tests and kept in BUILD/vm-initramfs/: the guests of several kernels (run at the
    same time or one after the other) then strip and pack the tests once."""
    h = hashlib.sha256()
    probe = feature_probe(build)
    for f in [os.path.join(HERE, "init"), shutil.which("busybox") or "/bin/busybox"] + build_objects(build) + \
            ([probe] if probe else []):
        st = os.stat(f)
        h.update(f"{f} {st.st_size} {st.st_mtime_ns}\n".encode())
    for i, (t, files, timeout) in enumerate(runnable):
        h.update(test_script(t, timeout, build))
        for f in files:
            st = os.stat(f)
            h.update(f"{i} {f} {st.st_size} {st.st_mtime_ns}\n".encode())
    cache = os.path.join(build, "vm-initramfs")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"tests-{h.hexdigest()[:16]}.cpio")
    with open(os.path.join(cache, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(path):
            for old in os.listdir(cache):
                if old.startswith("tests-"):
                    os.unlink(os.path.join(cache, old))
            write_tests_part(path + ".new", build, runnable)
            os.rename(path + ".new", path)
        with open(path, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)


def build_initramfs(path, build, runnable, modules, kernel_config):
    """OUT/initramfs.cpio: the shared part (copy_tests_part) followed by a second archive with
    this kernel's modules and configuration (the kernel unpacks concatenated archives
    one after the other)."""
    build = os.path.abspath(build)
    with open(path, "wb") as out:
        copy_tests_part(out, build, runnable)
        c = Cpio(out)
        listing = []
        for i, ko in enumerate(modules):
            dest = f"/vm/modules/{i:02d}-{module_name(ko)}.ko"
            c.file(dest, module_bytes(ko), 0o644)
            listing.append(dest)
        c.file("/vm/modules.list", ("\n".join(listing) + "\n").encode(), 0o644)
        c.file(GUEST_KERNEL_CONFIG, read_bytes(kernel_config), 0o644)
        c.finish()


# ---------------------------------------------------------------------------- guest


def boot(kernel, initrd, console_log, timeout, verbose, on_line, first=0):
    """Runs the guest from test number `first` on. Returns how it ended: "done" (the guest
    ran to its end marker), "exited" (it stopped before: a panic), "stalled" (no progress,
    killed) or "timeout" (the bound of the whole run, killed)."""
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise RunError("qemu-system-x86_64 not found (apt-get install qemu-system-x86)")
    # softlockup_panic: a CPU stuck in the kernel for 2 x watchdog_thresh seconds panics
    # the guest (panic=-1 and -no-reboot end qemu at once), so a stuck kernel costs a
    # minute, not the whole run, and its stack trace is on the console. no_timer_check: on
    # a loaded host the emulated CPU can be too slow for the boot-time IO-APIC timer check
    # (5.10 panicked "IO-APIC + timer doesn't work!" under load); the timer itself works.
    append = ("console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3 mitigations=off no_timer_check "
              f"softlockup_panic=1 watchdog_thresh=30 libbpfcpp.first={first}")
    cmd = [qemu, "-accel", accel(), "-cpu", "max",
           "-m", os.environ.get("LIBBPFCPP_VM_MEMORY", "2G"),
           "-smp", os.environ.get("LIBBPFCPP_VM_CPUS", "2"),
           "-kernel", kernel, "-initrd", initrd,
           "-append", append,
           "-nographic", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-nodefaults"]
    if verbose:
        log("booting: " + " ".join(shlex.quote(c) for c in cmd))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    ended = "exited"
    os.set_blocking(proc.stdout.fileno(), False)
    buf = b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    with open(console_log, "wb") as logf:
        while True:
            now = time.monotonic()
            if now >= deadline:
                ended = "timeout"
                proc.kill()
                break
            if now >= on_line.stall_deadline():
                ended = "stalled"
                proc.kill()
                break
            if not sel.select(min(deadline - now, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            chunk = proc.stdout.read()
            if not chunk:
                if proc.poll() is not None:
                    break
                continue
            logf.write(chunk)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                text = line.decode("utf-8", "replace").rstrip("\r")
                if verbose:
                    print(text, flush=True)
                on_line(text)
        if buf:
            on_line(buf.decode("utf-8", "replace").rstrip("\r"))
    proc.wait()
    if on_line.done:
        ended = "done"
    return ended


def console_tail(path, lines=40):
    with open(path, "rb") as f:
        tail = f.read()[-6000:].decode("utf-8", "replace").replace("\r", "")
    return tail.splitlines()[-lines:]


class Console:
    """Follows the guest's markers and collects each test's output and exit code."""

    def __init__(self, names, bounds, boot_bound):
        self.names = names
        self.bounds = bounds          # test id -> its bound in the guest, seconds
        self.kernel = None
        self.current = None
        self.output = []
        self.results = {}
        self.notes = []
        self.features = None  # the lines of feature_probe --report, once complete
        self.in_features = None
        self.done = False
        self.since = time.monotonic()
        self.boot_bound = boot_bound

    def stall_deadline(self):
        """When the host stops waiting for the next marker."""
        if self.current is not None:
            return self.since + self.bounds.get(self.current, GUEST_TEST_TIMEOUT) + 10 + STALL_GRACE
        return self.since + (self.boot_bound if self.kernel is None else STALL_GRACE)

    def __call__(self, line):
        if MARK in line:
            words = line[line.index(MARK) + len(MARK):].split()
            if not words:
                return
            self.since = time.monotonic()
            if words[0] == "kernel" and len(words) > 1:
                self.kernel = words[1]
                log(f"guest kernel {self.kernel} up")
            elif words[0] == "begin":
                self.current, self.output = words[1], []
            elif words[0] == "end" and self.current is not None:
                fields = dict(w.split("=", 1) for w in words[2:] if "=" in w)
                while self.output and not self.output[-1].strip():
                    self.output.pop()
                self.results[self.current] = (int(fields.get("rc", "1")), int(fields.get("seconds", "0")),
                                              "\n".join(self.output) + "\n")
                name = self.names.get(self.current, self.current)
                log(f"{name}: rc={fields.get('rc')} ({fields.get('seconds')} s)")
                self.current = None
            elif words[0] == "features-begin":
                self.in_features = []
            elif words[0] == "features-end" and self.in_features is not None:
                self.features, self.in_features = self.in_features, None
            elif words[0] == "note":
                self.notes.append(" ".join(words[1:]))
            elif words[0] == "done":
                self.done = True
        elif self.in_features is not None:
            self.in_features.append(line)
        elif self.current is not None:
            self.output.append(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--out")
    ap.add_argument("--release", default=os.environ.get("LIBBPFCPP_VM_RELEASE", "bookworm"),
                    help="the Debian release whose cloud kernel boots: bullseye (5.10), bookworm (6.1, "
                         "the default), trixie (6.12) or trixie-backports (7.3)")
    ap.add_argument("--kernel-dir", help="an unpacked linux-image package (default: scripts/vm/fetch-kernel.sh RELEASE)")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("LIBBPFCPP_VM_TIMEOUT", "1200")),
                    help="bound of the whole guest run in seconds")
    ap.add_argument("--test-timeout", type=int, default=0,
                    help="bound of each test in the guest (default: LIBBPFCPP_VM_TEST_TIMEOUT, else "
                         f"{GUEST_TEST_TIMEOUT} s, and never above the test's meson timeout)")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only the tests whose name contains NAME (repeatable)")
    ap.add_argument("--skip-suite", action="append", default=[], metavar="SUITE",
                    help="leave out the tests of meson suite SUITE (repeatable)")
    ap.add_argument("--verbose", action="store_true", help="echo the guest console")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or build.rstrip("/") + "-vm")
    started = time.monotonic()
    try:
        if not os.path.isfile(os.path.join(build, "build.ninja")):
            raise RunError(f"{build} is not a configured meson build directory")
        kernel_dir = args.kernel_dir
        if kernel_dir is None:
            r = subprocess.run(["bash", os.path.join(HERE, "fetch-kernel.sh"), args.release],
                               stdout=subprocess.PIPE, text=True)
            if r.returncode != 0:
                raise RunError(f"could not get the guest kernel of Debian {args.release} (see the message above)")
            kernel_dir = r.stdout.strip().splitlines()[-1]
        kernels = sorted(f for f in os.listdir(os.path.join(kernel_dir, "boot")) if f.startswith("vmlinuz-"))
        if not kernels:
            raise RunError(f"no boot/vmlinuz-* in {kernel_dir}")
        kernel = os.path.join(kernel_dir, "boot", kernels[-1])
        kver = kernels[-1][len("vmlinuz-"):]
        # Debian 13 has merged /usr: its modules are in usr/lib/modules.
        moddir = next((d for d in (os.path.join(kernel_dir, "lib", "modules", kver),
                                   os.path.join(kernel_dir, "usr", "lib", "modules", kver)) if os.path.isdir(d)), None)
        if moddir is None:
            raise RunError(f"no lib/modules/{kver} or usr/lib/modules/{kver} in {kernel_dir}")
        modules = module_load_order(moddir, WANTED_MODULES)
        missing = sorted(set(WANTED_MODULES) - {module_name(m) for m in modules} - builtin_modules(moddir))
        if missing:
            raise RunError(f"kernel {kver} has neither a module nor a built-in driver for {', '.join(missing)}")
        kernel_config = os.path.join(kernel_dir, "boot", "config-" + kver)
        if not os.path.isfile(kernel_config):
            raise RunError(f"no {kernel_config}: the guest's tests need its kernel configuration")

        tests = introspect(build)
        if args.skip_suite:
            tests = [t for t in tests
                     if not any(s.split(":")[-1] in args.skip_suite for s in t.get("suite") or [])]
        meson_names(tests)
        libbpf = libbpf_version(build)
        if args.only:
            tests = [t for t in tests if any(o in t["name"] for o in args.only)]
        runnable, skipped = plan(build, tests, 300)
        if tests and not runnable:
            raise RunError(f"none of the {len(tests)} tests of {build} can run in the guest "
                           f"({skipped[0][1]}); configure it with -Dstatic=true")
        bound = args.test_timeout or int(os.environ.get("LIBBPFCPP_VM_TEST_TIMEOUT", GUEST_TEST_TIMEOUT))
        runnable = [(t, f, min(to, bound)) for t, f, to in runnable]
        os.makedirs(os.path.join(out, "meson-logs"), exist_ok=True)
        if os.path.exists(os.path.join(out, "features.txt")):
            os.unlink(os.path.join(out, "features.txt"))
        initrd = os.path.join(out, "initramfs.cpio")
        build_initramfs(initrd, build, runnable, modules, kernel_config)
        log(f"{len(runnable)} tests in the guest, {len(skipped)} not runnable there; "
            f"initramfs {os.path.getsize(initrd) // (1 << 20)} MiB, kernel {kver}, libbpf {libbpf}; "
            f"LIBBPFCPP_TEST_TIME_SCALE={time_scale()}, {os.environ.get('LIBBPFCPP_VM_CPUS', '2')} CPUs")

        names = {f"{i:03d}": t["name"] for i, (t, _, _) in enumerate(runnable)}
        bounds = {f"{i:03d}": to for i, (t, _, to) in enumerate(runnable)}
        boot_start = time.monotonic()
        results, notes, events = {}, [], []
        kernel_label, ended, first, retried, boot_no = None, "exited", 0, set(), 0
        while first < len(runnable):
            left = args.timeout - (time.monotonic() - boot_start)
            if left <= 0:
                ended = "timeout"
                break
            console = Console(names, bounds, BOOT_BOUND)
            console_log = os.path.join(out, "console.log" if boot_no == 0 else f"console-{boot_no}.log")
            ended = boot(kernel, initrd, console_log, left, args.verbose, console, first)
            boot_no += 1
            results.update(console.results)
            notes += [n for n in console.notes if n not in notes]
            if console.features is not None:
                with open(os.path.join(out, "features.txt"), "w") as f:
                    f.write("".join(line + "\n" for line in console.features))
            kernel_label = kernel_label or console.kernel
            if ended == "done" or ended == "timeout":
                break
            # The guest stopped or stalled: go on from the test it was running, giving that
            # test one more run; a second stall there makes it a failure.
            if console.kernel is None:
                events.append(f"the guest did not start (boot {boot_no}); the end of {console_log}:")
                events += ["  | " + line for line in console_tail(console_log)]
                break
            at = console.current
            if at is None:
                pending = [k for k in sorted(names) if k >= f"{first:03d}" and k not in results]
                if not pending:
                    break
                at = pending[0]
            how = "stopped making progress" if ended == "stalled" else "stopped (panic or crash)"
            tail = console_tail(console_log)
            events.append(f"the {console.kernel} guest {how} while running {names[at]}; "
                          f"{'it ran again in a fresh guest' if at not in retried else 'a second time: failed'}; "
                          f"the end of the console:")
            events += ["  | " + line for line in tail]
            log(events[-len(tail) - 1])
            print("\n".join("  | " + line for line in tail), flush=True)
            if at in retried:
                results[at] = (1, 0, "\n".join(console.output) + "\n"
                               + f"(the guest {how} during this test twice; the end of its console:)\n"
                               + "\n".join(tail) + "\n")
                first = int(at) + 1
            else:
                retried.add(at)
                first = int(at)
        boot_seconds = time.monotonic() - boot_start
        with open(os.path.join(out, "guest-events.txt"), "w") as f:
            f.write("".join(e + "\n" for e in events))
    except RunError as e:
        print(f"vm: {e}", file=sys.stderr)
        return 2

    if kernel_label is None:
        print(f"vm: the guest did not start (no marker on the console); see {out}/console.log:", file=sys.stderr)
        with open(os.path.join(out, "console.log"), "rb") as f:
            sys.stderr.write(f.read()[-3000:].decode("utf-8", "replace"))
        return 2
    for n in notes:
        log(f"guest: {n}")
    timed_out = ended == "timeout"
    if timed_out:
        tail = console_tail(console_log)
        log("the guest run hit its time limit; the end of its console:")
        print("\n".join("  | " + line for line in tail), flush=True)
        with open(os.path.join(out, "guest-events.txt"), "a") as f:
            f.write(f"the {kernel_label} guest run hit its time limit of {args.timeout} s; the end of the console:\n")
            f.write("".join("  | " + line + "\n" for line in tail))

    failed = 0
    with open(os.path.join(out, "meson-logs", "testlog.json"), "w") as logf:
        def record(name, result, stdout, duration=0.0, rc=None):
            logf.write(json.dumps({"name": name, "result": result, "stdout": stdout, "duration": duration,
                                   "returncode": rc, "kernel": kernel_label, "libbpf": libbpf}) + "\n")

        for i, (t, _, timeout) in enumerate(runnable):
            res = results.get(f"{i:03d}")
            if res is None:
                why = "the guest run hit its time limit" if timed_out else "the guest stopped"
                partial = "\n".join(console.output) + "\n" if console.current == f"{i:03d}" else ""
                record(t["name"], "TIMEOUT" if timed_out else "ERROR", partial + f"({why} before this test ended)\n")
                failed += 1
                continue
            rc, seconds, stdout = res
            if rc == 0:
                result = "OK"
            elif rc == 77:
                result = "SKIP"
            elif rc in (124, 137, 143) and seconds >= timeout:
                result = "TIMEOUT"
            else:
                result = "FAIL"
            if result not in ("OK", "SKIP"):
                failed += 1
                shown = stdout.splitlines()[-FAILURE_LINES:]
                log(f"{t['name']} {result} on {kernel_label} (exit {rc}); its output:")
                print("\n".join("  | " + line for line in shown), flush=True)
            record(t["name"], result, stdout, float(seconds), rc)
        for t, reason in skipped:
            record(t["name"], "SKIP", f"skipped: all cases: not run on {kernel_label}: {reason}\n")

    log(f"guest run took {boot_seconds:.0f} s (whole leg {time.monotonic() - started:.0f} s); "
        f"results in {out}/meson-logs/testlog.json")
    if boot_no > 1:
        log(f"the guest was booted {boot_no} times (see {out}/guest-events.txt)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
