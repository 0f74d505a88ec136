#!/usr/bin/env bash
# Builds a release of libbpf from its source tarball into a private prefix, for building
# the suite against a libbpf other than the machine's own (Debian 12 ships 1.1). Prints
# the prefix; its lib/pkgconfig/libbpf.pc is what meson finds through PKG_CONFIG_PATH:
#
#   prefix=$(bash scripts/libbpf.sh 1.5)
#   PKG_CONFIG_PATH=$prefix/lib/pkgconfig meson setup build-1.5 -Dstatic=true
#
# Only the static library is built (libbpf.a, headers, the UAPI headers it was written
# against, libbpf.pc), with this machine's compiler and libelf/zlib: a binary libbpf of
# a newer distribution would need a newer C library than the one here. The tarball is
# Debian's copy of the upstream release, checked against the SHA-256 that Debian's
# signed Sources index lists for it. A finished prefix is reused without the network.
#
#   LIBBPFCPP_LIBBPF_CACHE=/some/dir   where prefixes live (default /var/cache/libbpfcpp-libbpf)
set -euo pipefail

die() { echo "libbpf.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: libbpf.sh VERSION (known: 1.5, 1.7)"
version=$1
# Releases this script knows: the upstream tarball in Debian's pool and its SHA-256 as a
# Debian Sources index gives it, read with apt-cache showsrc through a private apt
# configuration whose InRelease was checked against debian-archive-keyring (never from an
# unsigned download): 1.5 from trixie's index (libbpf 1.5.0-3), 1.7 from sid's (1.7.0-1).
case "$version" in
  1.5|1.5.0) version=1.5.0
             sha256=53492aff6dd47e4da04ef5e672d753b9743848bdb38e9d90eafbe190b7983c44 ;;
  1.7|1.7.0) version=1.7.0
             sha256=7ab5feffbf78557f626f2e3e3204788528394494715a30fc2070fcddc2051b7b ;;
  *) die "unknown libbpf release '$version' (known: 1.5, 1.7); add its tarball's SHA-256 to this script" ;;
esac
url="http://deb.debian.org/debian/pool/main/libb/libbpf/libbpf_${version}.orig.tar.gz"

cache="${LIBBPFCPP_LIBBPF_CACHE:-/var/cache/libbpfcpp-libbpf}"
prefix="$cache/$version"
mkdir -p "$cache" || die "cannot create $cache (set LIBBPFCPP_LIBBPF_CACHE to a writable directory)"
# Two builds of the suite may ask at once: one builds, the other waits and reuses.
exec 9>"$cache/.lock-$version"
flock 9
if [ -f "$prefix/.complete" ]; then
  echo "$prefix"
  exit 0
fi

for tool in make cc ar pkg-config; do
  command -v "$tool" >/dev/null || die "$tool is missing (bash scripts/setup-host.sh installs it)"
done
pkg-config --exists libelf zlib || die "libelf and zlib development files are missing (apt-get install libelf-dev zlib1g-dev)"

work="$(mktemp -d "$cache/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "libbpf.sh: downloading libbpf $version ($url)" >&2
if ! curl -fsSL --retry 3 -o "$work/libbpf.tar.gz" "$url"; then
  die "downloading libbpf $version from $url failed; check the network, or put a finished prefix in $prefix"
fi
got="$(sha256sum "$work/libbpf.tar.gz" | cut -d' ' -f1)"
[ "$got" = "$sha256" ] || die "libbpf $version tarball has SHA-256 $got, expected $sha256; not building it"
tar -xzf "$work/libbpf.tar.gz" -C "$work"
src="$work/libbpf-$version/src"
[ -d "$src" ] || die "the tarball has no libbpf-$version/src"

echo "libbpf.sh: building libbpf $version into $prefix" >&2
rm -rf "$prefix"
if ! nice make -C "$src" -j"$(nproc)" BUILD_STATIC_ONLY=y OBJDIR="$work/obj" PREFIX="$prefix" LIBSUBDIR=lib \
    CFLAGS="-O2 -Wall" install install_uapi_headers >"$work/build.log" 2>&1; then
  tail -30 "$work/build.log" >&2
  die "building libbpf $version failed (the end of the log is above)"
fi
[ -f "$prefix/lib/libbpf.a" ] && [ -f "$prefix/lib/pkgconfig/libbpf.pc" ] || die "the build of libbpf $version installed no libbpf.a or libbpf.pc"
touch "$prefix/.complete"
echo "$prefix"
