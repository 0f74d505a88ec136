#!/usr/bin/env python3
"""End-to-end tests of the tcpconnect tools (C++ on libbpfcpp, C on plain libbpf).

usage: e2e.py TCPCONNECT TCPCONNECT_C CONNECT_LOAD [CASE-SUBSTRING...]

Starts the real binaries, makes real connections to loopback servers started here
(bash /dev/tcp, python3 sockets, curl; as root and as uid 65534) and checks every field
of every event, the filters, the C/C++ identity, the error paths and a flood. Prints one
line per case, then `libbpfcpp-test-cases: passed=N failed=N skipped=N`; exits 77 when
every case skipped.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CPP, C, LOAD = (os.path.abspath(p) for p in sys.argv[1:4])
ONLY = sys.argv[4:]
TOOLS = [("c++", CPP), ("c", C)]
NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
CLEAN_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}

CASES = []


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def case(fn):
    CASES.append(fn)
    return fn


def check(cond, what):
    if not cond:
        raise Failure(what)


# ---- loopback servers and clients --------------------------------------------------------

class Server:
    """A loopback TCP server on an ephemeral port; records each client's address and
    answers HTTP requests (for curl)."""

    def __init__(self, family=4):
        self.family = family
        self.host = "127.0.0.1" if family == 4 else "::1"
        self.sock = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6)
        self.sock.bind((self.host, 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.closed = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                if self.closed:
                    return  # close() shut the socket down: accept fails with EINVAL
                continue  # e.g. ECONNABORTED: a client that closed before accept; keep serving
            with self.cond:
                self.peers.append(peer[1])
                self.cond.notify_all()
            conn.settimeout(1)
            try:
                data = conn.recv(4096)
                if data.startswith(b"GET"):
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except OSError:
                pass
            conn.close()

    def wait_peers(self, n, timeout=10):
        with self.cond:
            self.cond.wait_for(lambda: len(self.peers) >= n, timeout)
            check(len(self.peers) >= n, f"server on port {self.port}: {len(self.peers)} of {n} connections")
            return list(self.peers)

    def close(self):
        """Ends the accept thread, then frees the descriptor.

        Closing the descriptor alone is not enough: Linux does not wake a thread blocked
        in accept() when another thread closes the descriptor, and when a signal
        interrupts that accept() the kernel restarts the call with the same descriptor
        number. Such a signal comes: a SIGCHLD from an exiting tracer or client is
        queued, not discarded, while the main thread blocks signals to spawn a process
        (subprocess blocks all of them around vfork()), and goes to another thread,
        blocked in a system call the signal interrupts. By then the number belongs
        to the next Server's socket (the lowest free one), so the old thread accepted,
        answered and counted one of the next server's connections, and that server saw
        "2 of 3 connections". shutdown() makes the blocked (or restarted) accept() fail
        on this same socket; the number is freed only once the thread is gone."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(10)
        # A thread still running keeps the descriptor, so its number cannot be reused.
        check(not self.thread.is_alive(), f"server on port {self.port}: accept thread did not end")
        self.sock.close()


PY_CLIENT = r"""
import json, os, socket, sys, threading
host, port, family, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "wait"
if wait:
    sys.stdin.readline()
out = {}
def connect():
    s = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET)
    s.connect((host, port))
    out["sport"] = s.getsockname()[1]
    out["tid"] = threading.get_native_id()
    s.close()
t = threading.Thread(target=connect)  # a thread of its own: tid differs from pid
t.start()
t.join()
out["pid"] = os.getpid()
out["comm"] = open("/proc/self/comm").read().strip()
print(json.dumps(out), flush=True)
"""


def set_loginuid(value):
    """A preexec function giving the client its own audit login uid."""
    def fn():
        try:
            with open("/proc/self/loginuid", "w") as f:
                f.write(str(value))
        except OSError:
            pass
    return fn


def own_loginuid():
    try:
        return int(open("/proc/self/loginuid").read())
    except (OSError, ValueError):
        return 4294967295


