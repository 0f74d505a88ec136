#!/usr/bin/env bash
# Installs what is missing, builds the C++ tcpconnect and runs it for a few seconds while
# a few loopback connections (curl, bash /dev/tcp; IPv4 and IPv6) are made, so there is
# output to see. Run as root on Debian 12:
#
#   bash scripts/run-tcpconnect.sh                 # 5 seconds
#   bash scripts/run-tcpconnect.sh 10 --json       # 10 seconds, tcpconnect options after
#
# BUILD_DIR (default build-tcpconnect) is the meson build directory it uses.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
dir=${BUILD_DIR:-build-tcpconnect}

bash scripts/setup-host.sh
[ -f "$dir/build.ninja" ] || meson setup "$dir" -Dtests=false -Dbench=false >/dev/null
meson compile -C "$dir" examples/tcpconnect/tcpconnect >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_pid=
tracer_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -z "$tracer_pid" ] || kill -INT "$tracer_pid" 2>/dev/null || true
}
trap cleanup EXIT

# A loopback HTTP server on both address families, quiet.
python3 -m http.server --bind :: --directory / "$port" >/dev/null 2>&1 &
server_pid=$!

"$dir/examples/tcpconnect/tcpconnect" -d "$seconds" "$@" &
tracer_pid=$!
sleep 1
for url in "http://127.0.0.1:$port/" "http://[::1]:$port/"; do
  curl -g -s -o /dev/null --noproxy '*' "$url" || true
done
(exec 3<>"/dev/tcp/127.0.0.1/$port"; exec 3>&-) || true
(exec 3<>"/dev/tcp/::1/$port"; exec 3>&-) || true
wait "$tracer_pid" || true
tracer_pid=
