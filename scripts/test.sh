#!/usr/bin/env bash
# Installs what is missing, then builds and runs the test suite in several configurations
# and ends with a table kernel x libbpf and the line "N passed, N failed, N skipped". The
# default list, run by CI:
#
#   static        g++ -O2, fully static, the machine's libbpf (Debian 12: 1.1): the whole
#                 suite on this kernel
#   static-L      the same against libbpf L (1.5, 1.7), built from source into a private
#                 prefix (scripts/libbpf.sh)
#   vm-5.10       the static build (libbpf 1.1) on Debian's cloud kernel 5.10 under qemu
#                 (scripts/vm/run.py; docs/kernel-matrix.md): the oldest with the oldest
#   vm-6.1-1.5    the static-1.5 build on Debian 12's kernel
#   vm-6.12-1.7   the static-1.7 build on Debian 13's kernel
#   vm-7.3-1.7    the static-1.7 build on trixie-backports' 7.3: the newest with the newest
#   sanitize      clang++ -O1 under AddressSanitizer+UndefinedBehaviorSanitizer: the suite
#   tsan          g++ with ThreadSanitizer: the event-streaming tests (suite 'events')
#   fuzz          clang++ libFuzzer+ASan+UBSan over Module::open_memory and what it yields,
#                 and over the skeleton generator, 20 s each (tests/fuzz, scripts/fuzz.sh;
#                 LIBBPFCPP_FUZZ_SECONDS; 60 s each in `meson test --suite fuzz`);
#                 fails on a crash of ours only
#   consumer      a project outside this build using the installed package and the subproject
#                 (scripts/test-consumer.sh), a tool of it also in compiled mode
#
# The compiled mode (libbpfcpp-compiled.a, -DLIBBPFCPP_COMPILED_LIB): static-1.5 and
# static-1.7 build all their examples and tests in it (-Dtest_mode=compiled), static tests
# it beside the header-only mode (tests/compiled), and consumer builds tools both ways.
#
# Every kernel runs with at least one libbpf, every libbpf on at least two kernels (1.1:
# host, 5.10; 1.5: host, 6.1; 1.7: host, 6.12, 7.3); docs/kernel-matrix.md says why these
# cells. Any other cell runs on request: vm-K (libbpf 1.1) or vm-K-L, K = 5.10 (Debian 11),
# 6.1 (Debian 12), 6.12 (Debian 13), 7.3 (trixie-backports); `vm` is vm-6.1. `matrix`
# stands for all eighteen cells kernel x libbpf (the three static builds and the fifteen
# guests). Two more on request: gcc (g++ -O2, dynamically linked) and clang
# (clang++ -O2). Every configuration builds with -Wall -Wextra -Werror, and the skeleton
# tests compile every header with both g++ and clang++, so the default list compiles the
# library with both compilers against both libbpf releases.
#
#   bash scripts/test.sh                      # the default list (as root; sudo for another user)
#   bash scripts/test.sh gcc clang            # only some
#   bash scripts/test.sh vm-5.10              # only the 5.10 kernel (and the static build it runs)
#   bash scripts/test.sh vm-7.3-1.7           # kernel 7.3 with libbpf 1.7 (and static-1.7)
#   bash scripts/test.sh matrix               # every kernel with every libbpf
#
# How it fits CI's 2 cores and 20 minutes:
# - The builds run one after another in the background at the lowest CPU priority while
#   the tests of the configurations already built run in the foreground: the test runs
#   mostly wait (on the kernel, the network namespaces, the qemu guests) and get the CPU
#   first when they need it.
# - The guests run in the background too, also at the lowest priority, two at a time with
#   one emulated CPU each (LIBBPFCPP_TEST_VM_JOBS, LIBBPFCPP_VM_CPUS): an emulated CPU is
#   one host thread, and two one-CPU guests finish sooner than two two-CPU guests one
#   after the other. The kernels are downloaded while the first build runs.
# - Four guests, not one per kernel and libbpf: a libbpf release changes what user space
#   asks, a kernel what it grants; pairing each kernel with one libbpf covers both axes.
# - The guests run the static builds the host runs: nothing is compiled twice for them.
# - gcc and static compile the same files with the same flags, so only static is in the
#   default list. It skips one case (a library named without a path, which needs a
#   dynamically linked process); sanitize runs it.
# - sanitize uses clang++: under ASan+UBSan at -O1 g++ needs 466 s of CPU, clang++ 268 s;
#   and it is the clang++ build, with its tests run. -O1 as ASan advises.
# - No debug info (a fifth of the compile time), only line tables under the sanitizers
#   for file:line in their reports.
# - tsan builds only the executables of the suite it runs, also with line tables only.
# - static-1.5 and static-1.7 build in compiled mode (-Dtest_mode=compiled): the library's
#   bodies are compiled once instead of in each of ~100 files, each file compiling in
#   about 40% less CPU time; so does sanitize (the library instrumented like the tests).
#   The header-only mode stays built by static and run on the host and its 5.10 guest.
#   static-1.5 and static-1.7 leave the compile-fail checks and the skeletons'
#   clang++ compile to static and sanitize (-Dcompile_checks=false): the same compilers
#   over the same snippets.
# - The test files compile with one shared precompiled header (catch2 and the umbrella
#   header; -Dtest_pch, tests/meson.build): 16% less CPU for static's build, ~1 s less
#   per test file under clang's sanitizers.
# - The two middle guests of the default list (6.1 with 1.5, 6.12 with 1.7) leave out the
#   event tests (suite events, a third of a guest's time): the oldest and the newest cell
#   run the whole suite, the host all three builds and ThreadSanitizer; by name
#   (vm-6.1-1.5) a guest runs everything.
# - No KVM: this machine type's /dev/kvm (kvm-pvm) starts qemu's firmware, but Debian's
#   kernels print nothing under it, so the guests are emulated (docs/kernel-matrix.md).
set -uo pipefail
cd "$(dirname "$0")/.."

