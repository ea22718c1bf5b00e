#!/usr/bin/env bash
# Make sure a Docker engine answers, starting one if needed.
#
# Idempotent: when `docker version` already reaches a server this does nothing.
# Otherwise, on a machine like the project's CI (Debian, root, no systemd), it
# installs Debian's docker.io package if dockerd is missing and starts dockerd
# in the background, then waits until the engine answers.
set -euo pipefail

docker_bin=${MINITESTDB_DOCKER:-docker}
log=${MINITESTDB_DOCKERD_LOG:-/tmp/minitestdb-dockerd.log}

engine_answers() {
  timeout 10 "$docker_bin" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if engine_answers; then
  echo "docker-engine: engine already answers ($("$docker_bin" version --format '{{.Server.Version}}'))" >&2
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "docker-engine: no Docker engine answers and this script can only start one as root; start Docker yourself" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-engine: installing Debian's docker.io (about a minute)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi

# A stale pid file from a daemon that died with an earlier session blocks a new start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd (log: $log)" >&2
  # setsid: the daemon must not die with this script's process group.
  setsid nohup dockerd >"$log" 2>&1 < /dev/null &
fi

for _ in $(seq 1 120); do
  if engine_answers; then
    echo "docker-engine: engine answers ($("$docker_bin" version --format '{{.Server.Version}}'))" >&2
    exit 0
  fi
  sleep 0.5
done
echo "docker-engine: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
