#!/usr/bin/env bash
# Start a private Docker engine for cagents' docker target and its tests; installs nothing.
#
#   scripts/dockerd-up.sh DIR      (default DIR: /var/tmp/cagents-docker)
#
# The engine listens on unix://DIR/docker.sock only, keeps its images under DIR/data (so the
# base image survives restarts) and has no bridge and no iptables rules: containers and builds
# use host networking and talk over 127.0.0.1. Prints `DOCKER_HOST=unix://DIR/docker.sock` on
# stdout (and nothing else), so `export "$(scripts/dockerd-up.sh DIR)"` works. Running it again
# while that engine answers only prints the line. Stop it with scripts/dockerd-down.sh DIR.
set -euo pipefail

D=${1:-/var/tmp/cagents-docker}
mkdir -p "$D"
D=$(cd "$D" && pwd)
SOCK="$D/docker.sock"
PIDFILE="$D/docker.pid"
LOG="$D/dockerd.log"
WAIT=${DOCKERD_WAIT_SECONDS:-60}

say() { printf 'dockerd-up: %s\n' "$*" >&2; }

# Answers the engine's ping (`GET /_ping` -> OK) over the socket, with whatever client exists.
engine_answers() {
  [ -S "$SOCK" ] || return 1
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = OK ]
  else
    python3 - "$SOCK" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.0\r\nHost: localhost\r\n\r\n")
data = b""
while chunk := s.recv(4096):
    data += chunk
sys.exit(0 if data.startswith(b"HTTP/1.") and data.endswith(b"OK") else 1)
PY
  fi
}

if engine_answers; then
  echo "DOCKER_HOST=unix://$SOCK"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  say "dockerd is not installed (Debian: apt-get install docker.io)"
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  say "dockerd needs root here (run as root, or use an engine you already have via DOCKER_HOST)"
  exit 1
fi

# A dead engine's leftovers: its pid file, socket and the netns mount block a new start.
# A pid that is gone, or a zombie (killed, not yet reaped), is no engine.
alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }
if [ -f "$PIDFILE" ]; then
  old=$(cat "$PIDFILE" 2>/dev/null || true)
  # An engine that is starting or stopping gets a few seconds to answer or to go.
  for _ in $(seq 1 25); do
    { [ -n "$old" ] && alive "$old"; } || break
    if engine_answers; then echo "DOCKER_HOST=unix://$SOCK"; exit 0; fi
    sleep 0.2
  done
  if [ -n "$old" ] && alive "$old"; then
    say "dockerd (pid $old) runs for $D but does not answer on $SOCK; see $LOG or run scripts/dockerd-down.sh $D"
    exit 1
  fi
  rm -f "$PIDFILE"
fi
# The engine's containerd, when the engine was killed: a zombie not yet reaped (its pid file
# would make the new engine wait for it) or an orphan still running (stopped by its pid).
CPID="$D/exec/containerd/containerd.pid"
if [ -f "$CPID" ]; then
  cpid=$(cat "$CPID" 2>/dev/null || true)
  if [ -n "$cpid" ] && alive "$cpid" && tr '\0' ' ' <"/proc/$cpid/cmdline" 2>/dev/null | grep -q -- "$D/exec/containerd"; then
    kill -TERM "$cpid" 2>/dev/null || true
  fi
  for _ in $(seq 1 50); do
    { [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; } || break
    sleep 0.1
  done
  rm -f "$CPID"
fi
rm -f "$SOCK"
if mountpoint -q "$D/exec/netns/default" 2>/dev/null; then
  umount "$D/exec/netns/default" || true
fi

mkdir -p "$D/data" "$D/exec"
# The log is appended to across starts; keep it from growing without bound.
if [ -f "$LOG" ] && [ "$(stat -c %s "$LOG")" -gt 10000000 ]; then : >"$LOG"; fi
# setsid: the engine outlives this script and the shell that started it.
setsid dockerd \
  --host "unix://$SOCK" \
  --data-root "$D/data" \
  --exec-root "$D/exec" \
  --pidfile "$PIDFILE" \
  --bridge=none \
  --iptables=false \
  --ip-masq=false \
  >>"$LOG" 2>&1 </dev/null &
pid=$!

for _ in $(seq 1 $((WAIT * 5))); do
  if engine_answers; then
    echo "DOCKER_HOST=unix://$SOCK"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    say "dockerd exited while starting; the end of $LOG:"
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  sleep 0.2
done
say "dockerd (pid $pid) did not answer on $SOCK within ${WAIT}s; the end of $LOG:"
tail -n 20 "$LOG" >&2
exit 1