def client_event(kind, server, as_nobody=False, loginuid=None, host=None, family=None):
    host = host or server.host
    family = family or server.family
    before = len(server.peers)
    prefix = AS_NOBODY if as_nobody else []
    pre = set_loginuid(loginuid) if loginuid is not None else None
    if kind == "bash":
        cmd = prefix + ["bash", "-c", f"exec 3<>/dev/tcp/{host}/{server.port}; exec 3>&-"]
    elif kind == "curl":
        url_host = host if ":" not in host else f"[{host}]"
        cmd = prefix + ["curl", "-g", "-s", "-m", "5", "--noproxy", "*", f"http://{url_host}:{server.port}/"]
    else:
        cmd = prefix + [sys.executable, "-c", PY_CLIENT, host, str(server.port), str(family), "now"]
    t0 = time.time_ns()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=pre, env=CLEAN_ENV)
    out, err = p.communicate(timeout=20)
    t1 = time.time_ns()
    check(p.returncode == 0, f"{kind} client failed ({p.returncode}): {err.strip()}")
    peers = server.wait_peers(before + 1)
    sport = peers[before]
    ev = {
        "pid": p.pid, "tid": p.pid, "comm": kind,
        "uid": NOBODY if as_nobody else 0, "gid": NOBODY if as_nobody else 0,
        "loginuid": loginuid if loginuid is not None else own_loginuid(),
        "family": family, "sport": sport, "dport": server.port,
        "saddr": host, "daddr": host,
    }
    if kind == "python3":
        info = json.loads(out)
        check(info["sport"] == sport, f"python3 client getsockname port {info['sport']} != server's view {sport}")
        check(info["pid"] == p.pid, "python3 client pid")
        ev["tid"] = info["tid"]
        ev["comm"] = info["comm"]
    if kind == "curl":
        del ev["tid"]  # curl may connect from a resolver-less worker thread on some builds
    ev["_window"] = (t0, t1)
    return ev


# ---- the tracers ---------------------------------------------------------------------------

class Tracer:
    """A running tcpconnect; ready once it says it is tracing (-v)."""

    def __init__(self, exe, *args, cwd=None, expect_ready=True):
        self.exe = exe
        self.args = list(args)
        self.proc = subprocess.Popen([exe, "-v", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=cwd)
        self.err_lines = []
        self.ready = threading.Event()
        self.started = False
        self.reader = threading.Thread(target=self._read_err, daemon=True)
        self.reader.start()
        if expect_ready and not self.ready.wait(30):
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"{os.path.basename(exe)} {' '.join(args)} did not start: {' | '.join(self.err_lines)}")

    def _read_err(self):
        for line in self.proc.stderr:
            self.err_lines.append(line.rstrip("\n"))
            if "tracing TCP connects" in line:
                self.started = True
                self.ready.set()
        self.ready.set()

    def stop(self, sig=signal.SIGINT):
        """Ends it with `sig`; returns stdout. Checks the clean exit and the summary."""
        self.proc.send_signal(sig)
        try:
            out = self.proc.stdout.read()
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure(f"{self.exe} did not end on signal {sig}")
        self.reader.join(5)
        name = os.path.basename(self.exe)
        check(rc == 0, f"{name} exited with {rc}: {' | '.join(self.err_lines[-5:])}")
        summary = [l for l in self.err_lines if re.fullmatch(r"tcpconnect: \d+ events, \d+ lost", l)]
        check(len(summary) == 1, f"{name}: no summary line in {self.err_lines}")
        self.events, self.lost = (int(x) for x in re.findall(r"\d+", summary[0]))
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_all(*args):
    return [(name, Tracer(exe, *args)) for name, exe in TOOLS]


def stop_all(tracers, sig=signal.SIGINT):
    return {name: t.stop(sig) for name, t in tracers}


def kill_all(tracers):
    for _, t in tracers:
        t.kill()


def parse_json_lines(text, name):
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            raise Failure(f"{name}: not a JSON line: {line!r}")
    return events


JSON_KEYS = ["ts_ns", "pid", "tid", "uid", "gid", "loginuid", "comm", "family", "saddr", "sport", "daddr", "dport"]


