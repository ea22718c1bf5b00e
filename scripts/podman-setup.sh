#!/usr/bin/env bash
# Make podman ready for minitestdb's podman lane (MINITESTDB_DOCKER=podman).
#
# Idempotent, quiet unless something is wrong, one line at the end:
#   1. installs Debian's podman when it is missing (root, apt-get);
#   2. writes the configuration this kind of machine needs, as a drop-in file of
#      its own (a user's /etc/containers/containers.conf is never touched);
#   3. loads the test image from the Docker engine into podman's own image store
#      (`docker save | podman load`), skipped when podman already has that image id;
#   4. checks that `podman run --rm` of the image works.
#
#   bash scripts/podman-setup.sh [IMAGE...]   (default: $MINITESTDB_TEST_IMAGE or
#                                              minitestdb/postgres-test:15)
set -euo pipefail

# The images to load: the arguments, else $MINITESTDB_TEST_IMAGE, else the default test image.
if [ $# -gt 0 ]; then images=("$@"); else images=("${MINITESTDB_TEST_IMAGE:-minitestdb/postgres-test:15}"); fi
podman_bin=${MINITESTDB_PODMAN:-podman}
docker_bin=docker
dropin_dir=/etc/containers/containers.conf.d
dropin=$dropin_dir/50-minitestdb.conf

fail() { echo "podman-setup: $*" >&2; exit 1; }

# --- 1. podman --------------------------------------------------------------------
if ! command -v "$podman_bin" >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "podman is missing and only root can install it here: apt-get install podman"
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp /tmp/podman-setup-apt.XXXXXX)
  # netavark named explicitly: otherwise apt may pick the older CNI plugins for
  # podman's network stack. Recommends (buildah, rootless helpers) are not needed as root.
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends podman netavark; } >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; fail "apt-get install podman failed"; }
  rm -f "$log"
fi

# --- 2. configuration ---------------------------------------------------------------
# Podman 4.3 gives every container nofile and nproc limits of 1048576, and runc
# cannot raise a limit above what the podman process itself has (no CAP_SYS_RESOURCE
# in this VM): every container then fails with "error setting rlimits for ready
# process ... operation not permitted". Newer podman clamps its default to the
# caller's limits; do the same here: nofile to the hard limit (what Docker's
# containers get here too), nproc also to kernel.pid_max (the podman process's own nproc limit here).
smallest() { local best=1048576 v; for v in "$@"; do
  if [ "$v" != unlimited ] && [ "$v" -lt "$best" ]; then best=$v; fi; done; echo "$best"; }
nofile=$(smallest "$(ulimit -Hn)")
nproc=$(smallest "$(ulimit -Hu)" "$(cat /proc/sys/kernel/pid_max)")
config="# Written by minitestdb's scripts/podman-setup.sh: podman's default rlimits (1048576)
# are above this machine's limits, so runc could not start any container.
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
if [ "$(cat "$dropin" 2>/dev/null || true)" != "$config" ]; then
  [ "$(id -u)" = 0 ] || fail "cannot write $dropin as $(id -un): run this script as root"
  mkdir -p "$dropin_dir"
  printf '%s\n' "$config" >"$dropin.tmp"
  mv "$dropin.tmp" "$dropin"
fi

out=$("$podman_bin" info --format '{{.Host.OCIRuntime.Name}}' 2>&1) || { echo "$out" >&2; fail "podman info failed"; }

# --- 3. the test images, 4. a container of each runs -----------------------------------
ready=()
for image in "${images[@]}"; do
  docker_id=$("$docker_bin" image inspect --format '{{.Id}}' "$image" 2>/dev/null) \
    || fail "the Docker engine has no $image: run scripts/build-test-image.sh first"
  docker_id=${docker_id#sha256:}
  old_id=$("$podman_bin" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if [ "$old_id" != "$docker_id" ]; then
    "$docker_bin" save "$image" | "$podman_bin" load --quiet >/dev/null \
      || fail "docker save $image | podman load failed"
    new_id=$("$podman_bin" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    [ "$new_id" = "$docker_id" ] || fail "podman load gave $image the id ${new_id:-none}, not $docker_id"
    # The revision it replaced, if no name is left on it: removed unless a container uses it.
    if [ -n "$old_id" ] && [ "$("$podman_bin" image inspect --format '{{len .RepoTags}}' "$old_id" 2>/dev/null)" = 0 ]; then
      "$podman_bin" rmi "$old_id" >/dev/null 2>&1 || true
    fi
  fi
  out=$("$podman_bin" run --rm --entrypoint postgres "$image" --version 2>&1) \
    || { echo "$out" >&2; fail "podman run --rm $image failed"; }
  case $out in
    *PostgreSQL*) ;;
    *) echo "$out" >&2; fail "podman run --rm $image printed no PostgreSQL version" ;;
  esac
  ready+=("$image (${docker_id:0:12})")
done

echo "podman-setup: $("$podman_bin" --version) ready with ${ready[*]}"