kernels=(5.10 6.1 6.12 7.3)
# The libbpf releases built from source besides the machine's own 1.1 (scripts/libbpf.sh
# knows their tarballs).
libbpfs=(1.5 1.7)
matrix=(static)
for l in "${libbpfs[@]}"; do matrix+=("static-$l"); done
for k in "${kernels[@]}"; do
  matrix+=("vm-$k")
  for l in "${libbpfs[@]}"; do matrix+=("vm-$k-$l"); done
done
# CI's cells (see above): every static build on the host and four guests.
cells=(static static-1.5 static-1.7 vm-5.10 vm-6.1-1.5 vm-6.12-1.7 vm-7.3-1.7)
defaults=("${cells[@]}" sanitize tsan fuzz consumer)
# The default list's guests that leave out the event tests (see "How it fits" above).
partial=()
[ $# -gt 0 ] || partial=(vm-6.1-1.5 vm-6.12-1.7)

usage_list="static, static-L, vm, vm-K, vm-K-L (K: ${kernels[*]}; L: ${libbpfs[*]}), matrix, sanitize, tsan, fuzz, consumer, gcc, clang"
configs=()
for cfg in "${@:-${defaults[@]}}"; do
  case "$cfg" in
    matrix) configs+=("${matrix[@]}") ;;
    vm) configs+=(vm-6.1) ;;
    *) configs+=("$cfg") ;;
  esac
