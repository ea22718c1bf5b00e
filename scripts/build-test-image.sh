#!/usr/bin/env bash
# Build minitestdb's local test images, minitestdb/postgres-test:VERSION, from
# Debian's packages (these machines reach no container registry, so the official
# postgres image cannot be pulled).
#
#   scripts/build-test-image.sh              # 15, the default test image
#   scripts/build-test-image.sh 13 15 17 18  # several, two at a time
#
# Each version comes from the Debian suite that ships it and follows the official
# image's contract for that version (PGDATA, VOLUME, PG_MAJOR, PATH).
#
# Idempotent and quick when already done: each image carries a label with a hash
# of what it is built from, and nothing is rebuilt while that hash matches. Two
# layers: a root filesystem made with debootstrap (slow, about a minute, rebuilt
# only when missing or its recipe changed) and a small layer with the entrypoint.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
docker_bin=${MINITESTDB_DOCKER:-docker}
rootfs_revision=3  # bump when the debootstrap step below changes
parallel=2         # builds at once (debootstrap is network and CPU bound; 2 cores)

# suite_of VERSION: the Debian suite whose postgresql-VERSION package the image uses.
suite_of() {
  case $1 in
    13) echo bullseye ;;
    15) echo bookworm ;;
    17) echo trixie ;;
    18) echo sid ;;
    *) return 1 ;;
  esac
}

# The official image's layout: up to 17 PGDATA is the declared volume; from 18 on
# PGDATA is /var/lib/postgresql/MAJOR/docker and the volume is /var/lib/postgresql.
pgdata_of() { if [ "$1" -ge 18 ]; then echo "/var/lib/postgresql/$1/docker"; else echo /var/lib/postgresql/data; fi; }
volume_of() { if [ "$1" -ge 18 ]; then echo /var/lib/postgresql; else echo /var/lib/postgresql/data; fi; }

