#!/usr/bin/env bash
# A second Docker engine, remote as far as minitestdb can tell: for the CI lane that
# proves DOCKER_HOST=tcp://... (issue 12).
#
#   bash scripts/remote-engine.sh up     # prints the DOCKER_HOST value to use
#   bash scripts/remote-engine.sh down   # stops the engine, removes the namespace and its files
#
# `up` creates a network namespace with a veth pair (the host keeps $net.1, the
# namespace gets $net.2), starts dockerd inside it with its own data root, exec
# root, pid file, unix socket, cgroup parent and containerd namespace, listening on
# tcp://$net.2:2375 (plaintext, reachable only over that private veth), waits until
# it answers, and loads the test image into it from the main engine.  Published
# ports of its containers are then reached at $net.2 from the host, as from any
# other machine: nothing here is published on the host's own addresses, and the
# main engine is never stopped or changed.  Both commands are idempotent and quiet
# unless something is wrong.  Root only (namespaces, a daemon).
set -euo pipefail

net=${MINITESTDB_REMOTE_NET:-10.200.7}      # the /24 of the veth pair
ns=${MINITESTDB_REMOTE_NETNS:-minitestdb-remote}
image=${MINITESTDB_TEST_IMAGE:-minitestdb/postgres-test:15}
port=2375
host_if=mtdbr0                              # the host's end of the veth pair
ns_if=mtdbr1                                # the namespace's end
state=/var/lib/minitestdb-remote            # data root (images, containers)
run=/run/minitestdb-remote                  # exec root, socket, pid file, log
cgroup_parent=minitestdb-remote
remote="tcp://$net.2:$port"

# The main engine is the default one, even when the caller already exported this one.
if [ "${DOCKER_HOST:-}" = "$remote" ]; then
  unset DOCKER_HOST
fi

say() { echo "remote-engine: $*" >&2; }

engine_answers() {
  DOCKER_HOST=$remote timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

dockerd_pid() {
  # The pid of our dockerd if it runs, else nothing.
  local pid
  [ -f "$run/docker.pid" ] || return 0
  pid=$(cat "$run/docker.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    echo "$pid"
  fi
}

up() {
  if [ "$(id -u)" != 0 ]; then
    say "must run as root (it creates a network namespace and starts dockerd)"
    exit 1
  fi
  command -v dockerd >/dev/null 2>&1 || { say "dockerd is not installed: run scripts/docker-engine.sh first"; exit 1; }

  if ! ip netns list | grep -qx "$ns\( .*\)\?"; then
    ip netns add "$ns"
  fi
  if ! ip link show "$host_if" >/dev/null 2>&1; then
    ip link add "$host_if" type veth peer name "$ns_if" netns "$ns"
  fi
  ip addr replace "$net.1/24" dev "$host_if"
  ip link set "$host_if" up
  ip netns exec "$ns" ip addr replace "$net.2/24" dev "$ns_if"
  ip netns exec "$ns" ip link set "$ns_if" up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip route replace default via "$net.1" dev "$ns_if"

  mkdir -p "$state" "$run"
  if [ -z "$(dockerd_pid)" ]; then
    rm -f "$run/docker.pid"
    # nsenter --net, not `ip netns exec`: the latter also gives dockerd a mount
    # namespace with a fresh /sys, without the cgroup mounts it needs.  setsid: the
    # daemon must not die with this script's process group.  --tls=false says
    # plaintext TCP is meant (a private veth), which also skips dockerd's 15-second
    # warning pause on newer versions.
    setsid nohup nsenter --net="/run/netns/$ns" dockerd \
      --data-root "$state" --exec-root "$run/exec" --pidfile "$run/docker.pid" \
      -H "unix://$run/docker.sock" -H "$remote" --tls=false \
      --bip 172.31.7.1/24 --cgroup-parent "$cgroup_parent" --shutdown-timeout 3 \
      --containerd-namespace minitestdb-remote --containerd-plugins-namespace minitestdb-remote-plugins \
      >"$run/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do
    engine_answers && break
    [ -n "$(dockerd_pid)" ] || [ ! -f "$run/docker.pid" ] || break  # it started and died: do not wait
    sleep 0.5
  done
  if ! engine_answers; then
    say "the second dockerd did not answer at $remote within 60 s; last lines of $run/dockerd.log:"
    tail -n 20 "$run/dockerd.log" >&2 || true
    exit 1
  fi

  # The test image, copied from the main engine unless the same image id is there already.
  local want have
  want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if [ -z "$want" ]; then
    say "the main engine has no $image: run scripts/build-test-image.sh first"
    exit 1
  fi
  have=$(DOCKER_HOST=$remote docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    docker save "$image" | DOCKER_HOST=$remote docker load --quiet >/dev/null
  fi
  echo "$remote"
}

down() {
  local pid ids
  pid=$(dockerd_pid)
  if [ -n "$pid" ]; then
    # Every container on this engine is the lane's: remove them now rather than wait
    # for dockerd's shutdown timeout on each.
    ids=$(DOCKER_HOST=$remote timeout 10 docker ps --all --quiet 2>/dev/null || true)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086 # one argument per id
      DOCKER_HOST=$remote timeout 60 docker rm --force --volumes $ids >/dev/null 2>&1 || true
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd $pid did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Whatever the engine left running (shims, a container's processes): only ours, by cgroup.
  local procs
  for procs in /sys/fs/cgroup/pids/"$cgroup_parent"/*/cgroup.procs /sys/fs/cgroup/pids/"$cgroup_parent"/cgroup.procs; do
    [ -f "$procs" ] || continue
    while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$procs"
  done
  if ip netns list | grep -qx "$ns\( .*\)\?"; then
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns"
  fi
  # Deleting the namespace removes its end of the pair, which removes ours.
  ip link del "$host_if" 2>/dev/null || true
  # Mounts under our directories (overlay layers, a container's shm) must go before the files.
  local dir m
  for dir in "$run" "$state"; do
    [ -d "$dir" ] || continue
    for m in $(awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
      umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$dir"
  done
  for cg in /sys/fs/cgroup/*/"$cgroup_parent"; do
    [ -d "$cg" ] || continue
    find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