done
# is_vm CFG: true for the guest configurations; vm_kernel / vm_build: their kernel and build.
is_vm() { [[ $1 == vm-* ]]; }
# vm_libbpf CFG: the libbpf release a guest's name ends with, or nothing (the machine's).
vm_libbpf() { local l; for l in "${libbpfs[@]}"; do [[ $1 == *-"$l" ]] && { echo "$l"; return; }; done; }
vm_kernel() { local k=${1#vm-} l; l=$(vm_libbpf "$1"); echo "${k%-"$l"}"; }
vm_build() { local l; l=$(vm_libbpf "$1"); if [ -n "$l" ]; then echo "static-$l"; else echo static; fi; }
# static_libbpf CFG: the libbpf release of a static-L build, or nothing.
static_libbpf() { local l; for l in "${libbpfs[@]}"; do [ "$1" = "static-$l" ] && echo "$l"; done; }
for cfg in "${configs[@]}"; do
  case "$cfg" in
    static|sanitize|tsan|fuzz|consumer|gcc|clang) ;;
    static-*) [ -n "$(static_libbpf "$cfg")" ] ||
            { echo "unknown libbpf in '$cfg' (${libbpfs[*]})" >&2; exit 2; } ;;
    vm-*) [[ " ${kernels[*]} " == *" $(vm_kernel "$cfg") "* ]] ||
            { echo "unknown kernel in '$cfg' (${kernels[*]})" >&2; exit 2; } ;;
    *) echo "unknown configuration '$cfg' ($usage_list)" >&2; exit 2 ;;
  esac
done
# Each configuration once, in the order given.
mapfile -t configs < <(printf '%s\n' "${configs[@]}" | awk '!seen[$0]++')

t0=$(date +%s)
for cfg in "${configs[@]}"; do
  is_vm "$cfg" && export LIBBPFCPP_EXTRA_PACKAGES="${LIBBPFCPP_EXTRA_PACKAGES:-} qemu-system-x86 busybox-static"
  [ "$cfg" = consumer ] && export LIBBPFCPP_EXTRA_PACKAGES="${LIBBPFCPP_EXTRA_PACKAGES:-} cmake make"
done
bash scripts/setup-host.sh || exit 1
times=("setup (packages, mounts): $(( $(date +%s) - t0 )) s")

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
# 20 s per fuzz target (a core each, one after the other): CPU time is what CI's
# 20 minutes on 2 cores run out of. Longer runs: LIBBPFCPP_FUZZ_SECONDS or scripts/fuzz.sh.
export LIBBPFCPP_FUZZ_SECONDS="${LIBBPFCPP_FUZZ_SECONDS:-20}"
# A guest whose kernel hangs is stopped after this long (a whole run takes 2-3 min).
export LIBBPFCPP_VM_TIMEOUT="${LIBBPFCPP_VM_TIMEOUT:-900}"
export LIBBPFCPP_VM_CPUS="${LIBBPFCPP_VM_CPUS:-1}"
vm_jobs="${LIBBPFCPP_TEST_VM_JOBS:-2}"

status=$(mktemp -d "${TMPDIR:-/tmp}/libbpfcpp-test-XXXXXX")
background=()
# kill_tree PID: ends a process and its descendants (the builder's meson and ninja, qemu).
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null
}
cleanup() {
  local p
  for p in "${background[@]}"; do kill_tree "$p"; done
  rm -rf "$status"
}
trap cleanup EXIT

# cpu_now: sets $cpu to the CPU seconds (user + system) of the children this shell has
# waited for so far, their own children included. CPU time, unlike the wall clock, hardly
# depends on what else the machine runs: the figures to compare between runs. (`times`
# runs in this shell, not in a command substitution, whose children are its own.)
cpu_now() {
  local file="$status/times.$BASHPID"   # named here: in $(...) BASHPID is another process
  times >"$file"
  cpu=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }; printf "%d", t }' "$file")
}

