#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz for SECONDS each:
#   fuzz_open_memory  bpf::Module::open_memory and what a tool does with the object (open_memory_fuzz.cpp)
#   fuzz_gen          the skeleton generator, gen::generate (gen_fuzz.cpp)
#
#   bash scripts/fuzz.sh BUILD_DIR SECONDS
#
# SECONDS can be overridden with LIBBPFCPP_FUZZ_SECONDS (for the meson test of tests/fuzz).
# BUILD_DIR is configured here with clang and -Dfuzz=true when it does not exist yet
# (core tests only: their BPF objects seed the corpus). Each target's corpus, crash inputs
# and reports stay in BUILD_DIR/fuzz/TARGET/. Each crash (or hang) is replayed and sorted
# by the first frame of its stack that belongs to libbpfcpp (include/libbpfcpp, tests/fuzz,
# tools/libbpfcpp-gen) or to libbpf (libbpf.so; its inline helpers in <bpf/*.h> count as
# the caller's): libbpf's are counted and reported, ours fail the run. Exit status: 0 no
# crash of ours, 1 one or more crashes of ours, 2 usage or build error.
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
here_fuzz=$here/tests/fuzz

# Replays one input and prints "ours", "libbpf" or "unknown" from its stack.
classify() {
    local exe=$1 input=$2 report=$3
    ASAN_OPTIONS=symbolize=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$exe" -runs=1 -timeout=10 "$input" >"$report" 2>&1 || true
    awk '
        /^ *#[0-9]+ / {
            if ($0 ~ /libbpf\.so/) { print "libbpf"; found = 1; exit }
            # Source lines only: the fuzz binaries themselves live under tests/fuzz too.
            if ($0 ~ /\/include\/libbpfcpp\/[^ ]*\.hpp:[0-9]/ || $0 ~ /\/tests\/fuzz\/[^ ]*\.cpp:[0-9]/ ||
                $0 ~ /\/tools\/libbpfcpp-gen\/[^ ]*\.cpp:[0-9]/) {
                print "ours"; found = 1; exit
            }
        }
        END { if (!found) print "unknown" }' "$report"
}

# Runs target $1 for $seconds from the seeds already in BUILD_DIR/fuzz/$1/corpus; adds one
# line of totals to $summary and counts it in $clean / $dirty.
fuzz_target() {
    local target=$1
    local exe=$build/tests/fuzz/$target work=$build/fuzz/$target
    local seeds ours=0 libbpf=0 unknown=0 dups=0 execs=0 runs=0 cov=0 left log n c crash name report kind sig
    seeds=$(find "$work/corpus" -type f | wc -l)
    rm -f "$work/signatures"
    # libFuzzer stops at the first crash; it is restarted (on the grown corpus) until the
    # time is up, so one crash does not end the run.
    local deadline=$(( $(date +%s) + seconds ))
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
        # A seed that crashes would stop every restart at once: it leaves the corpus (its
        # copy in crashes/ is what is reported).
        find "$work/corpus" -type f -size "$(stat -c %s "$crash")c" -exec cmp -s {} "$crash" \; -delete
        report=$work/reports/$name.txt
        kind=$(classify "$exe" "$crash" "$report")
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
            ours) ours=$((ours + 1)); echo "$target: CRASH in libbpfcpp: $crash [$sig] (report: $report)" ;;
            libbpf) libbpf=$((libbpf + 1)); echo "$target: crash in libbpf (not ours): $crash [$sig]" ;;
            *) unknown=$((unknown + 1)); echo "$target: crash, origin unknown (counted as ours): $crash (report: $report)" ;;
        esac
        # Kept out of the corpus, so the next round does not stop on it again at once.
    done
    echo "fuzz $target: ${seconds}s from a corpus of $seeds inputs, $execs executions in $runs runs, coverage $cov edges;" \
         "distinct crashes: $ours in libbpfcpp, $libbpf in libbpf, $unknown unknown ($dups found again)"
    if [ $((ours + unknown)) -eq 0 ]; then clean=$((clean + 1)); else dirty=$((dirty + 1)); fi
}

clean=0 dirty=0
objects=$(find "$build" -name '*.bpf.o' -not -path "$build/fuzz/*")
for target in fuzz_open_memory fuzz_gen; do
    mkdir -p "$build/fuzz/$target/corpus" "$build/fuzz/$target/crashes" "$build/fuzz/$target/reports"
    # shellcheck disable=SC2086
    cp -n $objects "$build/fuzz/$target/corpus/"
done
# Inputs that once crashed libbpfcpp, the generator or libbpf under them: run first, as
# part of the corpus (those that crashed libbpf, regressions/libbpf-*, seed both).
cp -n "$here_fuzz"/regressions/* "$build/fuzz/fuzz_open_memory/corpus/"
cp -n "$here_fuzz"/gen-regressions/* "$here_fuzz"/regressions/libbpf-* "$build/fuzz/fuzz_gen/corpus/"
# The generator's type walks: damaged type graphs of the same objects.
# shellcheck disable=SC2086
python3 "$here_fuzz/btf_mutate.py" "$build/fuzz/fuzz_gen/corpus" $objects >/dev/null || exit 2
fuzz_target fuzz_open_memory
fuzz_target fuzz_gen

# One case per target for scripts/test-summary.py: failed when a crash is ours.
echo "libbpfcpp-test-cases: passed=$clean failed=$dirty skipped=0"
[ "$dirty" -eq 0 ]
