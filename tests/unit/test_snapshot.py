"""_snapshot: which snapshot a server starts from, committing a build, what prune removes (a recording stand-in for the docker CLI)."""

from __future__ import annotations

import unittest
from typing import Any, Sequence

from minitestdb import _snapshot
from minitestdb._container import LABEL_SNAPSHOT, LABEL_SNAPSHOT_SOURCE, LABEL_SNAPSHOT_SOURCE_ID, SNAPSHOT_RECIPE
from minitestdb._docker import DockerCLI
from minitestdb._errors import DockerCommandError
from minitestdb._snapshot import commit_snapshot, prune_snapshots, snapshot_owner
from tests.unit.support import doctests


def snapshot_image(source: str, source_id: str, user: str = "999:999", recipe: str = SNAPSHOT_RECIPE) -> dict[str, Any]:
    labels = {LABEL_SNAPSHOT: recipe, LABEL_SNAPSHOT_SOURCE: source, LABEL_SNAPSHOT_SOURCE_ID: source_id}
    return {"Id": "sha256:" + "5" * 64, "Config": {"User": user, "Labels": labels}}


class RecordingDocker(DockerCLI):
    """Answers from dictionaries and records every verb; ``in_use`` images refuse ``rmi``."""

    def __init__(self, images: dict[str, dict[str, Any]], listed: Sequence[tuple[str, str]] = (), in_use: Sequence[str] = ()) -> None:
        super().__init__("docker")
        self.image_infos = dict(images)
        self.listed = list(listed)
        self.in_use = set(in_use)
        self.calls: list[tuple[str, ...]] = []
        self.exit_code = 0
        self.exec_fails = False

    def image_inspect(self, image: str) -> dict[str, Any] | None:
        return self.image_infos.get(image)

    def images(self, label_filters: Sequence[str], *, dangling: bool = False) -> list[tuple[str, str]]:
        return list(self.listed)

    def rmi(self, image: str) -> None:
        self.calls.append(("rmi", image))
        if image in self.in_use:
            raise DockerCommandError("image is being used by a running container", command=["docker", "rmi", image], exit_code=1)

    def exec(self, container: str, argv: Sequence[str], *, user: str | None = None, timeout: float = 60) -> str:
        self.calls.append(("exec", user or "", argv[0]))
        if argv[0] == "pg_ctl" and self.exec_fails:
            raise DockerCommandError("exit 137", command=["docker", "exec"], exit_code=137)
        return "999:999\n" if argv[0] == "sh" else ""

    def wait(self, container: str, *, timeout: float = 30) -> int:
        return self.exit_code

    def commit(self, args: Sequence[str]) -> str:
        self.calls.append(("commit",))
        return "sha256:" + "c" * 64

    def tag(self, image: str, tag: str) -> None:
        self.calls.append(("tag", image, tag))


class SnapshotOwnerTest(unittest.TestCase):
    def test_the_owner_of_a_snapshot_of_this_recipe(self) -> None:
        docker = RecordingDocker({"minitestdb-snapshot:k": snapshot_image("pg:15", "sha256:1", user="70:70")})
        self.assertEqual(snapshot_owner(docker, "minitestdb-snapshot:k"), "70:70")

    def test_none_when_missing_from_another_recipe_or_without_a_user(self) -> None:
        docker = RecordingDocker({"old": snapshot_image("pg:15", "sha256:1", recipe="0"), "rootless": snapshot_image("pg:15", "sha256:1", user="")})
        self.assertIsNone(snapshot_owner(docker, "missing"))
        self.assertIsNone(snapshot_owner(docker, "old"))
        self.assertIsNone(snapshot_owner(docker, "rootless"))