def check_events(name, got, expected):
    """Every expected event exactly once, with every field right; nothing else."""
    for e in got:
        check(list(e.keys()) == JSON_KEYS, f"{name}: JSON keys {list(e.keys())}")
    by_key = {}
    for e in got:
        by_key.setdefault((e["family"], e["sport"], e["dport"]), []).append(e)
    for exp in expected:
        key = (exp["family"], exp["sport"], exp["dport"])
        found = by_key.pop(key, [])
        check(len(found) == 1, f"{name}: {len(found)} events for {exp['comm']} port {exp['sport']}, expected 1")
        ev = found[0]
        for field, value in exp.items():
            if field.startswith("_"):
                continue
            check(ev[field] == value, f"{name}: {exp['comm']} event field {field} is {ev[field]!r}, expected {value!r}")
        lo, hi = exp["_window"]
        check(lo - 10**9 <= ev["ts_ns"] <= hi + 10**9,
              f"{name}: ts_ns {ev['ts_ns']} outside the client's run [{lo}, {hi}] (CLOCK_REALTIME)")
    check(not by_key, f"{name}: unexpected events {list(by_key.values())}")


# ---- cases -------------------------------------------------------------------------------

@case
def every_field_ipv4_ipv6_several_clients_root_and_nobody():
    s4, s6 = Server(4), Server(6)
    tracers = start_all("--json", "-P", f"{s4.port},{s6.port}")
    try:
        expected = []
        lid = 7000
        for server in (s4, s6):
            for kind in ("bash", "python3", "curl"):
                for nobody in (False, True):
                    lid += 1
                    expected.append(client_event(kind, server, as_nobody=nobody, loginuid=lid))
        # An IPv6 socket to a v4-mapped address: reported once, as IPv6.
        expected.append(client_event("python3", s4, host="::ffff:127.0.0.1", family=6, loginuid=lid + 1))
        time.sleep(0.3)
        outs = stop_all(tracers)
    finally:
        kill_all(tracers)
        s4.close()
        s6.close()
    for name, out in outs.items():
        check_events(name, parse_json_lines(out, name), expected)
    for name, t in tracers:
        check(t.events == len(expected) and t.lost == 0, f"{name}: summary {t.events} events, {t.lost} lost")


@case
def text_output_identical_between_cpp_and_c():
    s4, s6 = Server(4), Server(6)
    tracers = start_all("-P", f"{s4.port},{s6.port}")
    try:
        evs = [client_event(k, s, loginuid=4242) for s in (s4, s6) for k in ("python3", "bash", "curl")]
        time.sleep(0.3)
        outs = stop_all(tracers)
    finally:
        kill_all(tracers)
        s4.close()
        s6.close()
    check(outs["c++"] == outs["c"], f"outputs differ:\nC++:\n{outs['c++']}\nC:\n{outs['c']}")
    lines = outs["c++"].splitlines()
    check(len(lines) == len(evs), f"{len(lines)} lines for {len(evs)} connections")
    for e in evs:
        want = (f"{e['comm']} (pid: {e['pid']}) (loginuid: 4242) | (proto: 6) "
                f"{e['saddr']} ({e['sport']}) => {e['daddr']} ({e['dport']})")
        check(want in lines, f"line {want!r} missing from:\n{outs['c++']}")


@case
def json_and_count_output_identical_between_cpp_and_c():
    s4 = Server(4)
    tracers = start_all("--json", "-P", str(s4.port))
    counters = start_all("-c", "-P", str(s4.port))
    try:
        for _ in range(3):
            client_event("python3", s4)
        client_event("bash", s4)
        time.sleep(0.3)
        outs = stop_all(tracers)
        counts = stop_all(counters)
    finally:
        kill_all(tracers)
        kill_all(counters)
        s4.close()
    strip = {n: [{k: v for k, v in e.items() if k != "ts_ns"} for e in parse_json_lines(o, n)] for n, o in outs.items()}
    check(strip["c++"] == strip["c"], f"JSON differs (ts_ns aside):\n{outs['c++']}\n{outs['c']}")
    check(counts["c++"] == counts["c"], f"-c tables differ:\n{counts['c++']}\n{counts['c']}")
    rows = counts["c++"].splitlines()
    check(re.fullmatch(r"SADDR\s+DADDR\s+DPORT\s+CONNECTS", rows[0]) is not None, f"table header {rows[0]!r}")
    check(rows[1:] == [f"{'127.0.0.1':<39} {'127.0.0.1':<39} {s4.port:<5} 4"], f"-c table rows {rows[1:]}")


