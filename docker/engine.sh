#!/usr/bin/env bash
# A private Docker engine for session-lab's container tests, on machines
# with Debian's docker.io and no registry access.
#
#   docker/engine.sh start   start dockerd (if this dir's socket is not answering),
#                            import session-lab/base:local, print the env to use
#   docker/engine.sh env     print the env (export lines) for this engine
#   docker/engine.sh stop    remove every container of this engine, stop dockerd
#   docker/engine.sh status  exit 0 when the engine answers
#
# The engine never touches the host's network: no bridge (--bridge=none), no
# iptables or masquerading rules. Containers run with host networking and
# bind 127.0.0.1 only. Its data, exec root, socket and pid file all live
# under SLAB_DOCKER_DIR (default /tmp/session-lab-docker), so it neither
# needs nor disturbs a system Docker.
#
# The base image session-lab/base:local is made from this host's own node
# and redis-server and the libraries ldd lists for them (images cannot be
# pulled here): enough to run the reference server and a Redis.
set -euo pipefail

DIR="${SLAB_DOCKER_DIR:-/tmp/session-lab-docker}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"
BASE_IMAGE="${SLAB_BASE_IMAGE:-session-lab/base:local}"
# How long to wait for dockerd to answer, in seconds (a busy machine is slow).
START_TIMEOUT="${SLAB_DOCKER_START_TIMEOUT:-120}"

docker_() { DOCKER_HOST="unix://$SOCK" docker "$@"; }

answers() { [ -S "$SOCK" ] && docker_ version --format '{{.Server.Version}}' >/dev/null 2>&1; }

print_env() {
  echo "export DOCKER_HOST=unix://$SOCK"
  echo "export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
  echo "export TESTCONTAINERS_RYUK_DISABLED=true"
}

fail() {
  echo "docker/engine.sh: $*" >&2
  exit 3
}

import_base() {
  if docker_ image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  local root
  root="$(mktemp -d "$DIR/base.XXXXXX")"
  local binaries=()
  for name in node redis-server sh; do
    local path
    path="$(command -v "$name")" || fail "$name is not on PATH: the base image is made from the host's own $name"
    path="$(readlink -f "$path")"
    binaries+=("$path")
  done
  for binary in "${binaries[@]}"; do
    mkdir -p "$root$(dirname "$binary")"
    cp -L "$binary" "$root$binary"
    # Every library ldd lists, at the path the loader will look for it.
    ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
  mkdir -p "$root/usr/local/bin" "$root/bin" "$root/tmp" "$root/app" "$root/etc"
  chmod 1777 "$root/tmp"
  # Stable names whatever the host's layout: /usr/local/bin/node, /usr/local/bin/redis-server, /bin/sh.
  [ -e "$root/usr/local/bin/node" ] || ln -s "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
  [ -e "$root/usr/local/bin/redis-server" ] || ln -s "$(readlink -f "$(command -v redis-server)")" "$root/usr/local/bin/redis-server"
  [ -e "$root/bin/sh" ] || ln -s "$(readlink -f "$(command -v sh)")" "$root/bin/sh"
  # Users for a non-root USER (uid 1000, as node:20-slim's "node").
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n' >"$root/etc/hosts"
  mkdir -p "$root/home/node" && chown 1000:1000 "$root/home/node"
  tar -C "$root" -c . | docker_ import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'WORKDIR /app' \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
}

start() {
  command -v dockerd >/dev/null 2>&1 || fail "dockerd is not on PATH (Debian/Ubuntu: apt-get install docker.io)"
  command -v docker >/dev/null 2>&1 || fail "docker (the CLI) is not on PATH (Debian/Ubuntu: apt-get install docker.io)"
  mkdir -p "$DIR"
  if ! answers; then
    # A dockerd of this dir that no longer answers: stop it before a new one.
    stop_dockerd
    rm -f "$SOCK"
    # setsid: its own session, so a Ctrl-C at the terminal reaches the caller only.
    setsid dockerd \
      --host "unix://$SOCK" \
      --data-root "$DIR/root" \
      --exec-root "$DIR/exec" \
      --pidfile "$PIDFILE" \
      --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
      --userland-proxy=false \
      </dev/null >"$LOG" 2>&1 &
    local deadline=$((SECONDS + START_TIMEOUT))
    until answers; do
      if ((SECONDS >= deadline)); then
        tail -n 20 "$LOG" >&2 || true
        stop_dockerd
        fail "dockerd did not answer on $SOCK within ${START_TIMEOUT}s (log above, full log: $LOG)"
      fi
      if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        tail -n 20 "$LOG" >&2 || true
        fail "dockerd exited during start (log above)"
      fi
      sleep 0.2
    done
  fi
  import_base
  print_env
}

stop_dockerd() {
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # The containerd dockerd started for itself, and its shims, if they outlived it.
  local c
  for c in "$DIR"/exec/containerd/containerd.pid; do
    [ -f "$c" ] && kill -KILL "$(cat "$c")" 2>/dev/null || true
  done
  # Mounts it left (the host network namespace's bind mount, overlays),
  # deepest first, so the folder can be removed.
  awk -v dir="$DIR/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
  rm -f "$PIDFILE"
}

stop() {
  if answers; then
    local ids
    ids="$(docker_ ps -aq)"
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      docker_ rm -f $ids >/dev/null 2>&1 || true
    fi
  fi
  stop_dockerd
  rm -f "$SOCK"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  status) answers ;;
  *)
    echo "usage: docker/engine.sh start|stop|env|status   (SLAB_DOCKER_DIR=$DIR)" >&2
    exit 2
    ;;
esac
