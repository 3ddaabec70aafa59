#!/usr/bin/env bash
# Build the local Python base image of cagents' docker target with debootstrap; no registry.
#
#   scripts/build-base-image.sh [--force] [NAME:TAG]    (default cagents/python-base:bookworm)
#
# Debian bookworm, minbase, with python3 (3.11, matching the wheels built on the host),
# python3-venv, python3-pip and ca-certificates; apt caches, docs and locales removed; imported
# into the engine at DOCKER_HOST with `docker import`. About a minute and 160 MB.
# Does nothing when the image exists, unless --force.
#
# The Debian mirror is the one this machine's apt uses, read at run time from
# /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; DEBIAN_MIRROR overrides it.
# The image keeps no apt source, so no mirror host is written into it.
# Needs root, debootstrap and a docker CLI.
set -euo pipefail

FORCE=0
if [ "${1:-}" = --force ]; then FORCE=1; shift; fi
NAME=${1:-cagents/python-base:bookworm}
SUITE=bookworm
INCLUDE=python3,python3-venv,python3-pip,ca-certificates

say() { printf 'build-base-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "no docker CLI (Debian: apt-get install docker.io)"
command -v debootstrap >/dev/null 2>&1 || die "no debootstrap (Debian: apt-get install debootstrap)"
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
docker version >/dev/null 2>&1 || die "no Docker engine answers at ${DOCKER_HOST:-the default socket}; start one with scripts/dockerd-up.sh and export the DOCKER_HOST it prints"

if [ "$FORCE" = 0 ] && docker image inspect "$NAME" >/dev/null 2>&1; then
  say "$NAME exists; nothing to do (--force builds it again)"
  exit 0
fi

# The first URI that serves the plain suite (not -security/-updates) in the machine's sources.
mirror_from_apt() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas: remember URIs, print it when the stanza's Suites has the bare suite.
    uri=$(awk -v suite="$SUITE" '
      BEGIN { RS=""; FS="\n" }
      {
        uris=""; ok=0; deb=0
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (line ~ /^Types:/ && line ~ /(^|[ \t])deb([ \t]|$)/) deb=1
          if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); split(line, u, /[ \t]+/); uris=u[1] }
          if (line ~ /^Suites:/) { n = split(line, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok=1 }
        }
        if (deb && ok && uris != "") { print uris; exit }
      }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  return 1
}

MIRROR=${DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
  MIRROR=$(mirror_from_apt) || die "no '$SUITE' source found in /etc/apt/sources.list{,.d}; set DEBIAN_MIRROR to a Debian mirror URI"
fi

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cagents-base.XXXXXX")
cleanup() {
  # debootstrap may leave proc/sys mounted inside the root when it fails half way.
  for m in proc sys dev/pts dev; do
    mountpoint -q "$WORK/rootfs/$m" 2>/dev/null && umount -l "$WORK/rootfs/$m" || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
ROOTFS="$WORK/rootfs"

say "debootstrap $SUITE (minbase + $INCLUDE); about a minute"
if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  die "debootstrap failed (the log's end is above)"
fi

say "trimming apt caches, docs and locales"
rm -rf "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* \
       "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/var/log/* \
       "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
       "$ROOTFS"/usr/share/lintian "$ROOTFS"/usr/share/linda
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
find "$ROOTFS" -xdev -name __pycache__ -type d -prune -exec rm -rf {} +
# glibc's iconv modules (8 MB): Python has its own codecs; UTF-8 and Latin-1 stay built in.
rm -rf "$ROOTFS"/usr/lib/*-linux-gnu/gconv
# No mirror host, host name or resolver of this machine inside the image; docker provides
# /etc/hostname, /etc/hosts and /etc/resolv.conf at run time.
rm -f "$ROOTFS"/etc/apt/sources.list "$ROOTFS"/etc/apt/sources.list.d/*
: >"$ROOTFS/etc/resolv.conf"
: >"$ROOTFS/etc/hostname"

PYVER=$(basename "$(ls -d "$ROOTFS"/usr/lib/python3.[0-9]* | head -n 1)" | sed 's/^python//')
[ -n "$PYVER" ] || die "no python3 in the debootstrapped root"

say "docker import as $NAME (python $PYVER)"
tar --numeric-owner -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL cagents.base=debootstrap-$SUITE cagents.python=$PYVER" \
  --change 'CMD ["python3"]' \
  - "$NAME" >/dev/null
docker image inspect --format '{{.Size}}' "$NAME" | awk -v n="$NAME" '{ printf "build-base-image: %s is %.0f MB\n", n, $1 / 1e6 }' >&2
