#!/usr/bin/env bash
# Build minitestdb's local test image, minitestdb/postgres-test:15, from Debian's
# packages (these machines reach no container registry, so the official postgres
# image cannot be pulled).
#
# Idempotent and quick when already done: the image carries a label with a hash
# of the files it is built from, and nothing is rebuilt while that hash matches.
# Two layers: a root filesystem made with debootstrap (slow, about a minute,
# rebuilt only when missing) and a small layer with the entrypoint.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
docker_bin=${MINITESTDB_DOCKER:-docker}
image=${MINITESTDB_TEST_IMAGE:-minitestdb/postgres-test:15}
rootfs_image=minitestdb/postgres-test-rootfs:15
rootfs_revision=1  # bump when the debootstrap step below changes

revision=$(cat "$here/test-image/Dockerfile" "$here/test-image/docker-entrypoint.sh" | sha256sum | cut -c1-16)

label_of() {  # label_of IMAGE LABEL: prints the label's value, empty when absent
  "$docker_bin" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

if [ "$(label_of "$image" org.minitestdb.revision)" = "$revision" ]; then
  echo "build-test-image: $image is up to date (revision $revision)" >&2
  exit 0
fi

if [ "$(label_of "$rootfs_image" org.minitestdb.rootfs-revision)" != "$rootfs_revision" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "build-test-image: installing debootstrap" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq debootstrap >/dev/null
  fi
  rootfs=$(mktemp -d /var/tmp/minitestdb-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "build-test-image: debootstrap of Debian bookworm with postgresql-15 (about a minute)" >&2
  debootstrap --variant=minbase --include=postgresql-15,xz-utils bookworm "$rootfs" >"$rootfs.log" 2>&1 || {
    tail -n 30 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  # Debian's package makes a cluster of its own; the entrypoint makes ours in PGDATA.
  rm -rf "$rootfs/var/lib/postgresql/15" "$rootfs/etc/postgresql/15"
  # As in the official image: the sample config listens on every interface.
  sed -ri "s/^#?(listen_addresses)\s*=\s*\S+.*/\1 = '*'/" "$rootfs/usr/share/postgresql/15/postgresql.conf.sample"
  grep -q "^listen_addresses = '\*'" "$rootfs/usr/share/postgresql/15/postgresql.conf.sample"
  mkdir -p "$rootfs/docker-entrypoint-initdb.d" "$rootfs/var/lib/postgresql/data" "$rootfs/var/run/postgresql"
  chroot "$rootfs" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /var/run/postgresql
  chmod 1777 "$rootfs/var/lib/postgresql/data"
  chmod 3777 "$rootfs/var/run/postgresql"
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  echo "build-test-image: importing the root filesystem as $rootfs_image" >&2
  tar -C "$rootfs" -c . | "$docker_bin" import \
    -c "LABEL org.minitestdb.rootfs-revision=$rootfs_revision" - "$rootfs_image" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

echo "build-test-image: building $image (revision $revision)" >&2
# The legacy builder needs no buildx plugin and works with Debian's engine.
DOCKER_BUILDKIT=0 "$docker_bin" build --quiet \
  --build-arg "ROOTFS=$rootfs_image" \
  --label "org.minitestdb.revision=$revision" \
  -t "$image" "$here/test-image" >/dev/null
echo "build-test-image: $image is ready" >&2