PY_NAMED_CLIENT = r"""
import ctypes, socket, sys
name = bytes.fromhex(sys.argv[3])
ctypes.CDLL(None, use_errno=True).prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
s = socket.socket()
s.connect((sys.argv[1], int(sys.argv[2])))
print(s.getsockname()[1], flush=True)
s.close()
"""

# Process names any local user can pick, and how each output shows them.
HOSTILE_NAMES = [
    # (comm bytes, text mode, JSON "comm" after decoding)
    (b"ev\nil\x1b[31m", "ev\\x0ail\\x1b[31m", "ev\nil\x1b[31m"),
    ("caf\u00e9-\u2713".encode(), "caf\u00e9-\u2713", "caf\u00e9-\u2713"),
    (b"a\\b\xff\xc3", "a\\\\b\\xff\\xc3", "a\\b\ufffd\ufffd"),
    ("x\u0085y".encode(), "x\\xc2\\x85y", "x\u0085y"),
]


def named_clients(server):
    """One connection per HOSTILE_NAMES entry, from a process of that name; the ports."""
    ports = []
    for comm, _, _ in HOSTILE_NAMES:
        out = subprocess.run([sys.executable, "-c", PY_NAMED_CLIENT, server.host, str(server.port), comm.hex()],
                             stdout=subprocess.PIPE, check=True, timeout=20, env=CLEAN_ENV).stdout
        ports.append(int(out))
    server.wait_peers(len(ports))
    return ports


def stop_all_bytes(tracers):
    """stop_all(), checking that the output is UTF-8 (hostile bytes must not get through)."""
    outs = {}
    for name, t in tracers:
        try:
            outs[name] = t.stop()
        except UnicodeDecodeError as e:
            raise Failure(f"{name}: output is not UTF-8: {e}")
    return outs


@case
def hostile_process_names_are_escaped_identically_in_text_and_json():
    s4 = Server(4)
    texts = start_all("-P", str(s4.port))
    jsons = start_all("--json", "-P", str(s4.port))
    try:
        ports = named_clients(s4)
        time.sleep(0.3)
        text_outs = stop_all_bytes(texts)
        json_outs = stop_all_bytes(jsons)
    finally:
        kill_all(texts)
        kill_all(jsons)
        s4.close()
    check(text_outs["c++"] == text_outs["c"], f"text outputs differ:\nC++:\n{text_outs['c++']}\nC:\n{text_outs['c']}")
    lines = text_outs["c++"].splitlines()
    check(len(lines) == len(HOSTILE_NAMES), f"{len(lines)} lines for {len(HOSTILE_NAMES)} connections: {lines!r}")
    for (comm, text, _), port in zip(HOSTILE_NAMES, ports):
        want = f"{text} (pid: "
        line = [l for l in lines if f"({port}) =>" in l]
        check(len(line) == 1 and line[0].startswith(want), f"name {comm!r}: line {line!r} does not start {want!r}")
    for l in lines:
        check(all(c >= " " and c != "\x7f" and not ("\x80" <= c < "\xa0") for c in l),
              f"a control character reached the terminal: {l!r}")
    events = {n: parse_json_lines(o, n) for n, o in json_outs.items()}
    strip = {n: [{k: v for k, v in e.items() if k != "ts_ns"} for e in evs] for n, evs in events.items()}
    check(strip["c++"] == strip["c"], f"JSON differs (ts_ns aside):\n{json_outs['c++']}\n{json_outs['c']}")
    by_port = {e["sport"]: e["comm"] for e in events["c++"]}
    for (comm, _, decoded), port in zip(HOSTILE_NAMES, ports):
        check(by_port.get(port) == decoded, f"name {comm!r}: JSON comm {by_port.get(port)!r}, expected {decoded!r}")
    check("caf\u00e9-\u2713" in json_outs["c++"], f"UTF-8 name not passed through: {json_outs['c++']!r}")


