#!/usr/bin/env python3
"""Overhead of the tcpconnect tools: C++ (libbpfcpp) against C (plain libbpf).

usage: bench.py TCPCONNECT TCPCONNECT_C CONNECT_LOAD [--rate N] [--seconds S] [--rounds R]

1. Fixed rate: both tools trace the same connect_load run at the same time (N connects/s
   for S seconds, loopback, ring buffer and perf buffer, text output to /dev/null). The
   figure is each tracer's CPU time (user + system, from /proc/PID/task/*/schedstat)
   while the load runs, summed over R rounds that alternate the start order; the ratio
   C++/C is the result (target <= 1.05).
2. Drain: the same with both tools stopped (SIGSTOP) during the connects, then the CPU
   time to drain the full buffer: the processing cost without a wake-up per event.
3. Highest rate: one and then two connect_load processes as fast as they go; the highest
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


def fixed_rate(tools, loader, rate, seconds, rounds, extra, stall=False):
    """Both tools trace the same connects at the same time, so whatever else the machine
    does weighs on both alike; rounds alternate which one attaches first. With `stall`
    both are stopped (SIGSTOP) while the connects are made and the CPU time is that of
    draining the full buffer: the processing cost without a wake-up per event.
    Returns per-round CPU nanoseconds per event for each tool."""
    per_event = {name: [] for name, _ in tools}
    for r in range(rounds):
        order = tools if r % 2 == 0 else list(reversed(tools))
        port, = free_ports(1)
        tracers = [(name, Tracer(exe, ["-P", str(port), *extra])) for name, exe in order]
        before = {name: cpu_ns(t.proc.pid) for name, t in tracers}
        if stall:
            for _, t in tracers:
                t.proc.send_signal(signal.SIGSTOP)
        connects, _ = load(loader, [port], rate, seconds)
        if stall:
            for _, t in tracers:
                t.proc.send_signal(signal.SIGCONT)
        time.sleep(0.5 if not stall else 1.5)  # let them drain what the last connects produced
        used = {name: cpu_ns(t.proc.pid) - before[name] for name, t in tracers}
        for name, t in tracers:
            ev, lost = t.stop()
            if ev + lost != connects or lost:
                raise SystemExit(f"{name}: {ev} events, {lost} lost for {connects} connects at {rate}/s")
            per_event[name].append(used[name] / max(ev, 1))
    return per_event


def report(label, per_event):
    cpp, c = per_event["c++"], per_event["c"]
    ratios = sorted(a / b for a, b in zip(cpp, c))
    median = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
    for name, v in per_event.items():
        print(f"  {label}  {name:3}: ns/event per round: {' '.join(f'{x:.0f}' for x in v)}")
    print(f"  {label}  ratio C++/C: total {sum(cpp) / sum(c):.3f}, median of rounds {median:.3f}, "
          f"best round of each {min(cpp) / min(c):.3f}", flush=True)


def max_rate(tools, loader, seconds):
    """Returns per tool the highest rate traced without loss, and whether any step lost."""
    best = {}
    for name, exe in tools:
        top, any_loss = 0.0, False
        for n in (1, 2):
            ports = free_ports(n)
            t = Tracer(exe, ["-P", ",".join(map(str, ports))])
            connects, elapsed = load(loader, ports, 0, seconds)
            time.sleep(0.3)
            ev, lost = t.stop()
            rate = connects / elapsed
            print(f"  {name:3}  {n} generator(s): {rate:8.0f} connects/s, {ev} events, {lost} lost", flush=True)
            if lost == 0 and ev == connects:
                top = max(top, rate)
            else:
                any_loss = True
        best[name] = (top, any_loss)
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
        report(label, fixed_rate(tools, a.load, a.rate, a.seconds, a.rounds, extra))
    print(f"tcpconnect processing cost: both tools stopped while {a.rate} connects/s run for 1 s, "
          "then CPU time to drain the buffer")
    for label, extra in (("ring buffer", []), ("perf buffer", ["--perf"])):
        report(label, fixed_rate(tools, a.load, a.rate, 1, a.rounds, extra, stall=True))
    print("highest connect rate traced with zero loss (ring buffer):")
    best = max_rate(tools, a.load, a.seconds)
    for name, (rate, any_loss) in best.items():
        note = "losses above it" if any_loss else "no loss at any rate the generators reached"
        print(f"  {name:3}: {rate:.0f} connects/s ({note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
