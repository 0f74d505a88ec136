#!/usr/bin/env bash
# Builds and runs the libFuzzer target tests/fuzz/open_memory_fuzz.cpp for SECONDS.
#
#   bash scripts/fuzz.sh BUILD_DIR SECONDS
#
# SECONDS can be overridden with LIBBPFCPP_FUZZ_SECONDS (for the meson test of tests/fuzz).
# BUILD_DIR is configured here with clang and -Dfuzz=true when it does not exist yet
# (core tests only: their BPF objects seed the corpus). The corpus, crash inputs and
# reports stay in BUILD_DIR/fuzz/. Each crash is replayed and sorted by the first frame
# of its stack that belongs to libbpfcpp (include/libbpfcpp, tests/fuzz) or to libbpf
# (libbpf.so; its inline helpers in <bpf/*.h> count as the caller's): libbpf's are
# counted and reported, ours fail the run. Exit status: 0 no crash of ours, 1 one or
# more crashes of ours, 2 usage or build error.
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=${LIBBPFCPP_FUZZ_SECONDS:-$2}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -e "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" "$here" -Dfuzz=true -Dtest_areas= -Dexamples=false \
        -Dbench=false >"${TMPDIR:-/tmp}/fuzz-setup.$$.log" 2>&1 ||
        { cat "${TMPDIR:-/tmp}/fuzz-setup.$$.log" >&2; exit 2; }
    rm -f "${TMPDIR:-/tmp}/fuzz-setup.$$.log"
elif ! meson introspect "$build" --buildoptions | grep -q '"name": "fuzz", "value": true'; then
    meson configure "$build" -Dfuzz=true || exit 2
fi
meson compile -C "$build" fuzz >"$build/fuzz-build.log" 2>&1 || { tail -30 "$build/fuzz-build.log" >&2; exit 2; }
exe=$build/tests/fuzz/fuzz_open_memory

work=$build/fuzz
mkdir -p "$work/corpus" "$work/crashes" "$work/reports"
find "$build" -name '*.bpf.o' -not -path "$work/*" -exec cp -n {} "$work/corpus/" \;
# Inputs that once crashed libbpfcpp or libbpf (tests/fuzz/regressions): run first, as part of the corpus.
cp -n "$here"/tests/fuzz/regressions/* "$work/corpus/"
seeds=$(find "$work/corpus" -type f | wc -l)

# Replays one input and prints "ours", "libbpf" or "unknown" from its stack.
classify() {
    local input=$1 report=$2
    ASAN_OPTIONS=symbolize=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$exe" -runs=1 "$input" >"$report" 2>&1 || true
    awk '
        /^ *#[0-9]+ / {
            if ($0 ~ /libbpf\.so/) { print "libbpf"; found = 1; exit }
            # Source lines only: the fuzz binary itself lives under tests/fuzz too.
            if ($0 ~ /\/include\/libbpfcpp\/[^ ]*\.hpp:[0-9]/ || $0 ~ /\/tests\/fuzz\/[^ ]*\.cpp:[0-9]/) {
                print "ours"; found = 1; exit
            }
        }
        END { if (!found) print "unknown" }' "$report"
}

# libFuzzer stops at the first crash; it is restarted (on the grown corpus) until the
# time is up, so one crash does not end the run.
ours=0 libbpf=0 unknown=0 dups=0 execs=0 runs=0 cov=0
rm -f "$work/signatures"
deadline=$(( $(date +%s) + seconds ))
while :; do
    left=$(( deadline - $(date +%s) ))
    [ "$left" -gt 0 ] || break
    runs=$((runs + 1))
    log=$work/run-$runs.log
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$exe" "$work/corpus" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -artifact_prefix="$work/crashes/" -print_final_stats=1 >"$log" 2>&1 || true
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$((execs + ${n:-0}))
    c=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
    [ -n "$c" ] && [ "$c" -gt "$cov" ] && cov=$c
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    [ -n "$crash" ] && [ -f "$crash" ] || continue
    name=$(basename "$crash")
    report=$work/reports/$name.txt
    kind=$(classify "$crash" "$report")
    # The same bug is found again after each restart: count each stack (top 3 functions) once.
    # (a function name, or module+offset for frames without symbols; libFuzzer's own
    # frames of an out-of-memory report left out)
    sig=$(grep -E '^ *#[0-9]+ ' "$report" | grep -vE 'fuzzer::|__sanitizer|__asan|MallocHook' | head -3 |
          sed -E 's/^ *#[0-9]+ 0x[0-9a-f]+ +(in ([^ ]+))?.*\(([^ ()]*\+0x[0-9a-f]+)\).*/\2\3/; s/^ *#[0-9]+ 0x[0-9a-f]+ in ([^ ]+).*/\1/' |
          sed -E 's|.*/||' | tr '\n' ' ')
    if grep -qxF "$kind $sig" "$work/signatures" 2>/dev/null; then
        dups=$((dups + 1))
        continue
    fi
    echo "$kind $sig" >>"$work/signatures"
    case $kind in
        ours) ours=$((ours + 1)); echo "CRASH in libbpfcpp: $crash [$sig] (report: $report)" ;;
        libbpf) libbpf=$((libbpf + 1)); echo "crash in libbpf (not ours): $crash [$sig]" ;;
        *) unknown=$((unknown + 1)); echo "crash, origin unknown (counted as ours): $crash (report: $report)" ;;
    esac
    # Kept out of the corpus, so the next round does not stop on it again at once.
done

echo "fuzz: ${seconds}s from a corpus of $seeds inputs, $execs executions in $runs runs, coverage $cov edges;" \
     "distinct crashes: $ours in libbpfcpp, $libbpf in libbpf, $unknown unknown ($dups found again)"
# One case for scripts/test-summary.py: failed when a crash is ours.
if [ $((ours + unknown)) -eq 0 ]; then
    echo "libbpfcpp-test-cases: passed=1 failed=0 skipped=0"
else
    echo "libbpfcpp-test-cases: passed=0 failed=1 skipped=0"
    exit 1
fi