# build_args CFG: the compilers (CC CXX) and meson arguments of a configuration, one word
# a line, its suite (or -) first.
build_args() {
  local static=(-Dbench=false -Ddebug=false -Dstatic=true)
  case "$1" in
    static) echo - gcc g++; printf '%s\n' "${static[@]}" ;;
    # The examples and tests in compiled mode: each file compiles in ~40% less CPU time.
    # The header-only mode is built by static (and run by its 5.10 guest), which with
    # sanitize also runs the checks of what must not compile and the skeletons' compile
    # with the other compiler.
    static-*) echo - gcc g++; printf '%s\n' "${static[@]}" -Dtest_mode=compiled -Dcompile_checks=false ;;
    gcc)       echo - gcc g++; printf '%s\n' -Dbench=false -Ddebug=false ;;
    clang)     echo - clang clang++; printf '%s\n' -Dbench=false -Ddebug=false ;;
    sanitize)  echo - clang clang++
               # Compiled mode too (the library's bodies compiled once, instrumented like the rest):
               # the same code under the sanitizers in about 40% less build time.
               printf '%s\n' -Dbench=false -Dtest_mode=compiled -Db_sanitize=address,undefined -Db_lundef=false \
                 -Doptimization=1 -Ddebug=false -Dc_args=-g1 -Dcpp_args=-g1 ;;
    tsan)      echo events gcc g++
               printf '%s\n' -Dbench=false -Db_sanitize=thread -Db_lundef=false -Dtest_areas=events -Dexamples=false \
                 -Dcompiled_lib=false -Ddebug=false -Dc_args=-g1 -Dcpp_args=-g1 ;;
    fuzz)      echo fuzz clang clang++
               printf '%s\n' -Dbench=false -Ddebug=false -Dfuzz=true -Dtest_areas= -Dexamples=false ;;
  esac
}

# build_dir CFG: where a configuration is built (a vm configuration runs a static build).
build_dir() { if is_vm "$1"; then echo "build-test-$(vm_build "$1")"; else echo "build-test-$1"; fi; }
# out_dir CFG: where a configuration's results are (a guest's next to the build it ran).
out_dir() {
  case "$1" in
    vm-*) echo "build-test-$1" ;;
    consumer) echo build-test-consumer ;;
    *) build_dir "$1" ;;
  esac
}

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
  local cfg=$1 dir suite cc cxx args=() targets=() start prefix cpu0
  start=$(date +%s)
  cpu_now; cpu0=$cpu
  if [ "$cfg" = consumer ]; then
    # Mostly compiling (four builds of the consumer project), so it runs here, in the
    # background; its binaries' runs are short.
    CC=gcc CXX=g++ bash scripts/test-consumer.sh build-test-consumer >"$status/consumer.out" 2>&1
    cpu_now; echo "$(( cpu - cpu0 ))" >"$status/consumer.cpu"
    echo "$(( $(date +%s) - start ))" >"$status/consumer.built"
    return
  fi
  dir=$(build_dir "$cfg")
  { read -r suite cc cxx; mapfile -t args; } < <(build_args "$cfg")
  rm -rf "$dir"
  local env=()
  local release
  release=$(static_libbpf "$cfg")
  if [ -n "$release" ]; then
    if ! prefix=$(bash scripts/libbpf.sh "$release" 2>"$status/libbpf-$release.err"); then
      { cat "$status/libbpf-$release.err"; echo "=== $cfg: no libbpf $release to build against"; } >"$status/$cfg.failed"; return
    fi
    env=(PKG_CONFIG_PATH="$prefix/lib/pkgconfig")
  fi
  mkdir -p "$dir"
  if ! env "${env[@]}" CC="$cc" CXX="$cxx" meson setup "$dir" "${args[@]}" >"$dir.setup.log" 2>&1; then
    { cat "$dir.setup.log"; echo "=== $cfg: meson setup failed"; } >"$status/$cfg.failed"; return
  fi
  [ "$suite" = - ] || read -r -a targets <<<"$(suite_targets "$dir" "$suite")"
  if ! meson compile -C "$dir" "${targets[@]}" >"$dir/compile.log" 2>&1; then
    { tail -50 "$dir/compile.log"; echo "=== $cfg: build failed"; } >"$status/$cfg.failed"; return
  fi
  cpu_now; echo "$(( cpu - cpu0 ))" >"$status/$cfg.cpu"
  echo "$(( $(date +%s) - start ))" >"$status/$cfg.built"
}

