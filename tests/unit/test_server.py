"""_server: the deterministic failure paths of start()/up() and Server.close() through the fake docker CLI.

Each checks the error type, that the message is one line saying what to do, and
that a container that was created is removed again (rm --force was called).
"""

from __future__ import annotations

import os
import unittest
from unittest import mock

import minitestdb
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

    def test_up_creates_with_the_password_and_settings_asked_for(self) -> None:
        self.use_fake_docker("exits-on-start")
        with self.assertRaises(minitestdb.ContainerExitedError):
            minitestdb.up("fake", password="pw-up-fixed-1", settings={"max_connections": "200", "fsync": None})
        create = next(argv for argv in self.fake_calls() if argv[0] == "create")
        self.assertNotIn("pw-up-fixed-1", " ".join(create))
        self.assertIn("max_connections=200", create)
        self.assertNotIn("fsync=off", create)
        self.assertIn("synchronous_commit=off", create)

    def test_up_checks_the_password_and_settings_on_reuse(self) -> None:
        from minitestdb import _server
        from minitestdb._container import parse_inspect

        info = parse_inspect({"Name": "/minitestdb-fake", "State": {"Running": True}, "Config": {"Image": "fake:1", "Labels": {"minitestdb": "1"}}})
        refused = minitestdb.ConfigurationError("refused")
        with mock.patch.object(_server.DockerCLI, "inspect", return_value=info), mock.patch.object(_server.DockerCLI, "image_inspect", return_value={}), \
                mock.patch.object(_server, "check_reusable", side_effect=refused) as check, self.assertRaises(minitestdb.ConfigurationError):
            minitestdb.up("fake", password="pw-up-fixed-2", settings={"max_connections": "200"})
        self.assertEqual((check.call_args.kwargs["password"], check.call_args.kwargs["settings"]), ("pw-up-fixed-2", {"max_connections": "200"}))

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

    def test_a_shared_server_is_only_let_go(self) -> None:
        self.use_fake_docker("daemon-down")  # any docker call would fail
        server = self.server()
        server.owned = False
        with server:
            pass
        self.assertTrue(server.closed)
        self.assertEqual(self.fake_calls(), [])
        self.assertIn("closed", server.diagnostics.timestamps)


class FromURLTest(FakeDockerMixin):
    def test_an_existing_server_without_a_container(self) -> None:
        self.use_fake_docker("daemon-down")
        url = "postgresql://app:from-url-secret@db.internal:6543/app_test"
        server = minitestdb.Server.from_url(url, check=False)
        self.assertEqual((server.name, server.container_id, server.container_name, server.image, server.owned), ("db.internal:6543", "", "", "", False))
        self.assertEqual(server.url, url)
        self.assertEqual(server.url_for("other"), "postgresql://app:from-url-secret@db.internal:6543/other")
        self.assertEqual(server.url_for(), url)
        self.assertEqual(repr(server), "<minitestdb.Server 'db.internal:6543' postgresql://app:***@db.internal:6543/app_test container= open>")
        self.assertEqual((server.diagnostics.reused, server.diagnostics.host, server.diagnostics.port), (True, "db.internal", 6543))
        server.close()
        self.assertTrue(repr(server).endswith(" closed>"))
        self.assertEqual(self.fake_calls(), [])  # never a docker call

    def test_a_malformed_url_is_a_redacted_configuration_error(self) -> None:
        with self.assertRaises(minitestdb.ConfigurationError) as ctx:
            minitestdb.Server.from_url("mysql://app:from-url-secret2@h/d", check=False)
        self.assertNotIn("from-url-secret2", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
