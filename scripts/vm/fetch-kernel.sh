#!/usr/bin/env bash
# Downloads Debian's cloud kernel (the package linux-image-cloud-amd64 depends on) and
# unpacks it into a cache, so that later runs on the same machine boot without the
# network. Prints the directory of the unpacked package: boot/vmlinuz-* and
# lib/modules/<version>/ are inside it.
#
#   bash scripts/vm/fetch-kernel.sh            # resolve the current package, cache it
#   LIBBPFCPP_VM_CACHE=/some/dir bash ...      # another cache directory
#   LIBBPFCPP_VM_KERNEL_PACKAGE=linux-image-6.1.0-56-cloud-amd64 bash ...  # pin a version
set -euo pipefail

cache="${LIBBPFCPP_VM_CACHE:-/var/cache/libbpfcpp-vm}"
meta="${LIBBPFCPP_VM_KERNEL_META:-linux-image-cloud-amd64}"
pkg="${LIBBPFCPP_VM_KERNEL_PACKAGE:-}"

die() { echo "fetch-kernel: $*" >&2; exit 1; }

mkdir -p "$cache" || die "cannot create the cache directory $cache (set LIBBPFCPP_VM_CACHE to a writable one)"

# The meta package's dependency names the versioned image (linux-image-6.1.0-NN-cloud-amd64);
# the versions move with Debian's point releases, so the name is resolved on every run.
resolve() {
  apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1
}
if [ -z "$pkg" ]; then
  pkg="$(resolve)"
  if [ -z "$pkg" ]; then
    # A fresh machine may have empty package lists.
    apt-get update -qq >/dev/null 2>&1 || true
    pkg="$(resolve)"
  fi
  if [ -z "$pkg" ]; then
    # Offline: fall back to the newest kernel already in the cache.
    cached="$(ls -d "$cache"/linux-image-*/ 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$cached" ] || die "cannot resolve the kernel package that $meta depends on (apt-cache depends $meta gave nothing; is a Debian package repository reachable and 'apt-get update' done?)"
    echo "fetch-kernel: $meta not resolvable, using the cached ${cached%/}" >&2
    echo "${cached%/}"
    exit 0
  fi
fi

version="$(apt-cache show "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)"
[ -n "$version" ] || die "package $pkg is unknown to apt-cache (run 'apt-get update'?)"
dest="$cache/$pkg-$version"
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi

work="$(mktemp -d "$cache/.download-XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "fetch-kernel: downloading $pkg $version" >&2
if ! (cd "$work" && apt-get download -q "$pkg=$version" >download.log 2>&1); then
  cat "$work/download.log" >&2
  die "downloading package $pkg ($version) failed; check the network and the apt sources, or put the unpacked package in $dest"
fi
deb="$(ls "$work"/*.deb 2>/dev/null | head -n 1)"
[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
rm -rf "$work/root"
dpkg-deb -x "$deb" "$work/root" || die "unpacking $deb ($pkg) failed"
ls "$work"/root/boot/vmlinuz-* >/dev/null 2>&1 || die "package $pkg has no boot/vmlinuz-*"
rm -rf "$dest"
mv "$work/root" "$dest"
touch "$dest/.complete"
echo "$dest"
