"""Deterministic failure paths of start()/up() through the fake docker CLI.

Each checks the error type, that the message is one line saying what to do, and
that a container that was created is removed again (rm --force was called).
"""

from __future__ import annotations

import os
import unittest
from unittest import mock

import minitestdb
from minitestdb._errors import AuthenticationError, DatabaseConnectionError, ProtocolError, server_error_from_fields
from minitestdb._readiness import is_retryable
from tests.unit.fakes import FakeDockerMixin


class StartFailureTest(FakeDockerMixin):
    def setUp(self) -> None:
        patcher = mock.patch.dict(os.environ, {"MINITESTDB_IMAGE": "fake:1"})
        patcher.start()
        self.addCleanup(patcher.stop)

    def assert_one_line(self, err: BaseException) -> None:
        self.assertTrue(str(err))
        self.assertNotIn("\n", str(err))

    def test_missing_binary(self) -> None:
        with mock.patch.dict(os.environ, {"MINITESTDB_DOCKER": "/nonexistent/bin/docker"}), self.assertRaises(minitestdb.DockerNotFoundError) as ctx:
            minitestdb.start()
        self.assert_one_line(ctx.exception)

    def test_daemon_down_creates_nothing(self) -> None:
        self.use_fake_docker("daemon-down")
        with self.assertRaises(minitestdb.DockerDaemonError) as ctx:
            minitestdb.start()
        self.assert_one_line(ctx.exception)
        self.assertNotIn("create", list(self.fake_verbs()))

    def test_image_missing_offline(self) -> None:
        self.use_fake_docker("pull-fails")
        with self.assertRaises(minitestdb.ImageUnavailableError) as ctx:
            minitestdb.start()
        self.assert_one_line(ctx.exception)
        self.assertIn("--image", str(ctx.exception))
        self.assertEqual(list(self.fake_verbs()), ["image inspect", "pull"])

    def test_container_exits_during_startup(self) -> None:
        self.use_fake_docker("exits-on-start")
        with self.assertRaises(minitestdb.ContainerExitedError) as ctx:
            minitestdb.start()
        err = ctx.exception
        self.assert_one_line(err)
        self.assertIn("exited with code 1", str(err))
        self.assertIn("superuser password is not specified", str(err))
        self.assertIn("log tail", err.detail)
        verbs = list(self.fake_verbs())
        self.assertIn("rm", verbs)
        self.assertFalse(self.fake_container_exists())
        rm = [argv for argv in self.fake_calls() if argv[0] == "rm"]
        self.assertEqual(rm[-1][:2], ["rm", "--force"])

    def test_keep_on_failure_keeps_the_container(self) -> None:
        self.use_fake_docker("exits-on-start")
        with self.assertRaises(minitestdb.ContainerExitedError):
            minitestdb.start(keep_on_failure=True)
        self.assertNotIn("rm", list(self.fake_verbs()))
        self.assertTrue(self.fake_container_exists())

    def test_daemon_dies_after_create(self) -> None:
        self.use_fake_docker("daemon-dies")
        with self.assertRaises(minitestdb.DockerDaemonError) as ctx:
            minitestdb.start()
        self.assert_one_line(ctx.exception)
        # stop failed (daemon away) but rm --force still ran once it answered again.
        self.assertFalse(self.fake_container_exists())

    def test_password_never_in_fake_docker_argv(self) -> None:
        self.use_fake_docker("exits-on-start")
        with self.assertRaises(minitestdb.ContainerExitedError):
            minitestdb.start(password="pw-that-must-stay-private")
        for argv in self.fake_calls():
            self.assertNotIn("pw-that-must-stay-private", " ".join(argv))

    def test_bad_options_are_configuration_errors(self) -> None:
        for kwargs in ({"port": 0}, {"port": 70000}, {"readiness": "telepathy"}, {"timeout": 0}):
            with self.subTest(kwargs=kwargs), self.assertRaises(minitestdb.ConfigurationError):
                minitestdb.start(**kwargs)  # type: ignore[arg-type]
        with self.assertRaises(minitestdb.ConfigurationError):
            minitestdb.up("bad name")


class CloseTest(FakeDockerMixin):
    def server(self, keep_on_failure: bool = False) -> minitestdb.Server:
        from minitestdb._container import parse_inspect
        from minitestdb._docker import DockerCLI

        info = parse_inspect({
            "Id": "c" * 64, "Name": "/minitestdb-p1-x", "State": {"Running": True},
            "Config": {"Labels": {"minitestdb": "1"}, "Env": ["POSTGRES_PASSWORD=close-test-secret"]},
            "NetworkSettings": {"Ports": {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5999"}]}},
        })
        endpoint = minitestdb.Endpoint(host="127.0.0.1", port=5999, user="postgres", password="close-test-secret", dbname="postgres")
        return minitestdb.Server(endpoint=endpoint, docker=DockerCLI(), container=info, owned=True, diagnostics=minitestdb.Diagnostics(), keep_on_failure=keep_on_failure)

    def test_failed_removal_raises_once_and_is_recorded(self) -> None:
        self.use_fake_docker("rm-fails")
        server = self.server()
        with self.assertRaises(minitestdb.CleanupError) as ctx:
            server.close()
        self.assertIn("docker rm --force", str(ctx.exception))
        self.assertNotIn("\n", str(ctx.exception))
        self.assertEqual(len(server.diagnostics.cleanup_errors), 2)  # stop, then rm
        server.close()  # idempotent: no second attempt, no second error
        self.assertEqual([a[0] for a in self.fake_calls()], ["stop", "rm"])
        self.assertNotIn("close-test-secret", repr(server) + str(server.diagnostics.to_dict()))

    def test_keep_on_failure_records_without_raising(self) -> None:
        self.use_fake_docker("rm-fails")
        server = self.server(keep_on_failure=True)
        server.close()
        self.assertTrue(server.diagnostics.cleanup_errors)
        self.assertIn("closed", server.diagnostics.timestamps)


class RetryTest(unittest.TestCase):
    def test_which_readiness_failures_are_retried(self) -> None:
        def err(code: str) -> BaseException:
            return server_error_from_fields({"C": code, "M": "x"})

        self.assertTrue(is_retryable(DatabaseConnectionError("refused")))
        self.assertTrue(is_retryable(err("57P03")))
        self.assertTrue(is_retryable(err("53300")))
        for fatal in ("28P01", "28000", "3D000", "42601"):
            self.assertFalse(is_retryable(err(fatal)), fatal)
        self.assertIsInstance(err("28P01"), AuthenticationError)
        self.assertFalse(is_retryable(ProtocolError("garbage")))


if __name__ == "__main__":
    unittest.main()