@case
def filter_pid():
    s4 = Server(4)
    target = subprocess.Popen([sys.executable, "-c", PY_CLIENT, s4.host, str(s4.port), "4", "wait"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        tracers = start_all("--json", "-p", str(target.pid))
        try:
            client_event("python3", s4)            # another process: filtered out
            client_event("bash", s4)
            out, _ = target.communicate("go\n", timeout=20)
            info = json.loads(out)
            s4.wait_peers(3)
            time.sleep(0.3)
            outs = stop_all(tracers)
        finally:
            kill_all(tracers)
    finally:
        if target.poll() is None:
            target.kill()
        s4.close()
    for name, out in outs.items():
        evs = parse_json_lines(out, name)
        check([(e["pid"], e["tid"], e["sport"]) for e in evs] == [(target.pid, info["tid"], info["sport"])],
              f"{name} -p {target.pid}: got {evs}")


@case
def filter_uid():
    s4 = Server(4)
    tracers = start_all("--json", "-u", str(NOBODY), "-P", str(s4.port))
    try:
        client_event("bash", s4)
        want = client_event("bash", s4, as_nobody=True)
        client_event("curl", s4)
        want2 = client_event("curl", s4, as_nobody=True)
        time.sleep(0.3)
        outs = stop_all(tracers)
    finally:
        kill_all(tracers)
        s4.close()
    for name, out in outs.items():
        check_events(name, parse_json_lines(out, name), [want, want2])


@case
def filter_ports():
    a, b, c = Server(4), Server(4), Server(4)
    tracers = start_all("--json", "-P", f"{a.port},{c.port}")
    try:
        want = [client_event("bash", a)]
        client_event("bash", b)
        want.append(client_event("python3", c))
        time.sleep(0.3)
        outs = stop_all(tracers)
    finally:
        kill_all(tracers)
        for s in (a, b, c):
            s.close()
    for name, out in outs.items():
        check_events(name, parse_json_lines(out, name), want)


@case
def filter_family():
    s4, s6 = Server(4), Server(6)
    ports = f"{s4.port},{s6.port}"
    v4 = start_all("--json", "-4", "-P", ports)
    v6 = start_all("--json", "-6", "-P", ports)
    try:
        e4 = client_event("python3", s4)
        e6 = client_event("python3", s6)
        time.sleep(0.3)
        out4, out6 = stop_all(v4), stop_all(v6)
    finally:
        kill_all(v4)
        kill_all(v6)
        s4.close()
        s6.close()
    for name in out4:
        check_events(name + " -4", parse_json_lines(out4[name], name), [e4])
        check_events(name + " -6", parse_json_lines(out6[name], name), [e6])


@case
def perf_buffer_mode():
    s4, s6 = Server(4), Server(6)
    tracers = start_all("--json", "--perf", "-P", f"{s4.port},{s6.port}")
    try:
        want = [client_event("bash", s4), client_event("curl", s6, as_nobody=True, loginuid=99)]
        time.sleep(0.3)
        outs = stop_all(tracers)
    finally:
        kill_all(tracers)
        s4.close()
        s6.close()
    for name, out in outs.items():
        check_events(name, parse_json_lines(out, name), want)
    for name, t in tracers:
        check(any("events: perf buffer (--perf)" in l for l in t.err_lines), f"{name}: -v does not say perf buffer")


@case
def timestamp_and_uid_columns():
    s4 = Server(4)
    tracers = start_all("-t", "-U", "-P", str(s4.port))
    try:
        e = client_event("bash", s4, as_nobody=True, loginuid=31)
        time.sleep(0.3)
        outs = stop_all(tracers)
    finally:
        kill_all(tracers)
        s4.close()
    for name, out in outs.items():
        lines = out.splitlines()
        check(len(lines) == 1, f"{name}: {lines}")
        m = re.fullmatch(r"(\d+\.\d{3}) +(\d+) +(.*)", lines[0])
        check(m is not None, f"{name}: columns in {lines[0]!r}")
        check(0 <= float(m.group(1)) < 60, f"{name}: time column {m.group(1)}")
        check(int(m.group(2)) == NOBODY, f"{name}: uid column {m.group(2)}")
        check(m.group(3) == f"bash (pid: {e['pid']}) (loginuid: 31) | (proto: 6) 127.0.0.1 ({e['sport']}) => "
              f"127.0.0.1 ({s4.port})", f"{name}: {m.group(3)!r}")


@case
def duration_ends_by_itself_and_signals_end_cleanly():
    for name, exe in TOOLS:
        t0 = time.monotonic()
        p = subprocess.run([exe, "-d", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        took = time.monotonic() - t0
        check(p.returncode == 0, f"{name} -d 1: exit {p.returncode}: {p.stderr}")
        check(re.search(r"^tcpconnect: \d+ events, 0 lost$", p.stderr, re.M), f"{name}: summary: {p.stderr!r}")
        check(took < 10, f"{name} -d 1 took {took:.1f}s")
        for sig in (signal.SIGINT, signal.SIGTERM):
            t = Tracer(exe, "-P", "1")
            t0 = time.monotonic()
            t.stop(sig)
            check(time.monotonic() - t0 < 3, f"{name}: slow to end on signal {sig}")


@case
def runs_alone_from_any_directory():
    with tempfile.TemporaryDirectory() as d:
        for name, exe in TOOLS:
            copy = os.path.join(d, os.path.basename(exe))
            shutil.copy(exe, copy)
            p = subprocess.run([copy, "-d", "0.2", "--attach", "tracepoint"], cwd="/", stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=30)
            check(p.returncode == 0, f"{name} copied to {d}, run from /: exit {p.returncode}: {p.stderr}")


@case
def auto_attach_says_what_it_chose_and_why():
    for name, exe in TOOLS:
        t = Tracer(exe, "-P", "1")
        t.stop()
        attached = [l for l in t.err_lines if l.startswith("tcpconnect: attached: ")]
        check(len(attached) == 1, f"{name}: -v lines {t.err_lines}")
        if kernel_has_kprobes() or feature("fentry")[0]:
            continue
        check(attached[0] == "tcpconnect: attached: tracepoint sock:inet_sock_set_state "
              "(neither fentry nor kprobes are usable)", f"{name}: {attached[0]}")
        for s in ("fentry", "kprobe"):
            check(any(l.startswith(f"tcpconnect: {s}: not usable: ") for l in t.err_lines),
                  f"{name}: -v does not say why {s} is not usable: {t.err_lines}")


_features = {}


def feature(name):
    """The test harness's probe of a kernel feature (tests/harness/features.cpp), as
    (available, reason). On a kernel whose configuration is known, a feature it should
    have but refuses is a failure of the calling case, not a skip."""
    if name not in _features:
        probe = os.environ.get("LIBBPFCPP_FEATURE_PROBE")
        if not probe:
            raise Failure("LIBBPFCPP_FEATURE_PROBE does not name the harness's feature_probe")
        p = subprocess.run([probe, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        why = (p.stdout.strip() or p.stderr.strip())
        if p.returncode not in (0, 77):
            raise Failure(f"kernel feature {name}: {why}")
        _features[name] = (p.returncode == 0, why)
    return _features[name]


def kernel_has_kprobes():
    return feature("kprobes")[0]


def strategy_case(strategy):
    def run():
        s4, s6 = Server(4), Server(6)
        tracers = start_all("--json", "--attach", strategy, "-P", f"{s4.port},{s6.port}")
        try:
            want = [client_event("python3", s4, loginuid=55), client_event("bash", s6, as_nobody=True),
                    client_event("curl", s4, as_nobody=True),
                    client_event("python3", s4, host="::ffff:127.0.0.1", family=6)]
            time.sleep(0.3)
            outs = stop_all(tracers)
        finally:
            kill_all(tracers)
            s4.close()
            s6.close()
        for name, out in outs.items():
            check_events(f"{name} --attach {strategy}", parse_json_lines(out, name), want)
    run.__name__ = f"strategy_{strategy}_reports_every_field"
    return run


# The kprobe and fentry strategies get the same checks, field by field, from
# tests/vm/tcpconnect_attach_test.cpp (test tcpconnect-attach): a static executable, which
# the qemu guests of the kernel matrix run (they have both strategies, and no Python).
case(strategy_case("tracepoint"))


def one_line_failure(name, args, preexec=None, prefix=()):
    p = subprocess.run(list(prefix) + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                       preexec_fn=preexec)
    lines = p.stderr.splitlines()
    check(p.returncode != 0, f"{name} {args[1:]}: exit 0")
    check(len(lines) == 1 and lines[0].startswith("tcpconnect: "),
          f"{name} {args[1:]}: stderr is not one 'tcpconnect: ' line: {p.stderr!r}")
    check(p.stdout == "", f"{name} {args[1:]}: stdout {p.stdout!r}")
    return lines[0]


@case
def bad_input_fails_with_one_line():
    bad = [
        (["--bogus"], "unknown option '--bogus'"),
        (["-x"], "unknown option '-x'"),
        (["-P", "0"], "invalid port list"),
        (["-P", "70000"], "invalid port list"),
        (["-P", "80,,443"], "invalid port list"),
        (["-P", ",80"], "invalid port list"),
        (["-P", "http"], "invalid port list"),
        (["-P", ",".join(str(p) for p in range(1, 66))], "invalid port list"),
        (["-p", "0"], "invalid PID"),
        (["-p", "abc"], "invalid PID"),
        (["-u", "-1"], "invalid UID"),
        (["-d", "0"], "invalid duration"),
        (["--attach", "uprobe"], "invalid --attach"),
        (["-4", "-6"], "exclude each other"),
        (["-p"], "needs a value"),
        (["extra"], "unexpected argument"),
        (["--json=1"], "option '--json' takes no value"),
        (["--count=3"], "option '--count' takes no value"),
        (["--verbose=yes"], "option '--verbose' takes no value"),
    ]
    for name, exe in TOOLS:
        for args, text in bad:
            line = one_line_failure(name, [exe] + args)
            check(text in line, f"{name} {args}: {line!r} does not say {text!r}")
        line = one_line_failure(name, [exe, "-d", "1"], prefix=AS_NOBODY)
        check("root" in line, f"{name} as uid {NOBODY}: {line!r}")
        h = subprocess.run([exe, "-h"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
        check(h.returncode == 0 and h.stdout.startswith("Usage: tcpconnect") and "--attach" in h.stdout,
              f"{name} -h: {h.returncode} {h.stdout[:80]!r}")
    check(subprocess.run([CPP, "-h"], stdout=subprocess.PIPE).stdout ==
          subprocess.run([C, "-h"], stdout=subprocess.PIPE).stdout, "-h texts differ between C++ and C")


@case
def forcing_a_missing_strategy_fails_with_one_line():
    missing = []
    if not kernel_has_kprobes():
        missing.append(("kprobe", "kprobes are not available"))
    if not feature("fentry")[0]:
        missing.append(("fentry", "fentry/fexit programs"))
    if not missing:
        raise Skip("this kernel has every attach strategy")
    for strategy, text in missing:
        for name, exe in TOOLS:
            line = one_line_failure(name, [exe, "--attach", strategy])
            check(line.startswith(f"tcpconnect: --attach {strategy}: ") and text in line, f"{name}: {line!r}")


def flood(name, exe, extra, seconds=3, stall=False):
    """Connects as fast as connect_load can to a port only the tracer watches. With
    `stall` the tracer is stopped (SIGSTOP) during the flood, so its buffer overflows
    and the loss accounting is what keeps events + lost equal to the connects."""
    port = free_port()
    after = Server(4)
    t = Tracer(exe, "-c", "-P", f"{port},{after.port}", *extra)
    extra_connects = 0
    try:
        if stall:
            t.proc.send_signal(signal.SIGSTOP)
        stats = {"connects": 0, "failed": 0, "seconds": 0.0}
        deadline = time.monotonic() + 30
        # A stopped tracer must see more connects than its buffer holds (a 1 MiB ring
        # is 10924 events): on a slow machine that takes more than one run.
        while True:
            p = subprocess.run([LOAD, str(port), "0", str(seconds)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=seconds + 30)
            check(p.returncode == 0, f"connect_load: {p.stderr}")
            run = dict(kv.split("=") for kv in p.stdout.split())
            for k in stats:
                stats[k] += type(stats[k])(run[k])
            if not stall or stats["connects"] >= 15000 or time.monotonic() > deadline:
                break
        if stall:
            t.proc.send_signal(signal.SIGCONT)
            # A perf buffer reports a loss with the next record written on that CPU:
            # one more connect from each CPU, once the tracer has emptied its buffers (a
            # record that finds the buffer still full is lost with the loss report; seen
            # on a loaded machine).
            time.sleep(1)
            for cpu in sorted(os.sched_getaffinity(0)):
                subprocess.run(["taskset", "-c", str(cpu), "bash", "-c",
                                f"exec 3<>/dev/tcp/127.0.0.1/{after.port}; exec 3>&-"], check=True, timeout=20)
                extra_connects += 1
        time.sleep(0.5)
        out = t.stop()
    finally:
        if t.proc.poll() is None:
            t.proc.send_signal(signal.SIGCONT)
        t.kill()
        after.close()
    connects, failed = int(stats["connects"]), int(stats["failed"])
    rate = connects / float(stats["seconds"])
    rows = out.splitlines()[1:]
    table = sum(int(r.split()[-1]) for r in rows)
    label = f"{name} {' '.join(extra) or 'ring buffer'}{' stalled' if stall else ''}"
    print(f"  flood {label}: {connects} connects in {stats['seconds']:.3f}s ({rate:.0f}/s), "
          f"{t.events} events, {t.lost} lost", flush=True)
    check(failed == 0, f"{label}: {failed} connects failed")
    check(rate >= 1000, f"{label}: only {rate:.0f} connects/s; the flood needs thousands per second")
    check(table == t.events, f"{label}: table counts {table}, summary {t.events}")
    check(t.events + t.lost == connects + extra_connects,
          f"{label}: {t.events} events + {t.lost} lost != {connects} + {extra_connects} connects")
    if stall:
        check(t.lost > 0, f"{label}: a stopped tracer lost nothing; the flood was too small to test loss")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@case
def flood_every_connect_reported_or_counted_lost():
    for name, exe in TOOLS:
        for extra in ([], ["--perf"]):
            flood(name, exe, extra)


@case
def flood_into_a_stopped_tracer_counts_what_it_loses():
    for name, exe in TOOLS:
        for extra in ([], ["--perf"]):
            flood(name, exe, extra, seconds=4, stall=True)


# ---- runner --------------------------------------------------------------------------------

def main():
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for fn in CASES:
        name = fn.__name__
        if ONLY and not any(o in name for o in ONLY):
            continue
        try:
            if os.geteuid() != 0:
                raise Skip("needs root (loads BPF programs)")
            fn()
            counts["passed"] += 1
            print(f"ok: {name}", flush=True)
        except Skip as e:
            counts["skipped"] += 1
            print(f"skipped: {name}: {e}", flush=True)
        except Failure as e:
            counts["failed"] += 1
            print(f"FAILED: {name}: {e}", flush=True)
        except Exception as e:  # a crash of the test itself is a failure too
            counts["failed"] += 1
            print(f"FAILED: {name}: {type(e).__name__}: {e}", flush=True)
    print(f"libbpfcpp-test-cases: passed={counts['passed']} failed={counts['failed']} skipped={counts['skipped']}")
    if counts["failed"]:
        return 1
    return 77 if counts["passed"] == 0 and counts["skipped"] > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
