#!/usr/bin/env bash
# Installs what is missing, then builds and runs the test suite in several configurations
# and ends with the line "N passed, N failed, N skipped". The default list, run by CI:
#
#   static    g++ -O2, fully static: the whole suite on this kernel
#   vm        that static build on Debian's 6.1 kernel under qemu (scripts/vm/run.py;
#             docs/kernel-matrix.md)
#   sanitize  clang++ -O1 under AddressSanitizer+UndefinedBehaviorSanitizer: the suite
#   tsan      g++ with ThreadSanitizer: the event-streaming tests (suite 'events')
#   fuzz      clang++ libFuzzer+ASan+UBSan over Module::open_memory and what it yields,
#             60 s (tests/fuzz, scripts/fuzz.sh); fails on a crash of ours only
#   consumer  a project outside this build using the installed package and the subproject
#             (scripts/test-consumer.sh)
#
# and two more on request: gcc (g++ -O2, dynamically linked) and clang (clang++ -O2).
# Every configuration builds with -Wall -Wextra -Werror, so the default list compiles the
# library, tests and examples with both g++ and clang++.
#
#   bash scripts/test.sh              # the default list (as root; sudo for another user)
#   bash scripts/test.sh gcc clang    # only some
#   bash scripts/test.sh vm           # only the 6.1 kernel
#
# How it fits CI's 2 cores and 15 minutes:
# - The builds run one after another in the background at the lowest CPU priority while
#   the tests of the configurations already built run in the foreground: the test runs
#   mostly wait (on the kernel, the network namespaces, the qemu guest) and get the CPU
#   first when they need it.
# - gcc and static compile the same files with the same flags, so only static is in the
#   default list. It skips one case (a library named without a path, which needs a
#   dynamically linked process); sanitize runs it.
# - sanitize uses clang++: under ASan+UBSan at -O1 g++ needs 466 s of CPU, clang++ 268 s;
#   and it is the clang++ build, with its tests run. -O1 as ASan advises.
# - No debug info (a fifth of the compile time), only line tables under the sanitizers
#   for file:line in their reports.
# - tsan builds only the executables of the suite it runs.
set -uo pipefail
cd "$(dirname "$0")/.."

configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(static vm sanitize tsan fuzz consumer)
for cfg in "${configs[@]}"; do
  case "$cfg" in
    static|vm|sanitize|tsan|fuzz|consumer|gcc|clang) ;;
    *) echo "unknown configuration '$cfg' (static, vm, sanitize, tsan, fuzz, consumer, gcc, clang)" >&2; exit 2 ;;
  esac
done

t0=$(date +%s)
for cfg in "${configs[@]}"; do
  [ "$cfg" = vm ] && export LIBBPFCPP_EXTRA_PACKAGES="${LIBBPFCPP_EXTRA_PACKAGES:-} qemu-system-x86 busybox-static"
  [ "$cfg" = consumer ] && export LIBBPFCPP_EXTRA_PACKAGES="${LIBBPFCPP_EXTRA_PACKAGES:-} cmake make"
done
bash scripts/setup-host.sh || exit 1
times=("setup (packages, mounts): $(( $(date +%s) - t0 )) s")

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
# A guest whose kernel hangs is stopped after this long (a whole run takes 1.5-3 min).
export LIBBPFCPP_VM_TIMEOUT="${LIBBPFCPP_VM_TIMEOUT:-900}"

status=$(mktemp -d "${TMPDIR:-/tmp}/libbpfcpp-test-XXXXXX")
builder_pid=
# kill_tree PID: ends a process and its descendants (the builder's meson and ninja).
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null
}
cleanup() {
  [ -n "$builder_pid" ] && kill_tree "$builder_pid"
  rm -rf "$status"
}
trap cleanup EXIT

# build_args CFG: the compilers (CC CXX) and meson arguments of a configuration, one word
# a line, its suite (or -) first.
build_args() {
  local static=(-Dbench=false -Ddebug=false -Dstatic=true)
  case "$1" in
    static|vm) echo - gcc g++; printf '%s\n' "${static[@]}" ;;
    gcc)       echo - gcc g++; printf '%s\n' -Dbench=false -Ddebug=false ;;
    clang)     echo - clang clang++; printf '%s\n' -Dbench=false -Ddebug=false ;;
    sanitize)  echo - clang clang++
               printf '%s\n' -Dbench=false -Db_sanitize=address,undefined -Db_lundef=false \
                 -Doptimization=1 -Ddebug=false -Dc_args=-g1 -Dcpp_args=-g1 ;;
    tsan)      echo events gcc g++
               printf '%s\n' -Dbench=false -Db_sanitize=thread -Db_lundef=false -Dtest_areas=events -Dexamples=false ;;
    fuzz)      echo fuzz clang clang++
               printf '%s\n' -Dbench=false -Ddebug=false -Dfuzz=true -Dtest_areas= -Dexamples=false ;;
  esac
}

# build_dir CFG: where a configuration is built (vm runs the static build).
build_dir() { [ "$1" = vm ] && echo build-test-static || echo "build-test-$1"; }

# suite_targets DIR SUITE: the build outputs the tests of SUITE need (their executables
# and what they depend on), as paths relative to DIR.
suite_targets() {
  python3 - "$1" "$2" <<'PY'
import json, os, subprocess, sys
build, suite = os.path.abspath(sys.argv[1]), sys.argv[2]
def introspect(what):
    out = subprocess.run(["meson", "introspect", build, what], check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)
files = {t["id"]: t["filename"] for t in introspect("--targets")}
wanted = set()
for test in introspect("--tests"):
    if suite in (s.split(":")[-1] for s in test["suite"]):
        for dep in test["depends"]:
            wanted.update(os.path.relpath(f, build) for f in files.get(dep, []))
print(" ".join(sorted(wanted)))
PY
}

