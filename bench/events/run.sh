#!/bin/bash
# The event benchmark as docs/events.md reports it: builds bench_events (release, in
# build-bench/ unless BUILD names another build dir), runs it on CPUs 0 and 1 with the
# arguments given, and prints the run's commit, machine and load before its markdown
# tables. Without arguments it runs twice: records read from memory (every record size,
# ring and perf, 5 rounds, live at 84 bytes), then records read from the consumer CPU's
# caches (--warm, 1 MiB drains, each round's figure the mean of 16 drains, 41 rounds: the
# summary's 90% intervals of the medians are then about +-3%).
#
#   sudo bench/events/run.sh                 # the tables of docs/events.md
#   sudo bench/events/run.sh --rounds 3 --kind perf --sizes 84
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-bench}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" -Dbuildtype=release -Dbench=true -Dtests=false -Dexamples=false \
        -Dcompiled_lib=false >/dev/null
fi
ninja -C "$build" bench/events/bench_events >/dev/null
commit=$(git -C "$root" rev-parse --short HEAD)
git -C "$root" diff --quiet HEAD -- include bench || commit="$commit (with uncommitted changes)"
echo "Run: commit $commit, \`bench/events/run.sh $*\`, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), load average at the start $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $# -gt 0 ]; then
    taskset -c 0,1 "$build/bench/events/bench_events" "$@"
else
    echo; echo "## Records read from memory (the defaults)"
    taskset -c 0,1 "$build/bench/events/bench_events"
    echo; echo "## Records read from the consumer CPU's caches (--warm --buffer-mib 8 --drain-mib 1 --drains 16 --rounds 41 --live-size 0), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    taskset -c 0,1 "$build/bench/events/bench_events" --warm --buffer-mib 8 --drain-mib 1 --drains 16 --rounds 41 --live-size 0
fi
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(date -u '+%H:%M UTC'))"
