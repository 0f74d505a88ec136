#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite in several
# configurations: g++, clang++, g++ with AddressSanitizer+UndefinedBehaviorSanitizer,
# (tsan) g++ with ThreadSanitizer over the event-streaming tests, g++ with static linking,
# (consumer) a project outside this build using the installed package and the subproject
# (scripts/test-consumer.sh), and (vm) the static build run on Debian's 6.1 kernel under
# qemu (scripts/vm/run.py; docs/kernel-matrix.md). Ends with the line
# "N passed, N failed, N skipped".
#
#   sudo bash scripts/test.sh              # all configurations
#   sudo bash scripts/test.sh gcc clang    # only some
#   sudo bash scripts/test.sh vm           # only the 6.1 kernel
set -uo pipefail
cd "$(dirname "$0")/.."

configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(gcc clang sanitize tsan static vm consumer)

for cfg in "${configs[@]}"; do
  [ "$cfg" = vm ] && export LIBBPFCPP_EXTRA_PACKAGES="${LIBBPFCPP_EXTRA_PACKAGES:-} qemu-system-x86 busybox-static"
  [ "$cfg" = consumer ] && export LIBBPFCPP_EXTRA_PACKAGES="${LIBBPFCPP_EXTRA_PACKAGES:-} cmake make"
done
bash scripts/setup-host.sh || exit 1

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"

dirs=()
static_built=
for cfg in "${configs[@]}"; do
  if [ "$cfg" = consumer ]; then
    echo "=== consumer: tests/consumer/project via pkg-config, CMake and a meson subproject"
    dirs+=(build-test-consumer)
    CC=gcc CXX=g++ bash scripts/test-consumer.sh build-test-consumer | grep '^===\|^libbpfcpp-test-cases'
    continue
  fi
  if [ "$cfg" = vm ]; then
    # The guest runs the static build; reuse the one the static configuration made.
    if [ -z "$static_built" ]; then
      echo "=== vm: building statically in build-test-static"
      export CC=gcc CXX=g++
      rm -rf build-test-static
      if ! meson setup build-test-static -Dbench=false -Dstatic=true >build-test-static.setup.log 2>&1; then
        cat build-test-static.setup.log; echo "=== vm: meson setup failed"; dirs+=(build-test-vm); continue
      fi
      if ! meson compile -C build-test-static >build-test-static/compile.log 2>&1; then
        tail -50 build-test-static/compile.log; echo "=== vm: build failed"; dirs+=(build-test-vm); continue
      fi
    fi
    echo "=== vm: the static build on Debian's cloud kernel under qemu"
    rm -rf build-test-vm
    dirs+=(build-test-vm)
    start=$(date +%s)
    python3 scripts/vm/run.py build-test-static --out build-test-vm
    echo "=== vm: $(( $(date +%s) - start )) s"
    continue
  fi
  dir="build-test-$cfg"
  args=(-Dbench=false)
  suites=()
  case "$cfg" in
    gcc)      export CC=gcc CXX=g++ ;;
    clang)    export CC=clang CXX=clang++ ;;
    sanitize) export CC=gcc CXX=g++; args+=(-Db_sanitize=address,undefined -Db_lundef=false) ;;
    tsan)     export CC=gcc CXX=g++; args+=(-Db_sanitize=thread -Db_lundef=false -Dtest_areas=events -Dexamples=false); suites=(--suite events) ;;
    static)   export CC=gcc CXX=g++; args+=(-Dstatic=true) ;;
    *) echo "unknown configuration '$cfg' (gcc, clang, sanitize, tsan, static, consumer, vm)" >&2; exit 2 ;;
  esac
  echo "=== $cfg: $CXX ${args[*]}"
  rm -rf "$dir"
  dirs+=("$dir")
  if ! meson setup "$dir" "${args[@]}" >"$dir.setup.log" 2>&1; then
    cat "$dir.setup.log"; echo "=== $cfg: meson setup failed"; continue
  fi
  if ! meson compile -C "$dir" >"$dir/compile.log" 2>&1; then
    tail -50 "$dir/compile.log"; echo "=== $cfg: build failed"; continue
  fi
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${suites[@]}" | tail -n 30
  [ "$cfg" = static ] && static_built=1
done

python3 scripts/test-summary.py "${dirs[@]}"
