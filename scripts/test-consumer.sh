#!/usr/bin/env bash
# Builds the consumer project (tests/consumer/project, outside the main build) against
# libbpfcpp three ways and runs each binary as root against the running kernel:
#   pkgconfig  installed libbpfcpp, make + pkg-config (libbpfcpp.pc, libbpfcpp-embed)
#   pkgconfig-compiled  the same tool in compiled mode (libbpfcpp-compiled.pc, libbpfcpp-compiled.a)
#   pkgconfig-static  the same, linked with -static (pkg-config --static)
#   cmake      installed libbpfcpp, find_package(libbpfcpp) -> libbpfcpp::libbpfcpp
#   cmake-compiled  the same tool in compiled mode, libbpfcpp::compiled
#   meson      installed libbpfcpp, dependency('libbpfcpp') through libbpfcpp.pc
#   subproject libbpfcpp as a meson subproject, dependency('libbpfcpp')
#   recipe-{meson,cmake,make}  the build files of docs/recipes.md as written (extracted
#              by scripts/recipe-snippets.py) around tests/consumer/recipe's sources
# Each way builds the tool twice: with the string API and embedded object (consumer), and
# through the typed skeleton libbpfcpp-gen generates (skel_consumer, NAME-skeleton);
# pkgconfig and cmake also build it on the asio adaptor (asio_consumer, NAME-asio).
# cmake also builds a skeleton linked from two BPF sources (linked_consumer, cmake-linked).
# The install's bin/ is never on PATH, and directories of PATH that hold another
# libbpfcpp-gen or libbpfcpp-embed are dropped: the builds must find both through the
# package (libbpfcpp.pc's variables, the CMake package).
# Everything lands in OUT (default build-consumer). Writes OUT/meson-logs/testlog.json
# (one line per way, as `meson test` writes it) for scripts/test-summary.py and ends
# with "libbpfcpp-test-cases: passed=N failed=N skipped=N".
#
#   bash scripts/test-consumer.sh [OUT]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/build-consumer}")
project="$root/tests/consumer/project"

rm -rf "$out"
mkdir -p "$out/meson-logs"

clean_path=""
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  [ -e "$d/libbpfcpp-gen" ] || [ -e "$d/libbpfcpp-embed" ] && continue
  clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
log="$out/meson-logs/testlog.json"
: >"$log"
passed=0 failed=0 skipped=0

# record NAME RESULT OUTPUT-FILE: one testlog line, and the case counts.
record() {
  python3 - "$1" "$2" "$3" >>"$log" <<'PY'
import json, sys
name, result, path = sys.argv[1:4]
print(json.dumps({"name": name, "result": result, "stdout": open(path, errors="replace").read()}))
PY
  local counts
  counts=$(sed -n 's/^libbpfcpp-test-cases: passed=\([0-9]*\) failed=\([0-9]*\) skipped=\([0-9]*\)$/\1 \2 \3/p' "$3" | tail -1)
  if [ -n "$counts" ]; then
    read -r p f s <<<"$counts"
    [ "$2" = OK ] || [ "$2" = SKIP ] || [ "$f" -gt 0 ] || f=1
  else
    p=0 f=0 s=0
    case "$2" in OK) p=1 ;; SKIP) s=1 ;; *) f=1 ;; esac
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  echo "=== consumer/$1: $2"
}

# run NAME BINARY: runs one built consumer and records its result.
run() {
  local name=$1 bin=$2 rc
  "$bin" >>"$out/$name.log" 2>&1
  rc=$?
  case $rc in 0) record "$name" OK "$out/$name.log" ;; 77) record "$name" SKIP "$out/$name.log" ;;
              *) echo "(exit status $rc)" >>"$out/$name.log"; record "$name" FAIL "$out/$name.log" ;; esac
}

# fail NAME WHAT: a build step failed; its log is in OUT/NAME.log.
fail() {
  echo "$2 failed" >>"$out/$1.log"
  tail -30 "$out/$1.log"
  record "$1" ERROR "$out/$1.log"
}