# build CFG: a fresh build directory, compiled (with a suite: only what its tests need).
# Writes STATUS/CFG.built (seconds) or STATUS/CFG.failed (the end of the log).
build() {
  local cfg=$1 dir suite cc cxx args=() targets=() start
  start=$(date +%s)
  if [ "$cfg" = consumer ]; then
    # Mostly compiling (four builds of the consumer project), so it runs here, in the
    # background; its binaries' runs are short.
    CC=gcc CXX=g++ bash scripts/test-consumer.sh build-test-consumer >"$status/consumer.out" 2>&1
    echo "$(( $(date +%s) - start ))" >"$status/consumer.built"
    return
  fi
  dir=$(build_dir "$cfg")
  { read -r suite cc cxx; mapfile -t args; } < <(build_args "$cfg")
  rm -rf "$dir"
  if ! CC=$cc CXX=$cxx meson setup "$dir" "${args[@]}" >"$dir.setup.log" 2>&1; then
    { cat "$dir.setup.log"; echo "=== $cfg: meson setup failed"; } >"$status/$cfg.failed"; return
  fi
  [ "$suite" = - ] || read -r -a targets <<<"$(suite_targets "$dir" "$suite")"
  if ! meson compile -C "$dir" "${targets[@]}" >"$dir/compile.log" 2>&1; then
    { tail -50 "$dir/compile.log"; echo "=== $cfg: build failed"; } >"$status/$cfg.failed"; return
  fi
  echo "$(( $(date +%s) - start ))" >"$status/$cfg.built"
}

# wait_built CFG: waits until the builder finished CFG; true when it was built.
wait_built() {
  while [ ! -e "$status/$1.built" ] && [ ! -e "$status/$1.failed" ]; do
    if ! kill -0 "$builder_pid" 2>/dev/null && [ ! -e "$status/$1.built" ] && [ ! -e "$status/$1.failed" ]; then
      echo "=== $1: the builder ended without building it" >"$status/$1.failed"
    fi
    sleep 1
  done
  [ -e "$status/$1.built" ]
}

# The builds, in the order the tests below need them, at the lowest CPU priority.
to_build=()
for cfg in "${configs[@]}"; do
  case "$cfg" in
    vm) [[ " ${to_build[*]} " == *" static "* ]] || to_build+=(static) ;;
    *) [[ " ${to_build[*]} " == *" $cfg "* ]] || to_build+=("$cfg") ;;
  esac
done
(
  renice -n 19 -p $BASHPID >/dev/null
  for cfg in "${to_build[@]}"; do build "$cfg"; done
) &
builder_pid=$!

dirs=()
for cfg in "${configs[@]}"; do
  start=$(date +%s)
  if [ "$cfg" = consumer ]; then
    dirs+=(build-test-consumer)
    wait_built consumer
    echo "=== consumer: tests/consumer/project via pkg-config, CMake and a meson subproject"
    grep '^===\|^libbpfcpp-test-cases' "$status/consumer.out"
    times+=("consumer: $(cat "$status/consumer.built") s in the background (builds and runs; waited $(( $(date +%s) - start )) s)")
    continue
  fi
  built=static
  [ "$cfg" = vm ] || built=$cfg
  dir=$(build_dir "$cfg")
  if [ "$cfg" = vm ]; then
    dirs+=(build-test-vm)
  else
    dirs+=("$dir")
  fi
  if ! wait_built "$built"; then
    cat "$status/$built.failed"
    [ "$cfg" = vm ] && echo "=== vm: no static build to run"
    times+=("$cfg: build failed")
    continue
  fi
  waited=$(( $(date +%s) - start ))
  start=$(date +%s)
  if [ "$cfg" = vm ]; then
    echo "=== vm: the static build on Debian's cloud kernel under qemu"
    rm -rf build-test-vm
    python3 scripts/vm/run.py "$dir" --out build-test-vm
  else
    echo "=== $cfg: built in $(cat "$status/$cfg.built") s; testing"
    read -r suite _ < <(build_args "$cfg")
    if [ "$suite" = - ]; then
      meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 | tail -n 30
    else
      meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 --suite "$suite" | tail -n 30
    fi
  fi
  if [ "$cfg" = vm ]; then
    times+=("vm: $(( $(date +%s) - start )) s (guest run; waited ${waited} s for the static build)")
  else
    times+=("$cfg: build $(cat "$status/$cfg.built") s, tests $(( $(date +%s) - start )) s (waited ${waited} s for the build)")
  fi
done
wait "$builder_pid" 2>/dev/null
builder_pid=

echo "=== times (wall clock; builds overlap the tests of earlier configurations)"
printf '  %s\n' "${times[@]}" "total: $(( $(date +%s) - t0 )) s"
for d in build-test-static build-test-gcc build-test-clang build-test-sanitize; do
  if [ -x "$d/tests/feature_probe" ]; then
    echo "=== kernel features of this machine ($(uname -r)), as the test harness probes them"
    "$d/tests/feature_probe" --report | sed 's/^/  /'
    break
  fi
done
python3 scripts/test-summary.py "${dirs[@]}"