# wait_for NAME PID: waits until STATUS/NAME.built or STATUS/NAME.failed exists (PID is
# the process that writes it); true when built.
wait_for() {
  while [ ! -e "$status/$1.built" ] && [ ! -e "$status/$1.failed" ]; do
    if ! kill -0 "$2" 2>/dev/null && [ ! -e "$status/$1.built" ] && [ ! -e "$status/$1.failed" ]; then
      echo "=== $1: the builder ended without building it" >"$status/$1.failed"
    fi
    sleep 1
  done
  [ -e "$status/$1.built" ]
}

# The builds, in the order the tests below need them, at the lowest CPU priority: the
# static builds first (the guests wait for them), then the rest.
to_build=()
add_build() { [[ " ${to_build[*]} " == *" $1 "* ]] || to_build+=("$1"); }
for cfg in "${configs[@]}"; do
  case "$cfg" in static|static-*) add_build "$cfg" ;; vm-*) add_build "$(vm_build "$cfg")" ;; esac
done
for cfg in "${configs[@]}"; do is_vm "$cfg" || add_build "$cfg"; done
(
  renice -n 19 -p $BASHPID >/dev/null
  for cfg in "${to_build[@]}"; do build "$cfg"; done
) &
builder_pid=$!
background+=("$builder_pid")

