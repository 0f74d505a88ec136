#!/usr/bin/env python3
"""Overhead of the tcpconnect tools: C++ (libbpfcpp) against C (plain libbpf).

usage: bench.py TCPCONNECT TCPCONNECT_C CONNECT_LOAD [--rate N] [--seconds S] [--rounds R]

1. Fixed rate: both tools trace the same connect_load run at the same time (N connects/s
   for S seconds, loopback, ring buffer and perf buffer, text output to /dev/null). The
   figure is each tracer's CPU time (user + system, from /proc/PID/task/*/schedstat)
   while the load runs, summed over R rounds that alternate the start order; the ratio
   C++/C is the result (target <= 1.05).
2. Highest rate: one and then two connect_load processes as fast as they go; the highest
   total rate each tool traced with zero loss.
Needs root. Absolute numbers on a shared machine are noise; the ratio is the figure.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time


def cpu_ns(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Tracer:
    def __init__(self, exe, args):
        self.proc = subprocess.Popen([exe, "-v", "--attach", "tracepoint", *args], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.lines.append(line.strip())
                if "tracing TCP connects" in line:
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(30) or self.proc.poll() is not None:
            raise SystemExit(f"{exe} did not start: {self.lines}")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)
        self.reader.join(5)
        for line in self.lines:
            m = re.fullmatch(r"tcpconnect: (\d+) events, (\d+) lost", line)
            if m:
                return int(m.group(1)), int(m.group(2))
        raise SystemExit(f"no summary: {self.lines}")


def load(exe, ports, rate, seconds):
    procs = [subprocess.Popen([exe, str(p), str(rate), str(seconds)], stdout=subprocess.PIPE, text=True)
             for p in ports]
    connects, elapsed = 0, 0.0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        stats = dict(kv.split("=") for kv in out.split())
        if int(stats["failed"]) != 0:
            raise SystemExit(f"connect_load: {stats['failed']} connects failed")
        connects += int(stats["connects"])
        elapsed = max(elapsed, float(stats["seconds"]))
    return connects, elapsed


def fixed_rate(tools, loader, rate, seconds, rounds, extra):
    """Both tools trace the same connects at the same time, so whatever else the machine
    does weighs on both alike."""
    cpu = {name: 0 for name, _ in tools}
    events = {name: 0 for name, _ in tools}
    for r in range(rounds):
        order = tools if r % 2 == 0 else list(reversed(tools))
        port, = free_ports(1)
        tracers = [(name, Tracer(exe, ["-P", str(port), *extra])) for name, exe in order]
        before = {name: cpu_ns(t.proc.pid) for name, t in tracers}
        connects, _ = load(loader, [port], rate, seconds)
        time.sleep(0.3)  # let them drain what the last connects produced
        for name, t in tracers:
            cpu[name] += cpu_ns(t.proc.pid) - before[name]
        for name, t in tracers:
            ev, lost = t.stop()
            if ev + lost != connects or lost:
                raise SystemExit(f"{name}: {ev} events, {lost} lost for {connects} connects at {rate}/s")
            events[name] += ev
    return cpu, events


def max_rate(tools, loader, seconds):
    best = {}
    for name, exe in tools:
        best[name] = (0.0, None)
        for n in (1, 2):
            ports = free_ports(n)
            t = Tracer(exe, ["-P", ",".join(map(str, ports))])
            connects, elapsed = load(loader, ports, 0, seconds)
            time.sleep(0.3)
            ev, lost = t.stop()
            rate = connects / elapsed
            print(f"  {name:3}  {n} generator(s): {rate:8.0f} connects/s, {ev} events, {lost} lost", flush=True)
            if lost == 0 and ev == connects and rate > best[name][0]:
                best[name] = (rate, n)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cpp")
    ap.add_argument("c")
    ap.add_argument("load")
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/tcpconnect: needs root", file=sys.stderr)
        return 77
    tools = [("c++", os.path.abspath(a.cpp)), ("c", os.path.abspath(a.c))]
    print(f"tcpconnect overhead: {a.rate} connects/s for {a.seconds}s, {a.rounds} rounds per tool, "
          "tracepoint strategy, text output to /dev/null")
    for label, extra in (("ring buffer", []), ("perf buffer", ["--perf"])):
        cpu, events = fixed_rate(tools, a.load, a.rate, a.seconds, a.rounds, extra)
        for name, _ in tools:
            print(f"  {label}  {name:3}: {cpu[name] / 1e6:8.1f} ms CPU for {events[name]} events "
                  f"({cpu[name] / max(events[name], 1):.0f} ns/event)")
        print(f"  {label}  ratio C++/C: {cpu['c++'] / max(cpu['c'], 1):.3f}", flush=True)
    print("highest connect rate traced with zero loss (ring buffer):")
    best = max_rate(tools, a.load, a.seconds)
    for name, (rate, n) in best.items():
        note = ("no loss at the highest rate the generators reach" if n == 2
                else "losses at the next step" if n == 1 else "losses at every step")
        print(f"  {name:3}: {rate:.0f} connects/s ({note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