label_of() {  # label_of IMAGE LABEL: prints the label's value, empty when absent
  "$docker_bin" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

ensure_debootstrap() {
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "build-test-image: installing debootstrap" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq debootstrap >/dev/null
  fi
}

renumber() {  # renumber ROOTFS user|group NAME ID: give NAME the id ID, swapping ids with whoever holds it
  local root=$1 kind=$2 name=$3 want=$4 have other db flag chg
  if [ "$kind" = user ]; then db=passwd flag=-u chg=chown; else db=group flag=-g chg=chgrp; fi
  have=$(chroot "$root" getent "$db" "$name" | cut -d: -f3)
  [ "$have" != "$want" ] || return 0
  other=$(chroot "$root" getent "$db" "$want" | cut -d: -f1 || true)
  find "$root" -xdev "-${flag#-}id" "$have" -print0 >"$root.mine"
  if [ -n "$other" ]; then
    find "$root" -xdev "-${flag#-}id" "$want" -print0 >"$root.theirs"
    chroot "$root" "${kind}mod" "$flag" 64999 "$other"
  fi
  chroot "$root" "${kind}mod" "$flag" "$want" "$name"
  xargs -0r "$chg" -h "$want" <"$root.mine"
  if [ -n "$other" ]; then
    chroot "$root" "${kind}mod" "$flag" "$have" "$other"
    xargs -0r "$chg" -h "$have" <"$root.theirs"
  fi
  rm -f "$root.mine" "$root.theirs"
}

build_rootfs() {  # build_rootfs VERSION SUITE IMAGE LABEL
  local version=$1 suite=$2 rootfs_image=$3 label=$4 rootfs pgdata
  pgdata=$(pgdata_of "$version")
  rootfs=$(mktemp -d /var/tmp/minitestdb-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs" "$rootfs.log" "$rootfs.mine" "$rootfs.theirs"' EXIT
  echo "build-test-image: debootstrap of Debian $suite with postgresql-$version (about a minute)" >&2
  # xz-utils and zstd for initdb.d's *.sql.xz and *.sql.zst, libnss-wrapper for
  # `docker run --user` with a uid that /etc/passwd lacks: as in the official image.
  debootstrap --variant=minbase --include="postgresql-$version,xz-utils,zstd,libnss-wrapper" \
    "$suite" "$rootfs" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
  [ -x "$rootfs/usr/lib/postgresql/$version/bin/postgres" ] || {
    echo "build-test-image: Debian $suite gave no /usr/lib/postgresql/$version/bin/postgres" >&2; exit 1; }
  # The official image's postgres user and group are 999 (sid gives 999 to lpadmin: swap).
  renumber "$rootfs" group postgres 999
  renumber "$rootfs" user postgres 999
  # Debian's package makes a cluster of its own; the entrypoint makes ours in PGDATA.
  rm -rf "$rootfs/var/lib/postgresql/$version" "$rootfs/etc/postgresql/$version"
  # As in the official image: the sample config listens on every interface.
  local sample="$rootfs/usr/share/postgresql/$version/postgresql.conf.sample"
  sed -ri "s/^#?(listen_addresses)\s*=\s*\S+.*/\1 = '*'/" "$sample"
  grep -q "^listen_addresses = '\*'" "$sample"
  # Inside the chroot: /var/run is an absolute symlink to /run, which from outside
  # would be the host's.
  chroot "$rootfs" install -d /docker-entrypoint-initdb.d
  chroot "$rootfs" install -d -o postgres -g postgres -m 1777 /var/lib/postgresql
  chroot "$rootfs" install -d -o postgres -g postgres -m 3777 /var/run/postgresql
  if [ "$version" -lt 18 ]; then
    chroot "$rootfs" install -d -o postgres -g postgres -m 1777 "$pgdata"
  fi
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  echo "build-test-image: importing the root filesystem as $rootfs_image" >&2
  tar -C "$rootfs" -c . | "$docker_bin" import \
    -c "LABEL org.minitestdb.rootfs-revision=$label" - "$rootfs_image" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  trap - EXIT
}

build_one() {  # build_one VERSION
  local version=$1 suite image rootfs_image rootfs_label pgdata volume revision
  suite=$(suite_of "$version")
  image=minitestdb/postgres-test:$version
  rootfs_image=minitestdb/postgres-test-rootfs:$version
  rootfs_label="$rootfs_revision-$suite"
  pgdata=$(pgdata_of "$version")
  volume=$(volume_of "$version")
  revision=$( { cat "$here/test-image/Dockerfile" "$here/test-image/docker-entrypoint.sh"
                echo "$version $suite $rootfs_label $pgdata $volume"; } | sha256sum | cut -c1-16)

  if [ "$(label_of "$image" org.minitestdb.revision)" = "$revision" ]; then
    echo "build-test-image: $image is up to date (revision $revision)" >&2
    return 0
  fi
  if [ "$(label_of "$rootfs_image" org.minitestdb.rootfs-revision)" != "$rootfs_label" ]; then
    ensure_debootstrap
    build_rootfs "$version" "$suite" "$rootfs_image" "$rootfs_label"
  fi
  echo "build-test-image: building $image (revision $revision)" >&2
  # The legacy builder needs no buildx plugin and works with Debian's engine (its
  # deprecation notice is shown only when the build fails).
  local out
  out=$(DOCKER_BUILDKIT=0 "$docker_bin" build --quiet \
    --build-arg "ROOTFS=$rootfs_image" \
    --build-arg "PG_MAJOR=$version" \
    --build-arg "PGDATA=$pgdata" \
    --build-arg "VOLUME=$volume" \
    --label "org.minitestdb.revision=$revision" \
    -t "$image" "$here/test-image" 2>&1 >/dev/null) || { echo "$out" >&2; return 1; }
  echo "build-test-image: $image is ready" >&2
}

# With no argument: the version of MINITESTDB_TEST_IMAGE when it names one of these
# images, else 15 (the README's one-time set-up).
if [ $# -eq 0 ]; then
  case ${MINITESTDB_TEST_IMAGE:-} in
    minitestdb/postgres-test:*) set -- "${MINITESTDB_TEST_IMAGE#minitestdb/postgres-test:}" ;;
    *) set -- 15 ;;
  esac
fi
for version; do
  suite_of "$version" >/dev/null || {
    echo "build-test-image: no test image for PostgreSQL '$version' (known: 13 15 17 18)" >&2; exit 2; }
done

if [ $# -eq 1 ]; then
  build_one "$1"
  exit 0
fi

# Several versions: build them in parallel, $parallel at a time; fail if any fails.
status=0
running=0
needs_debootstrap=0
for version; do
  rootfs_label="$rootfs_revision-$(suite_of "$version")"
  if [ "$(label_of "minitestdb/postgres-test-rootfs:$version" org.minitestdb.rootfs-revision)" != "$rootfs_label" ]; then
    needs_debootstrap=1
  fi
done
# Installed once here, not by two builds at the same time.
[ "$needs_debootstrap" = 0 ] || ensure_debootstrap
for version; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  build_one "$version" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
