"""Start-up snapshots: an image's initialized cluster, kept as a local image, so later servers skip initdb.

The rules (key, tag, build container, commit arguments, start script) are pure, in
``_container``; ``_server`` starts the build container like any server and hands
it here once PostgreSQL answers.  This module stops the cluster cleanly, commits
it, names the result, and removes what is no longer wanted.  A snapshot is local
only: its name has no registry, and nothing here pushes.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

from ._container import (
    LABEL_SNAPSHOT,
    LABEL_SNAPSHOT_SOURCE,
    LABEL_SNAPSHOT_SOURCE_ID,
    SNAPSHOT_DATA,
    SNAPSHOT_RECIPE,
    SNAPSHOT_SCRIPT,
    SNAPSHOT_START_SCRIPT,
    snapshot_commit_argv,
)
from ._docker import DockerCLI
from ._errors import DockerError

__all__ = ["build_lock", "commit_snapshot", "prune_snapshots", "snapshot_owner", "stale_reason"]


def snapshot_owner(docker: DockerCLI, tag: str) -> str | None:
    """The ``uid:gid`` the snapshot *tag* runs as (its cluster's owner), None when there is no such snapshot."""
    info = docker.image_inspect(tag)
    config = (info or {}).get("Config") or {}
    if (config.get("Labels") or {}).get(LABEL_SNAPSHOT) != SNAPSHOT_RECIPE or not config.get("User"):
        return None  # not one of ours (or from another recipe): the build replaces it
    return str(config["User"])


@contextlib.contextmanager
def build_lock(key: str) -> Iterator[None]:
    """Serialize builds of one snapshot among this host's processes (a remote engine's other
    clients may still build it at the same time: :func:`commit_snapshot` lets one of them win)."""
    import fcntl  # only when a snapshot is built: once per image
    import tempfile  # the same: tempfile (shutil, random, bz2, lzma) costs 6 ms of every `import minitestdb` (-S, measured)

    path = os.path.join(tempfile.gettempdir(), f"minitestdb-snapshot-{key}.lock")
    try:
        handle = open(path, "a")  # noqa: SIM115 - held across the yield, closed by the with below
    except OSError:
        # Not ours to open (another user's lock file in a shared /tmp, say): build unlocked;
        # the tag check in commit_snapshot still leaves one image.
        yield
        return
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def commit_snapshot(docker: DockerCLI, container: str, tag: str, *, source: str, source_id: str, pgdata: str) -> str:
    """Turn the running build *container* (its cluster ready at ``SNAPSHOT_DATA``) into the image *tag*.

    Returns the cluster's owner (``uid:gid``).  Writes the start script, stops PostgreSQL cleanly as the cluster's owner (the
    snapshot then needs no recovery), commits without a tag and tags after: when
    two builders race, each checks that the tag is its image and removes its own
    otherwise, so no untagged copy is left.
    """
    owner = docker.exec(
        container,
        ["sh", "-c", 'printf "%s" "$1" > "$2" && chmod 755 "$2" && stat -c %u:%g "$3"', "sh", SNAPSHOT_START_SCRIPT, SNAPSHOT_SCRIPT, SNAPSHOT_DATA],
        user="0",
    ).strip()
    try:
        docker.exec(container, ["pg_ctl", "-D", SNAPSHOT_DATA, "-m", "fast", "-w", "stop"], user=owner, timeout=120)
    except DockerError:
        # Where PostgreSQL is PID 1 its stop ends the container, and the exec with it (137):
        # a container that exits with 0 did stop cleanly.
        try:
            stopped_cleanly = docker.wait(container, timeout=20) == 0
        except DockerError:
            stopped_cleanly = False
        if not stopped_cleanly:
            raise
    image_id = docker.commit(snapshot_commit_argv(container, owner=owner, source=source, source_id=source_id, pgdata=pgdata))
    docker.tag(image_id, tag)
    now = docker.image_inspect(tag)
    if now is not None and not _same_id(str(now.get("Id", "")), image_id):
        _remove_quietly(docker, image_id)  # another builder tagged its own last: use theirs
    return owner


def _same_id(a: str, b: str) -> bool:
    return a.replace("sha256:", "").startswith(b.replace("sha256:", "")[:12]) and bool(b)


def _remove_quietly(docker: DockerCLI, image: str) -> bool:
    """``docker rmi``; False when the engine refuses (a container still uses the image: a later prune takes it)."""
    try:
        docker.rmi(image)
    except DockerError:
        return False
    return True


def stale_reason(info: dict[str, Any], source_info: dict[str, Any] | None) -> str:
    """Why a snapshot is out of date (``""``: it is not): another recipe made it, or its source image is gone or is now another image.

    >>> labels = {LABEL_SNAPSHOT: SNAPSHOT_RECIPE, LABEL_SNAPSHOT_SOURCE: "pg:15", LABEL_SNAPSHOT_SOURCE_ID: "sha256:1"}
    >>> stale_reason({"Config": {"Labels": labels}}, {"Id": "sha256:2"}), stale_reason({"Config": {"Labels": labels}}, {"Id": "sha256:1"})
    ('pg:15 is now another image', '')
    >>> stale_reason({"Config": {"Labels": {**labels, LABEL_SNAPSHOT: "0"}}}, {"Id": "sha256:1"})
    "another minitestdb's recipe made it"
    """
    labels = (info.get("Config") or {}).get("Labels") or {}
    source = labels.get(LABEL_SNAPSHOT_SOURCE, "")
    if labels.get(LABEL_SNAPSHOT) != SNAPSHOT_RECIPE:
        return "another minitestdb's recipe made it"
    if source_info is None:
        return f"{source or 'its source image'} is gone"
    if str(source_info.get("Id", "")) != labels.get(LABEL_SNAPSHOT_SOURCE_ID, ""):
        return f"{source} is now another image"
    return ""


def prune_snapshots(docker: DockerCLI, *, every: bool = False) -> list[str]:
    """Remove snapshots whose source image is gone or changed, and untagged ones; with *every*, all.

    A snapshot a container still runs stays (``docker rmi`` refuses).  Returns
    the names of the images removed.
    """
    removed = []
    for image_id, reference in docker.images([f"{LABEL_SNAPSHOT}"]):
        untagged = reference.endswith("<none>")
        name = image_id if untagged else reference
        if not (every or untagged):
            info = docker.image_inspect(reference)
            if info is None:
                continue
            labels = (info.get("Config") or {}).get("Labels") or {}
            source = labels.get(LABEL_SNAPSHOT_SOURCE, "")
            if not stale_reason(info, docker.image_inspect(source) if source else None):
                continue
        if _remove_quietly(docker, name):
            removed.append(name)
    return removed
