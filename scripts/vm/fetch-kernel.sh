#!/usr/bin/env bash
# Downloads the cloud kernel of a Debian release (the package its linux-image-cloud-amd64
# depends on) and unpacks it into a cache, so that later runs on the same machine boot
# without the network. Prints the directory of the unpacked package: boot/vmlinuz-* and
# lib/modules/<version>/ are inside it.
#
#   bash scripts/vm/fetch-kernel.sh [RELEASE]   # bullseye (5.10), bookworm (6.1, the default),
#                                               # trixie (6.12) or trixie-backports (7.3); the
#                                               # kernel versions work too
#   LIBBPFCPP_VM_CACHE=/some/dir bash ...      # another cache directory
#   LIBBPFCPP_VM_KERNEL_PACKAGE=linux-image-6.1.0-56-cloud-amd64 bash ...  # pin a version
#
# The package lists come from the release's own archive (deb.debian.org: RELEASE,
# RELEASE-updates, RELEASE-security, and for trixie-backports trixie-backports too), read through a private apt configuration under
# the cache directory (its own sources list, lists and package cache): the machine's apt
# sources stay as they are. The archives' Release files are checked against
# /usr/share/keyrings/debian-archive-keyring.gpg, which on Debian 12 holds the keys of
# Debian 11 and 13 too.
#
# From 7.x Debian splits a kernel: linux-image-VER-cloud-amd64 holds almost nothing and
# depends on linux-binary-VER (boot/vmlinuz-*), linux-base-VER (boot/config-*, System.map)
# and linux-modules-VER (the modules). When the image package has no vmlinuz, those of its
# dependencies that carry its own version string are downloaded too and unpacked into the
# same directory, so the result looks like an older kernel's single package to run.py.
set -euo pipefail

die() { echo "fetch-kernel: $*" >&2; exit 1; }

release="${1:-${LIBBPFCPP_VM_RELEASE:-bookworm}}"
case "$release" in
  bullseye|5.10) release=bullseye series=5.10 ;;
  bookworm|6.1)  release=bookworm series=6.1 ;;
  trixie|6.12)   release=trixie   series=6.12 ;;
  trixie-backports|7.3) release=trixie-backports series=7.3 ;;
  *) die "unknown release '$release' (bullseye or 5.10, bookworm or 6.1, trixie or 6.12, trixie-backports or 7.3)" ;;
esac
# The distribution whose archive holds the release (a backports suite lives beside it).
base="${release%-backports}"

cache="${LIBBPFCPP_VM_CACHE:-/var/cache/libbpfcpp-vm}"
meta="${LIBBPFCPP_VM_KERNEL_META:-linux-image-cloud-amd64}"
pkg="${LIBBPFCPP_VM_KERNEL_PACKAGE:-}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# Package lists older than this are refreshed (a new point release moves the kernel).
max_age_minutes=$(( 6 * 60 ))

mkdir -p "$cache" || die "cannot create the cache directory $cache (set LIBBPFCPP_VM_CACHE to a writable one)"
[ -r "$keyring" ] || die "$keyring is missing (apt-get install debian-archive-keyring)"

# The private apt configuration of this release.
apt_dir="$cache/apt/$release"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/empty.d"
[ -e "$apt_dir/status" ] || : >"$apt_dir/status"
cat >"$apt_dir/sources.list.new" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian $base main
deb [signed-by=$keyring] http://deb.debian.org/debian $base-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security $base-security main
EOF
if [ "$base" != "$release" ]; then
  echo "deb [signed-by=$keyring] http://deb.debian.org/debian $release main" >>"$apt_dir/sources.list.new"
fi
mv "$apt_dir/sources.list.new" "$apt_dir/sources.list"
# A backports suite is NotAutomatic: without a pin apt would resolve the meta package to
# the base release's kernel.
if [ "$base" != "$release" ]; then
  printf 'Package: *\nPin: release n=%s\nPin-Priority: 990\n' "$release" >"$apt_dir/preferences"
else
  rm -f "$apt_dir/preferences"
fi
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/empty.d"
          -o "Dir::Etc::Preferences=$apt_dir/preferences" -o "Dir::Etc::PreferencesParts=$apt_dir/empty.d"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
          -o "Dir::Cache=$apt_dir" -o "Dir::Cache::Archives=$apt_dir/archives"
          -o APT::Architecture=amd64 -o APT::Architectures=amd64 -o Acquire::Languages=none
          -o APT::Sandbox::User=root)
# Two guests of one release may start at once: one fetches, the other waits and reuses.
exec 9>"$apt_dir/lock"
flock 9

# The newest kernel of this release already in the cache, for a machine offline.
cached_kernel() {
  local d
  for d in "$cache"/linux-image-"$series".*-cloud-amd64-*/; do
    if [ -f "$d/.complete" ]; then echo "${d%/}"; fi
  done | sort -V | tail -n 1
}

