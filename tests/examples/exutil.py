"""Helpers of the example tests: run an example until it is ready, count cases, skip
with a reason (exit 77), and private network namespaces joined by a veth pair."""
import os
import select
import signal
import subprocess
import sys
import time
import uuid


class Cases:
    """Named checks; finish() prints the case counts scripts/test-summary.py reads."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        print(f"{'ok' if ok else 'FAILED'}: {what}" + (f" ({detail})" if detail else ""), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def finish(self):
        print(f"libbpfcpp-test-cases: passed={self.passed} failed={self.failed} skipped=0", flush=True)
        sys.exit(0 if self.failed == 0 else 1)


def time_scale():
    """How many times slower than an ordinary machine this one is taken to be
    (LIBBPFCPP_TEST_TIME_SCALE, at least 1; see docs/kernel-matrix.md): upper bounds on
    durations that a test asserts are multiplied by it."""
    try:
        return max(float(os.environ.get("LIBBPFCPP_TEST_TIME_SCALE", "1")), 1.0)
    except ValueError:
        return 1.0


def skip(reason):
    print(f"skipped: all cases: {reason}", flush=True)
    print("libbpfcpp-test-cases: passed=0 failed=0 skipped=1", flush=True)
    sys.exit(77)


def require_root():
    if os.geteuid() != 0:
        skip("needs root (loads BPF programs)")


class Tool:
    """An example started in the background; ready() waits for its 'Ctrl-C to end' line."""

    def __init__(self, argv, netns=None):
        if netns:
            argv = ["ip", "netns", "exec", netns] + list(argv)
        print("$ " + " ".join(argv), flush=True)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err_lines = []

    def ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        buf = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if r:
                line = self.proc.stderr.readline()
                if line:
                    self.err_lines.append(line)
                    print("  " + line.rstrip(), flush=True)
                    buf += line
                    if "Ctrl-C to end" in line:
                        return True
            if self.proc.poll() is not None:
                rest = self.proc.stderr.read()
                self.err_lines.append(rest)
                print("  " + rest.rstrip(), flush=True)
                return False
        return False

    def finish(self, timeout=30):
        """Interrupts the tool (if still running); returns (exit status, stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self.err_lines.append(err)
        print(out, end="", flush=True)
        if err:
            print(err, end="", flush=True)
        return self.proc.returncode, out, "".join(self.err_lines)


class VethPair:
    """Two network namespaces of this test, a veth pair between them, IPv4 addresses
    10.x.y.1 (side a) and 10.x.y.2 (side b). Removed by close()."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.ns_a, self.ns_b = f"lbcpp-a-{tag}", f"lbcpp-b-{tag}"
        self.if_a, self.if_b = f"va{tag}", f"vb{tag}"
        n = int(tag, 16)
        net = f"10.{(n >> 8) % 250 + 1}.{n % 250 + 1}"
        self.addr_a, self.addr_b = f"{net}.1", f"{net}.2"
        self.created = []

    def ip(self, *args, netns=None):
        cmd = (["ip", "netns", "exec", netns] if netns else []) + ["ip"] + list(args)
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def open(self):
        try:
            for ns in (self.ns_a, self.ns_b):
                subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, text=True)
                self.created.append(ns)
            self.ip("link", "add", self.if_a, "netns", self.ns_a, "type", "veth", "peer", "name", self.if_b,
                    "netns", self.ns_b)
            self.ip("addr", "add", self.addr_a + "/24", "dev", self.if_a, netns=self.ns_a)
            self.ip("addr", "add", self.addr_b + "/24", "dev", self.if_b, netns=self.ns_b)
            for ns, dev in ((self.ns_a, self.if_a), (self.ns_b, self.if_b)):
                self.ip("link", "set", "dev", dev, "up", netns=ns)
                self.ip("link", "set", "dev", "lo", "up", netns=ns)
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            detail = getattr(e, "stderr", "") or str(e)
            self.close()
            skip(f"cannot create network namespaces with a veth pair: {detail.strip()}")
        return self

    def close(self):
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created = []

    def run_in(self, ns, code, timeout=30):
        """Runs python3 -c CODE inside namespace ns; returns its stdout."""
        r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"python in {ns} failed: {r.stderr.strip()}")
        return r.stdout
