"""Failure paths against the real engine: each one clear line, no container left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import unittest
from unittest import mock

import minitestdb
from tests.integration.support import ROOT, TEST_IMAGE, LeakCheck, require_docker


def setUpModule() -> None:
    require_docker()


class RealFailureTest(LeakCheck):
    def assert_one_line(self, err: BaseException) -> None:
        self.assertTrue(str(err).strip())
        self.assertNotIn("\n", str(err))

    def test_image_missing_and_registry_unreachable(self) -> None:
        began = time.monotonic()
        with self.assertRaises(minitestdb.ImageUnavailableError) as ctx:
            minitestdb.start(image="minitestdb/no-such-image:404")
        self.assert_one_line(ctx.exception)
        self.assertIn("minitestdb/no-such-image:404", str(ctx.exception))
        self.assertIn("--image", str(ctx.exception))
        self.assertLess(time.monotonic() - began, 60)
        self.assert_no_new_containers()

    def test_container_exits_during_startup(self) -> None:
        # A real startup failure: postgres refuses an unknown setting during init.
        with self.assertRaises(minitestdb.ContainerExitedError) as ctx:
            minitestdb.start(settings={"no_such_setting": "1"}, timeout=60)
        err = ctx.exception
        self.assert_one_line(err)
        self.assertIn("exited with code", str(err))
        self.assertIn("no_such_setting", str(err))
        self.assertIn("log tail", err.detail)
        self.assert_no_new_containers()

    def test_entrypoint_refusal_is_reported(self) -> None:
        # The official image's own refusal: POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE both set.
        with self.assertRaises(minitestdb.ContainerExitedError) as ctx:
            minitestdb.start(env={"POSTGRES_PASSWORD_FILE": "/nonexistent"}, timeout=60)
        self.assert_one_line(ctx.exception)
        self.assertIn("POSTGRES_PASSWORD_FILE", str(ctx.exception))
        self.assert_no_new_containers()

    def test_daemon_unreachable(self) -> None:
        # DOCKER_HOST for docker, CONTAINER_HOST for podman: each CLI's own way to name the engine.
        nowhere = {"DOCKER_HOST": "unix:///nonexistent/minitestdb-test.sock", "CONTAINER_HOST": "unix:///nonexistent/minitestdb-test.sock"}
        with mock.patch.dict(os.environ, nowhere), self.assertRaises(minitestdb.DockerDaemonError) as ctx:
            minitestdb.start()
        self.assert_one_line(ctx.exception)
        self.assertIn("Docker engine", str(ctx.exception))
        self.assert_no_new_containers()

    def test_docker_binary_missing(self) -> None:
        with mock.patch.dict(os.environ, {"MINITESTDB_DOCKER": "docker-binary-that-does-not-exist"}), self.assertRaises(minitestdb.DockerNotFoundError) as ctx:
            minitestdb.start()
        self.assert_one_line(ctx.exception)
        self.assert_no_new_containers()

    def test_socket_not_permitted(self) -> None:
        # A real refusal: an unprivileged user outside the docker group.
        if os.geteuid() != 0 or not shutil.which("runuser") or not os.path.exists("/usr/bin/python3"):
            self.skipTest("needs root, runuser and /usr/bin/python3 to act as an unprivileged user")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": ROOT, "HOME": "/tmp", "MINITESTDB_IMAGE": TEST_IMAGE}
        proc = subprocess.run(
            ["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-m", "minitestdb", "up", "--name", "it-nobody"],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )
        self.assertEqual(proc.returncode, 1, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn("denied access to the Docker engine's socket", lines[0])
        self.assertIn("'docker' group", lines[0])
        self.assert_no_new_containers()

    def test_fixed_port_already_taken(self) -> None:
        with minitestdb.start() as first:
            with self.assertRaises(minitestdb.PortInUseError) as ctx:
                minitestdb.start(port=first.port)
            self.assert_one_line(ctx.exception)
            self.assertIn("--port", str(ctx.exception))
            with first.connect() as conn:
                self.assertEqual(conn.query("select 1").rows, [("1",)])
        self.assert_no_new_containers()

    def test_fixed_port_works(self) -> None:
        with minitestdb.start() as probe_server:
            free_port = probe_server.port
        # The port the engine just released is free again: ask for it explicitly.
        with minitestdb.start(port=free_port) as server:
            self.assertEqual(server.port, free_port)
        self.assert_no_new_containers()


if __name__ == "__main__":
    unittest.main()