# Install libbpfcpp as a package build does: the default prefix and libdir (on Debian
# /usr/local and lib/x86_64-linux-gnu) staged with --destdir, and used from there. The
# .pc and the CMake package must be relocatable for that; the embedder is found through
# them, not on PATH.
destdir="$out/destdir"
if meson setup "$out/libbpfcpp" "$root" -Dtests=false -Dexamples=false -Dbench=false \
       >"$out/install.log" 2>&1 &&
   meson install -C "$out/libbpfcpp" --destdir "$destdir" >>"$out/install.log" 2>&1; then
  prefix="$destdir/usr/local"   # meson's default prefix, under the staging directory
  pcfile=$(find "$prefix" -name libbpfcpp.pc | head -1)
  echo "staged under $prefix; libbpfcpp.pc in ${pcfile%/*}" >>"$out/install.log"
  export PKG_CONFIG_PATH="$(dirname "$pcfile")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

  mkdir -p "$out/pkgconfig"
  if make -C "$project" O="$out/pkgconfig" >"$out/pkgconfig.log" 2>&1; then
    run pkgconfig "$out/pkgconfig/consumer"
    run pkgconfig-skeleton "$out/pkgconfig/skel_consumer"
    run pkgconfig-asio "$out/pkgconfig/asio_consumer"
  else
    fail pkgconfig "make with pkg-config"
  fi
  if make -C "$project" O="$out/pkgconfig" compiled >"$out/pkgconfig-compiled.log" 2>&1; then
    run pkgconfig-compiled "$out/pkgconfig/compiled_consumer"
  else
    fail pkgconfig-compiled "make compiled with pkg-config libbpfcpp-compiled"
  fi

  mkdir -p "$out/pkgconfig-static"
  if make -C "$project" O="$out/pkgconfig-static" STATIC=1 >"$out/pkgconfig-static.log" 2>&1; then
    run pkgconfig-static "$out/pkgconfig-static/consumer"
    run pkgconfig-static-skeleton "$out/pkgconfig-static/skel_consumer"
  else
    fail pkgconfig-static "make with pkg-config --static"
  fi

  if cmake -S "$project" -B "$out/cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$out/cmake.log" 2>&1 &&
     cmake --build "$out/cmake" >>"$out/cmake.log" 2>&1; then
    run cmake "$out/cmake/consumer"
    run cmake-skeleton "$out/cmake/skel_consumer"
    run cmake-linked "$out/cmake/linked_consumer"
    run cmake-compiled "$out/cmake/compiled_consumer"
    run cmake-asio "$out/cmake/asio_consumer"
  else
    fail cmake "cmake with find_package(libbpfcpp)"
  fi

  if meson setup "$out/meson" "$project" >"$out/meson.log" 2>&1 &&
     meson compile -C "$out/meson" consumer skel_consumer >>"$out/meson.log" 2>&1; then
    run meson "$out/meson/consumer"
    run meson-skeleton "$out/meson/skel_consumer"
  else
    fail meson "meson with the installed libbpfcpp.pc"
  fi

  # docs/recipes.md's snippets, built as written.
  for way in meson cmake make; do
    dir="$out/recipe-$way"
    mkdir -p "$dir"
    cp -r "$root/tests/consumer/recipe/." "$dir/"
    if ! python3 "$root/scripts/recipe-snippets.py" "$root/docs/recipes.md" "$dir/snippets" >"$out/recipe-$way.log" 2>&1; then
      fail "recipe-$way" "extracting the snippets of docs/recipes.md"
      continue
    fi
    case $way in
      meson) cp "$dir/snippets/meson.build" "$dir/" &&
             meson setup "$dir/build" "$dir" >>"$out/recipe-$way.log" 2>&1 &&
             meson compile -C "$dir/build" >>"$out/recipe-$way.log" 2>&1 && bin="$dir/build" ;;
      cmake) cp "$dir/snippets/CMakeLists.txt" "$dir/" &&
             cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" >>"$out/recipe-$way.log" 2>&1 &&
             cmake --build "$dir/build" >>"$out/recipe-$way.log" 2>&1 && bin="$dir/build" ;;
      make)  cp "$dir/snippets/Makefile" "$dir/" &&
             make -C "$dir" mytool mytool-skel >>"$out/recipe-$way.log" 2>&1 && bin="$dir" ;;
    esac
    if [ $? -eq 0 ]; then
      run "recipe-$way" "$bin/mytool"
      run "recipe-$way-skeleton" "$bin/mytool-skel"
    else
      fail "recipe-$way" "building the $way recipe of docs/recipes.md"
    fi
  done
else
  cp "$out/install.log" "$out/pkgconfig.log"
  cp "$out/install.log" "$out/cmake.log"
  cp "$out/install.log" "$out/pkgconfig-static.log"
  cp "$out/install.log" "$out/pkgconfig-compiled.log"
  fail pkgconfig "meson install"
  fail meson "meson install"
  fail pkgconfig-compiled "meson install"
  fail pkgconfig-static "meson install"
  fail cmake "meson install"
fi

# The subproject build sees only a copy of the project with libbpfcpp's sources under
# subprojects/, and no installed libbpfcpp.
src="$out/subproject-src"
mkdir -p "$src/subprojects/libbpfcpp"
cp "$project/meson.build" "$project/main.cpp" "$project/skel_main.cpp" "$project/count.bpf.c" "$src/"
cp -r "$root/meson.build" "$root/meson_options.txt" "$root/include" "$root/src" "$root/bpf" "$root/scripts" \
      "$root/cmake" "$root/docs" "$root/tools" "$src/subprojects/libbpfcpp/"
if env -u PKG_CONFIG_PATH meson setup "$out/subproject" "$src" --force-fallback-for=libbpfcpp \
       >"$out/subproject.log" 2>&1 &&
   meson compile -C "$out/subproject" consumer skel_consumer >>"$out/subproject.log" 2>&1; then
  run subproject "$out/subproject/consumer"
  run subproject-skeleton "$out/subproject/skel_consumer"
else
  fail subproject "meson with libbpfcpp as a subproject"
fi

echo "libbpfcpp-test-cases: passed=$passed failed=$failed skipped=$skipped"
[ "$failed" -eq 0 ]