# The guests: their kernels are fetched now (network, while the first build compiles),
# each guest runs once its build is there, LIBBPFCPP_TEST_VM_JOBS at a time, at the
# lowest CPU priority. Each writes STATUS/CFG.ran (seconds) and STATUS/CFG.log.
guests=()
for cfg in "${configs[@]}"; do is_vm "$cfg" && guests+=("$cfg"); done
if [ ${#guests[@]} -gt 0 ]; then
  (
    renice -n 19 -p $BASHPID >/dev/null
    for k in $(for g in "${guests[@]}"; do vm_kernel "$g"; done | awk '!seen[$0]++'); do
      bash scripts/vm/fetch-kernel.sh "$k" >"$status/kernel-$k.dir" 2>"$status/kernel-$k.err" || rm -f "$status/kernel-$k.dir"
    done
    running=()
    for cfg in "${guests[@]}"; do
      built=$(vm_build "$cfg")
      if ! wait_for "$built" "$builder_pid"; then
        # The build's own failure (its log's end) with it: a run of guests only shows no
        # host configuration that would print it.
        { cat "$status/$built.failed" 2>/dev/null; echo "=== $cfg: no $built build to run"; } >"$status/$cfg.log"
        echo 0 >"$status/$cfg.ran"
        continue
      fi
      while [ "$(jobs -rp | wc -l)" -ge "$vm_jobs" ]; do sleep 1; done
      (
        start=$(date +%s)
        cpu_now; cpu0=$cpu
        rm -rf "$(out_dir "$cfg")"
        # The kernel fetched above; without it run.py tries again and says why it cannot.
        kernel=(--release "$(vm_kernel "$cfg")")
        [ -s "$status/kernel-$(vm_kernel "$cfg").dir" ] && kernel=(--kernel-dir "$(tail -n 1 "$status/kernel-$(vm_kernel "$cfg").dir")")
        skip=()
        [[ " ${partial[*]} " == *" $cfg "* ]] && skip=(--skip-suite events)
        python3 scripts/vm/run.py "$(build_dir "$cfg")" --out "$(out_dir "$cfg")" "${kernel[@]}" "${skip[@]}" >"$status/$cfg.log" 2>&1
        cpu_now; echo "$(( cpu - cpu0 ))" >"$status/$cfg.cpu"
        echo "$(( $(date +%s) - start ))" >"$status/$cfg.ran"
      ) &
    done
    wait
  ) &
  guest_pid=$!
  background+=("$guest_pid")
fi

# show_guests: prints the output of every guest that finished since the last call.
show_guests() {
  local cfg
  for cfg in "${guests[@]}"; do
    if [ -e "$status/$cfg.ran" ] && [ ! -e "$status/$cfg.shown" ]; then
      echo "=== $cfg: the $(vm_build "$cfg") build on Debian's $(vm_kernel "$cfg") cloud kernel under qemu$([[ " ${partial[*]} " == *" $cfg "* ]] && echo ", without the event tests")"
      grep -v '^vm: libbpfcpp.*rc=\(0\|77\) ' "$status/$cfg.log"
      times+=("$cfg: $(cat "$status/$cfg.ran") s, CPU $(cat "$status/$cfg.cpu" 2>/dev/null || echo 0) s (guest run, in the background)")
      touch "$status/$cfg.shown"
    fi
  done
}

# The host's tests, one configuration after the other in the foreground.
for cfg in "${configs[@]}"; do
  is_vm "$cfg" && continue
  start=$(date +%s)
  if [ "$cfg" = consumer ]; then
    wait_for consumer "$builder_pid"
    show_guests
    echo "=== consumer: tests/consumer/project via pkg-config, CMake and a meson subproject"
    grep '^===\|^libbpfcpp-test-cases' "$status/consumer.out"
    times+=("consumer: $(cat "$status/consumer.built") s, CPU $(cat "$status/consumer.cpu") s in the background (builds and runs; waited $(( $(date +%s) - start )) s)")
    continue
  fi
  dir=$(build_dir "$cfg")
  if ! wait_for "$cfg" "$builder_pid"; then
    show_guests
    cat "$status/$cfg.failed"
    times+=("$cfg: build failed")
    continue
  fi
  show_guests
  waited=$(( $(date +%s) - start ))
  start=$(date +%s)
  echo "=== $cfg: built in $(cat "$status/$cfg.built") s; testing"
  cpu_now; cpu0=$cpu
  read -r suite _ < <(build_args "$cfg")
  if [ "$suite" = - ]; then
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 | tail -n 30
  else
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 --suite "$suite" | tail -n 30
  fi
  cpu_now
  times+=("$cfg: build $(cat "$status/$cfg.built") s, CPU $(cat "$status/$cfg.cpu") s; tests $(( $(date +%s) - start )) s, CPU $(( cpu - cpu0 )) s (waited ${waited} s for the build)")
done
if [ ${#guests[@]} -gt 0 ]; then
  while kill -0 "$guest_pid" 2>/dev/null; do show_guests; sleep 1; done
  show_guests
fi
wait "$builder_pid" 2>/dev/null
[ ${#guests[@]} -eq 0 ] || wait "$guest_pid" 2>/dev/null
background=()
cpu_now

echo "=== times (wall clock and CPU seconds, user + system; builds and guests overlap the host's tests)"
total=$(( $(date +%s) - t0 ))
printf '  %s\n' "${times[@]}" "total: $total s, CPU $cpu s ($(( cpu / $(nproc) )) s of wall clock on $(nproc) cores at the least)"
reported=
for cfg in "${configs[@]}"; do
  # The builds without sanitizers (LeakSanitizer objects to the probes' lifetime-long caches).
  case "$cfg" in static|static-*|gcc|clang) ;; *) continue ;; esac
  d=$(out_dir "$cfg")
  [ -x "$d/tests/feature_probe" ] || continue
  # For the summary's table of features (the guests write their own).
  "$d/tests/feature_probe" --report >"$d/features.txt" 2>&1
  if [ -z "$reported" ]; then
    echo "=== kernel features of this machine ($(uname -r)), as the test harness probes them"
    sed 's/^/  /' "$d/features.txt"
    reported=1
  fi
done
for k in "${kernels[@]}"; do
  [ -s "$status/kernel-$k.err" ] && { echo "=== fetching the $k kernel:"; cat "$status/kernel-$k.err"; }
done
dirs=()
for cfg in "${configs[@]}"; do dirs+=("$(out_dir "$cfg")"); done
python3 scripts/test-summary.py "${dirs[@]}"
