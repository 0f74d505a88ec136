#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite in several
# configurations: g++, clang++, g++ with AddressSanitizer+UndefinedBehaviorSanitizer,
# and g++ with static linking. Ends with the line "N passed, N failed, N skipped".
#
#   sudo bash scripts/test.sh              # all configurations
#   sudo bash scripts/test.sh gcc clang    # only some
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-host.sh || exit 1

configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(gcc clang sanitize static)

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"

dirs=()
for cfg in "${configs[@]}"; do
  dir="build-test-$cfg"
  args=(-Dbench=false)
  suites=()
  case "$cfg" in
    gcc)      export CC=gcc CXX=g++ ;;
    clang)    export CC=clang CXX=clang++ ;;
    sanitize) export CC=gcc CXX=g++; args+=(-Db_sanitize=address,undefined -Db_lundef=false) ;;
    tsan)     export CC=gcc CXX=g++; args+=(-Db_sanitize=thread -Db_lundef=false); suites=(--suite events) ;;
    static)   export CC=gcc CXX=g++; args+=(-Dstatic=true) ;;
    *) echo "unknown configuration '$cfg' (gcc, clang, sanitize, tsan, static)" >&2; exit 2 ;;
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
done

python3 scripts/test-summary.py "${dirs[@]}"