class CommitTest(unittest.TestCase):
    def test_writes_the_script_as_root_stops_as_the_owner_commits_then_tags(self) -> None:
        docker = RecordingDocker({"minitestdb-snapshot:k": {"Id": "sha256:" + "c" * 64}})
        owner = commit_snapshot(docker, "b1", "minitestdb-snapshot:k", source="pg:15", source_id="sha256:1", pgdata="/var/lib/postgresql/data")
        self.assertEqual(owner, "999:999")
        self.assertEqual(docker.calls, [("exec", "0", "sh"), ("exec", "999:999", "pg_ctl"), ("commit",), ("tag", "sha256:" + "c" * 64, "minitestdb-snapshot:k")])

    def test_a_stop_that_ends_the_container_cleanly_is_a_stop(self) -> None:
        docker = RecordingDocker({"minitestdb-snapshot:k": {"Id": "sha256:" + "c" * 64}})
        docker.exec_fails = True
        commit_snapshot(docker, "b1", "minitestdb-snapshot:k", source="pg:15", source_id="sha256:1", pgdata="/d")
        self.assertIn(("commit",), docker.calls)
        docker.exit_code = 1  # PostgreSQL did not stop cleanly: no snapshot of it
        with self.assertRaises(DockerCommandError):
            commit_snapshot(docker, "b1", "minitestdb-snapshot:k", source="pg:15", source_id="sha256:1", pgdata="/d")

    def test_a_builder_that_lost_the_race_removes_its_own_image(self) -> None:
        docker = RecordingDocker({"minitestdb-snapshot:k": {"Id": "sha256:" + "d" * 64}})  # another builder tagged last
        commit_snapshot(docker, "b1", "minitestdb-snapshot:k", source="pg:15", source_id="sha256:1", pgdata="/d")
        self.assertEqual(docker.calls[-1], ("rmi", "sha256:" + "c" * 64))


class BuildLockTest(unittest.TestCase):
    def test_a_lock_file_that_cannot_be_opened_builds_unlocked(self) -> None:
        import os
        import tempfile
        from unittest import mock

        tmp = tempfile.mkdtemp(prefix="minitestdb-lock-")
        os.mkdir(os.path.join(tmp, "minitestdb-snapshot-k.lock"))  # a directory: open() fails as on another user's file
        entered = []
        with mock.patch("tempfile.gettempdir", return_value=tmp), _snapshot.build_lock("k"):
            entered.append(True)
        self.assertEqual(entered, [True])

    def test_the_lock_serializes_two_holders(self) -> None:
        import tempfile
        import threading
        import time
        from unittest import mock

        tmp = tempfile.mkdtemp(prefix="minitestdb-lock-")
        inside: list[str] = []

        def hold(name: str) -> None:
            with mock.patch("tempfile.gettempdir", return_value=tmp), _snapshot.build_lock("k"):
                inside.append(f"{name} in")
                time.sleep(0.05)
                inside.append(f"{name} out")

        threads = [threading.Thread(target=hold, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([entry.split()[1] for entry in inside], ["in", "out", "in", "out"])


class PruneTest(unittest.TestCase):
    def setUp(self) -> None:
        self.images = {
            "minitestdb-snapshot:current": snapshot_image("pg:15", "sha256:1"),
            "minitestdb-snapshot:changed": snapshot_image("pg:15", "sha256:0"),
            "minitestdb-snapshot:gone": snapshot_image("pg:14", "sha256:9"),
            "minitestdb-snapshot:running": snapshot_image("pg:13", "sha256:8"),
            "pg:15": {"Id": "sha256:1"},
        }
        self.listed = [
            ("sha256:a", "minitestdb-snapshot:current"), ("sha256:b", "minitestdb-snapshot:changed"), ("sha256:c", "minitestdb-snapshot:gone"),
            ("sha256:d", "minitestdb-snapshot:running"), ("sha256:e", "<none>:<none>"),
        ]

    def test_removes_snapshots_whose_source_changed_or_is_gone_and_untagged_ones(self) -> None:
        docker = RecordingDocker(self.images, self.listed, in_use=["minitestdb-snapshot:running"])
        self.assertEqual(prune_snapshots(docker), ["minitestdb-snapshot:changed", "minitestdb-snapshot:gone", "sha256:e"])

    def test_every_removes_all_but_those_in_use(self) -> None:
        docker = RecordingDocker(self.images, self.listed, in_use=["minitestdb-snapshot:running"])
        self.assertEqual(
            prune_snapshots(docker, every=True),
            ["minitestdb-snapshot:current", "minitestdb-snapshot:changed", "minitestdb-snapshot:gone", "sha256:e"],
        )


load_tests = doctests(_snapshot)