# The meta package's dependency names the versioned image (linux-image-6.1.0-NN-cloud-amd64);
# the versions move with Debian's point releases, so the name is resolved on every run.
resolve() {
  { apt-cache "${apt_opts[@]}" depends "$meta" 2>/dev/null || true; } |
    sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1
}
if [ -z "$pkg" ]; then
  if [ -z "$(find "$apt_dir/lists" -maxdepth 1 -name '*_Packages' -mmin -"$max_age_minutes" 2>/dev/null | head -n 1)" ]; then
    # apt-get update exits 0 when some indexes could not be fetched: its W:/E: lines tell.
    if ! apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 || grep -q '^[WE]: ' "$apt_dir/update.log"; then
      echo "fetch-kernel: updating the package lists of Debian $release failed:" >&2
      grep '^[WE]: ' "$apt_dir/update.log" | sed 's/^/  /' >&2 || true
    fi
  fi
  pkg="$(resolve)"
  if [ -z "$pkg" ]; then
    cached="$(cached_kernel)"
    [ -n "$cached" ] || die "cannot resolve the kernel package that $meta of Debian $release depends on (is deb.debian.org reachable? see $apt_dir/update.log), and no $series kernel is cached in $cache"
    echo "fetch-kernel: $meta of Debian $release not resolvable, using the cached $cached" >&2
    echo "$cached"
    exit 0
  fi
fi

version="$({ apt-cache "${apt_opts[@]}" show "$pkg" 2>/dev/null || true; } | sed -n 's/^Version: //p' | sort -V | tail -n 1)"
[ -n "$version" ] || die "package $pkg is unknown to the package lists of Debian $release"
# The suite that has this version (e.g. bullseye-security), for the messages.
suite="$({ apt-cache "${apt_opts[@]}" madison "$pkg" 2>/dev/null || true; } | awk -F'|' -v v="$version" \
  '{gsub(/ /, "", $2)} $2 == v {split($3, w, " "); split(w[2], s, "/"); print s[1]; exit}')"
suite="${suite:-$release}"
dest="$cache/$pkg-$version"
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi

work="$(mktemp -d "$cache/.download-XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "fetch-kernel: downloading $pkg $version (Debian $suite)" >&2
if ! (cd "$work" && apt-get "${apt_opts[@]}" download -q "$pkg=$version" >download.log 2>&1); then
  grep -v '^Ign:' "$work/download.log" | sed 's/^/  /' >&2 || true
  cached="$(cached_kernel)"
  [ -z "$cached" ] || echo "fetch-kernel: (a cached $series kernel exists: pin it with LIBBPFCPP_VM_KERNEL_PACKAGE or --kernel-dir $cached)" >&2
  die "downloading package $pkg ($version) of Debian $suite failed; check the network, or put the unpacked package in $dest"
fi
deb="$(ls "$work"/*.deb 2>/dev/null | head -n 1)"
[ -n "$deb" ] || die "apt-get download $pkg (Debian $release) produced no .deb"
rm -rf "$work/root"
dpkg-deb -x "$deb" "$work/root" || die "unpacking $deb ($pkg, Debian $release) failed"
if ! ls "$work"/root/boot/vmlinuz-* >/dev/null 2>&1; then
  # A split 7.x kernel: the parts are the dependencies named after the image's ABI string
  # (linux-image-7.3.4+deb13-cloud-amd64 -> linux-binary-7.3.4+deb13-cloud-amd64, ...).
  abi="${pkg#linux-image-}"
  parts="$({ apt-cache "${apt_opts[@]}" show "$pkg=$version" 2>/dev/null || true; } | sed -n 's/^Depends: //p' | head -n 1 |
           tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep -E "^linux-(binary|base|modules)-" | grep -F -- "${abi%-cloud-amd64}" | sort -u)"
  [ -n "$parts" ] || die "package $pkg (Debian $suite) has no boot/vmlinuz-* and no linux-binary/linux-base/linux-modules dependency of its version"
  echo "fetch-kernel: $pkg is split; downloading its parts:" $parts >&2
  mkdir -p "$work/parts"
  for part in $parts; do
    if ! (cd "$work/parts" && apt-get "${apt_opts[@]}" download -q "$part" >>"$work/download.log" 2>&1); then
      grep -v '^Ign:' "$work/download.log" | sed 's/^/  /' >&2 || true
      die "downloading $part (a part of $pkg, Debian $suite) failed; check the network"
    fi
  done
  for d in "$work"/parts/*.deb; do
    dpkg-deb -x "$d" "$work/root" || die "unpacking $d (a part of $pkg, Debian $release) failed"
  done
  # The parts keep vmlinuz and config in usr/lib/modules/VER/; boot/ gets the names the
  # older packages use (links), which is where run.py looks.
  for m in "$work"/root/usr/lib/modules/*/; do
    kver="$(basename "$m")"
    mkdir -p "$work/root/boot"
    [ -f "$m/vmlinuz" ] && ln -sf "../usr/lib/modules/$kver/vmlinuz" "$work/root/boot/vmlinuz-$kver"
    [ -f "$m/config" ] && ln -sf "../usr/lib/modules/$kver/config" "$work/root/boot/config-$kver"
  done
  ls "$work"/root/boot/vmlinuz-* >/dev/null 2>&1 || die "neither $pkg (Debian $release) nor its parts ($(echo $parts)) have a boot/vmlinuz-*"
fi
rm -rf "$dest"
mv "$work/root" "$dest"
touch "$dest/.complete"
echo "$dest"
