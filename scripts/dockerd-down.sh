#!/usr/bin/env bash
# Stop the private Docker engine that scripts/dockerd-up.sh started for DIR, by its pid.
#
#   scripts/dockerd-down.sh DIR    (default DIR: /var/tmp/cagents-docker)
#
# Keeps DIR/data (images, so the base image need not be built again). Unmounts the network
# namespace mount the engine can leave behind. Does nothing when no engine runs for DIR.
set -euo pipefail

D=${1:-/var/tmp/cagents-docker}
[ -d "$D" ] || exit 0
D=$(cd "$D" && pwd)
PIDFILE="$D/docker.pid"
WAIT=${DOCKERD_WAIT_SECONDS:-30}

say() { printf 'dockerd-down: %s\n' "$*" >&2; }

if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 $((WAIT * 5))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd (pid $pid) still runs after ${WAIT}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
    fi
  fi
  rm -f "$PIDFILE"
fi
rm -f "$D/docker.sock"
if mountpoint -q "$D/exec/netns/default" 2>/dev/null; then
  umount "$D/exec/netns/default" || umount -l "$D/exec/netns/default" || true
fi
exit 0
