#!/usr/bin/env bash
# Prepares a Debian 12 machine (as root) to build and run libbpfcpp: installs the missing
# packages and mounts tracefs and bpffs if they are not mounted. Safe to run again.
set -euo pipefail

# clang-19: BPF programs on __arena pointers need clang >= 18 (bpf/meson.build).
packages=(g++ clang llvm libclang-rt-14-dev meson ninja-build pkg-config python3 libasio-dev
          libbpf-dev bpftool libelf-dev zlib1g-dev catch2 iproute2 curl systemtap-sdt-dev doxygen
          libdw-dev liblzma-dev libbz2-dev clang-19)
if [ -n "${LIBBPFCPP_EXTRA_PACKAGES:-}" ]; then
  read -r -a extra <<< "$LIBBPFCPP_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || \
  echo "setup-host: could not mount tracefs on /sys/kernel/tracing" >&2
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || \
  echo "setup-host: could not mount bpffs on /sys/fs/bpf" >&2
exit 0
