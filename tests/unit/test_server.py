"""_server: the deterministic failure paths of start()/up() and Server.close() through the fake docker CLI.

Each checks the error type, that the message is one line saying what to do, and
that a container that was created is removed again (rm --force was called).
"""

from __future__ import annotations

import os
import unittest
from typing import Any
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
        # (the inspects in between are the wait's.)
        self.assertEqual((verbs[:2], verbs[-2:]), (["image inspect", "run"], ["logs", "rm"]))
        self.assertNotIn("stop", verbs)
        self.assertEqual(self.fake_calls()[-1], ["rm", "--force", "--volumes", "f" * 64])

    def test_one_docker_run_with_the_create_argv_and_the_password_in_the_environment(self) -> None:
        from minitestdb import _server
        from minitestdb._container import create_argv

        self.use_fake_docker("exits-on-start")
        specs: list[object] = []
        real = _server.build_spec
        with mock.patch.object(_server, "build_spec", side_effect=lambda **kw: specs.append(real(**kw)) or specs[-1]), self.assertRaises(minitestdb.ContainerExitedError):
            minitestdb.start(password="pw-run-1")
        run = self.fake_calls()[1]
        self.assertEqual(run, ["run", "--detach", *create_argv(specs[0])[1:]])  # type: ignore[arg-type]
        self.assertEqual(run[run.index("--env", run.index("--stop-signal")):][:2], ["--env", "POSTGRES_PASSWORD"])  # the value comes from the CLI's environment
        self.assertNotIn("create", list(self.fake_verbs()))
        self.assertNotIn("start", list(self.fake_verbs()))

    def test_a_run_whose_start_fails_removes_the_container_it_created(self) -> None:
        self.use_fake_docker("run-port-taken")
        with self.assertRaises(minitestdb.PortInUseError) as ctx:
            minitestdb.start()
        self.assert_one_line(ctx.exception)
        self.assertIn("Bind for 127.0.0.1:5999 failed: port is already allocated)", str(ctx.exception))
        calls = self.fake_calls()
        name = calls[1][calls[1].index("--name") + 1]
        self.assertEqual([argv[:2] for argv in calls[:2]], [["image", "inspect"], ["run", "--detach"]])
        self.assertEqual(calls[2:], [["container", "inspect", name], ["logs", "--tail", "40", "f" * 64], ["rm", "--force", "--volumes", "f" * 64]])
        self.assertFalse(self.fake_container_exists())
        self.assertIn("log tail", ctx.exception.detail)

    def test_a_run_whose_start_fails_is_kept_with_keep_on_failure(self) -> None:
        self.use_fake_docker("run-port-taken")
        with self.assertRaises(minitestdb.PortInUseError):
            minitestdb.start(keep_on_failure=True)
        self.assertEqual([argv[0] for argv in self.fake_calls()], ["image", "run", "container", "logs"])
        self.assertTrue(self.fake_container_exists())

    def test_a_name_conflict_removes_nothing(self) -> None:
        # The name is another process's container: start() reports it, nothing is inspected or removed.
        self.use_fake_docker("run-conflict")
        with self.assertRaises(minitestdb.ContainerNameConflictError):
            minitestdb.start()
        self.assertEqual([argv[:2] for argv in self.fake_calls()], [["image", "inspect"], ["run", "--detach"]])
        self.assertTrue(self.fake_container_exists())

    def test_a_failed_run_leaves_another_process_container_alone(self) -> None:
        # run failed before creating (here: the engine went away) and a container by that name exists, made by someone else: not ours to remove.
        from minitestdb import _server
        from minitestdb._container import parse_inspect
        from minitestdb._errors import DockerDaemonError

        self.use_fake_docker("exits-on-start")
        theirs = parse_inspect({"Id": "9" * 64, "Name": "/minitestdb-fake", "State": {"Running": True}, "Config": {"Labels": {"minitestdb": "1", "minitestdb.owner-pid": "1"}}})
        with mock.patch.object(_server.DockerCLI, "run_detached", side_effect=DockerDaemonError("gone")), \
                mock.patch.object(_server.DockerCLI, "inspect", return_value=theirs) as inspect, self.assertRaises(DockerDaemonError):
            minitestdb.start()
        inspect.assert_called_once()
        self.assertNotIn("rm", list(self.fake_verbs()))

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
        # rm --force ran once the engine answered again; no stop before it.
        self.assertFalse(self.fake_container_exists())
        self.assertNotIn("stop", list(self.fake_verbs()))

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
        create = next(argv for argv in self.fake_calls() if argv[0] == "run")
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
                mock.patch.object(_server, "api_socket", return_value=None), \
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
        self.assertEqual(len(server.diagnostics.cleanup_errors), 1)
        server.close()  # idempotent: no second attempt, no second error
        self.assertEqual(self.fake_calls(), [["rm", "--force", "--volumes", "c" * 64]])
        self.assertNotIn("close-test-secret", repr(server) + str(server.diagnostics.to_dict()))

    def test_a_private_server_is_killed_and_removed_in_one_call(self) -> None:
        # No `docker stop`: it would wait the whole grace on an image whose PID 1 does not pass SIGINT on.
        self.use_fake_docker("exits-on-start")
        self.server().close()
        self.assertEqual(self.fake_calls(), [["rm", "--force", "--volumes", "c" * 64]])

    def test_down_stops_a_shared_server_before_removing_it(self) -> None:
        from minitestdb import _server
        from minitestdb._container import parse_inspect

        self.use_fake_docker("exits-on-start")
        info = parse_inspect({"Id": "d" * 64, "Name": "/minitestdb-fake", "State": {"Running": True}, "Config": {"Labels": {"minitestdb": "1", "minitestdb.shared": "1"}}})
        with mock.patch.object(_server.DockerCLI, "inspect", return_value=info):
            self.assertEqual(minitestdb.down("fake"), ["minitestdb-fake"])
        self.assertEqual(self.fake_calls(), [["stop", "--time", "5", "d" * 64], ["rm", "--force", "--volumes", "d" * 64]])

    def test_down_all_kills_private_servers_and_stops_shared_ones(self) -> None:
        from minitestdb import _server
        from minitestdb._container import parse_inspect

        self.use_fake_docker("exits-on-start")
        infos = [
            parse_inspect({"Id": cid * 64, "Name": f"/{name}", "State": {"Running": True}, "Config": {"Labels": {"minitestdb": "1", "minitestdb.shared": shared}}})
            for cid, name, shared in (("a", "minitestdb-p1-x", "0"), ("b", "minitestdb-default", "1"))
        ]
        with mock.patch.object(_server, "find_servers", return_value=infos):
            self.assertEqual(minitestdb.down(all_servers=True), ["minitestdb-p1-x", "minitestdb-default"])
        self.assertEqual(
            self.fake_calls(), [["rm", "--force", "--volumes", "a" * 64], ["stop", "--time", "5", "b" * 64], ["rm", "--force", "--volumes", "b" * 64]],
        )

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




class EngineTest(FakeDockerMixin):
    """Where servers are published and dialled follows the engine (``_engine``'s rules; this is their I/O)."""

    def setUp(self) -> None:
        from minitestdb import _server

        for patcher in (mock.patch.dict(os.environ, {"MINITESTDB_IMAGE": "fake:1"}), mock.patch.dict(_server._ENGINES, clear=True)):
            patcher.start()
            self.addCleanup(patcher.stop)
        for var in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "CONTAINER_HOST", "MINITESTDB_HOST"):
            os.environ.pop(var, None)
        # No docker config of this machine's user decides anything here.
        os.environ["DOCKER_CONFIG"] = os.path.join(os.path.dirname(__file__), "fixtures", "no-such-docker-config")

    def published(self) -> str:
        create = next(argv for argv in self.fake_calls() if argv[0] == "run")
        return create[create.index("--publish") + 1]

    def test_a_local_engine_publishes_on_loopback_and_asks_no_context(self) -> None:
        self.use_fake_docker("exits-on-start")
        with self.assertRaises(minitestdb.ContainerExitedError):
            minitestdb.up("fake")
        self.assertEqual(self.published(), "127.0.0.1::5432")
        self.assertNotIn("context", [argv[0] for argv in self.fake_calls()])

    def test_a_remote_engine_publishes_on_its_addresses(self) -> None:
        self.use_fake_docker("exits-on-start")
        for function in (minitestdb.up, minitestdb.start):
            with self.subTest(function=function.__name__), mock.patch.dict(os.environ, {"DOCKER_HOST": "tcp://10.200.7.2:2375"}):
                with self.assertRaises(minitestdb.ContainerExitedError):
                    function()
                self.assertEqual(self.published(), "0.0.0.0::5432")
                os.remove(self.fake_log)

    def test_an_ssh_engine_without_a_host_fails_before_any_docker_call(self) -> None:
        self.use_fake_docker("exits-on-start")
        os.environ["DOCKER_HOST"] = "ssh://me@build-host"
        for call in (minitestdb.up, minitestdb.start, minitestdb.attach):
            with self.subTest(call=call.__name__), self.assertRaises(minitestdb.ConfigurationError) as caught:
                call()
            self.assertNotIn("\n", str(caught.exception))
            self.assertIn("set MINITESTDB_HOST", str(caught.exception))
        self.assertEqual(self.fake_calls(), [])
        os.environ["MINITESTDB_HOST"] = "build-host"
        with self.assertRaises(minitestdb.ContainerExitedError):
            minitestdb.up("fake")
        self.assertEqual(self.published(), "0.0.0.0::5432")

    def test_a_docker_context_is_read_once(self) -> None:
        from minitestdb import _server
        from minitestdb._docker import DockerCLI, DockerResult

        answer = '[{"Name": "ci", "Endpoints": {"docker": {"Host": "tcp://10.200.7.2:2375"}}}]'
        os.environ["DOCKER_CONTEXT"] = "ci"
        with mock.patch.object(DockerCLI, "run", return_value=DockerResult([], answer, "")) as run:
            first = _server.engine(DockerCLI("docker"))
            second = _server.engine(DockerCLI("docker"))
        self.assertIs(first, second)
        run.assert_called_once_with(["context", "inspect"], timeout=20)
        self.assertEqual((first.kind, first.source, first.dial_host), ("remote", "docker context 'ci'", "10.200.7.2"))

    def test_the_config_current_context_is_read_only_when_set(self) -> None:
        import tempfile

        from minitestdb import _server
        from minitestdb._docker import DockerCLI, DockerResult

        config = tempfile.mkdtemp(prefix="minitestdb-docker-config-")
        os.environ["DOCKER_CONFIG"] = config
        answer = '[{"Name": "vm", "Endpoints": {"docker": {"Host": "unix:///run/vm/docker.sock"}}}]'
        with mock.patch.object(DockerCLI, "run", return_value=DockerResult([], answer, "")) as run:
            self.assertEqual(_server.engine(DockerCLI("docker")).kind, "local")
            run.assert_not_called()  # no config.json: the default context, no subprocess
            with open(os.path.join(config, "config.json"), "w") as fh:
                fh.write('{"currentContext": "vm"}')
            _server._ENGINES.clear()  # decided once per process: `docker context use` later is not seen
            engine = _server.engine(DockerCLI("docker"))
            run.assert_called_once()
            self.assertEqual((engine.kind, engine.source, engine.address), ("local", "docker context 'vm'", "unix:///run/vm/docker.sock"))
            os.environ["DOCKER_HOST"] = "tcp://10.0.0.5:2375"  # DOCKER_HOST wins over the config's context
            self.assertEqual(_server.engine(DockerCLI("docker")).dial_host, "10.0.0.5")
            run.assert_called_once()

    def test_a_server_published_on_a_remote_engines_loopback_is_refused_with_the_fix(self) -> None:
        from minitestdb import _server
        from minitestdb._container import parse_inspect

        os.environ["DOCKER_HOST"] = "tcp://10.200.7.2:2375"
        info = parse_inspect({
            "Id": "c" * 64, "Name": "/minitestdb-old", "State": {"Status": "running", "Running": True},
            "Config": {"Image": "fake:1", "Labels": {"minitestdb": "1", "minitestdb.name": "old", "minitestdb.shared": "1"}, "Env": ["POSTGRES_PASSWORD=pw-old-1"]},
            "NetworkSettings": {"Ports": {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "2222"}]}},
        })
        with mock.patch.object(_server.DockerCLI, "inspect", return_value=info), self.assertRaises(minitestdb.ConfigurationError) as caught:
            minitestdb.attach("old")
        message = str(caught.exception)
        self.assertIn("on the engine's own loopback only", message)
        self.assertIn("`python -m minitestdb down --server old`", message)
        self.assertNotIn("pw-old-1", message)


class WarmUpTest(unittest.TestCase):
    """A running shared server is reused with one `docker container inspect` and one probe: no image inspect, no second inspect."""

    def info(self, *, running: bool) -> Any:
        from minitestdb._container import parse_inspect

        return parse_inspect({
            "Id": "d" * 64, "Name": "/minitestdb-warm", "State": {"Status": "running" if running else "exited", "Running": running},
            "Config": {"Image": "fake:1", "Labels": {"minitestdb": "1", "minitestdb.name": "warm", "minitestdb.shared": "1"}, "Env": ["POSTGRES_PASSWORD=pw-warm-1"]},
            "NetworkSettings": {"Ports": {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5998"}] if running else {}}},
        })

    def setUp(self) -> None:
        from minitestdb import _server

        def patch(patcher: Any) -> Any:
            started = patcher.start()
            self.addCleanup(patcher.stop)
            return started

        patch(mock.patch.dict(os.environ, {"MINITESTDB_IMAGE": "fake:1", "MINITESTDB_DOCKER": "docker"}))
        patch(mock.patch.object(_server.DockerCLI, "image_inspect", side_effect=AssertionError("no image inspect on reuse")))
        # The CLI's inspect (the engine's socket is test_up_reads_the_engine_api_socket_when_it_has_one's).
        self.api_socket = patch(mock.patch.object(_server, "api_socket", return_value=None))
        self.start = patch(mock.patch.object(_server.DockerCLI, "start"))
        self.ready = patch(mock.patch.object(_server, "wait_until_ready"))

    def test_up_reuses_a_running_server_with_one_inspect_and_one_probe(self) -> None:
        from minitestdb import _server

        with mock.patch.object(_server.DockerCLI, "inspect", return_value=self.info(running=True)) as inspect:
            server = minitestdb.up("warm")
        inspect.assert_called_once_with("minitestdb-warm")
        self.ready.assert_called_once()
        self.start.assert_not_called()
        self.assertEqual((server.port, server.password, server.diagnostics.reused), (5998, "pw-warm-1", True))

    def test_up_hands_the_engine_api_socket_to_its_cli(self) -> None:
        from minitestdb import _server

        self.api_socket.return_value = "/run/test-docker.sock"
        sockets: list[str | None] = []

        def inspect(cli: _server.DockerCLI, name: str) -> Any:
            sockets.append(cli.api_socket)
            return self.info(running=True)

        with mock.patch.object(_server.DockerCLI, "inspect", autospec=True, side_effect=inspect):
            server = minitestdb.up("warm")
        self.assertEqual(sockets, ["/run/test-docker.sock"])
        self.assertEqual((server.port, server.password), (5998, "pw-warm-1"))

    def test_a_name_conflict_waits_until_the_other_process_container_can_be_inspected(self) -> None:
        from minitestdb import _server

        # The engine reserves the name before the container can be inspected: after the conflict,
        # the inspect finds nothing twice more (the other process's create is not done), then finds it.
        answers = [None, None, None, self.info(running=True), self.info(running=True)]
        conflict = minitestdb.ContainerNameConflictError("Conflict. The container name is already in use")
        with mock.patch.object(_server.DockerCLI, "inspect", side_effect=answers) as inspect, \
                mock.patch.object(_server, "ensure_image", return_value={}), mock.patch.object(_server, "_launch", side_effect=conflict) as launch, \
                mock.patch.object(_server.time, "sleep"):
            server = minitestdb.up("warm", snapshot=False)
        launch.assert_called_once()
        self.assertEqual(inspect.call_count, 5)  # the first, three while waiting, the reuse's
        self.assertEqual((server.port, server.password, server.diagnostics.reused), (5998, "pw-warm-1", True))

    def test_attach_reads_the_port_from_its_own_inspect(self) -> None:
        from minitestdb import _server

        with mock.patch.object(_server.DockerCLI, "inspect", return_value=self.info(running=True)) as inspect:
            self.assertEqual(minitestdb.attach("warm").port, 5998)
        inspect.assert_called_once_with("minitestdb-warm")
        self.ready.assert_called_once()

    def test_a_stopped_server_is_started_and_inspected_again_for_its_new_port(self) -> None:
        from minitestdb import _server

        with mock.patch.object(_server.DockerCLI, "inspect", side_effect=[self.info(running=False), self.info(running=True)]) as inspect:
            self.assertEqual(minitestdb.up("warm").port, 5998)
        self.assertEqual(inspect.call_count, 2)
        self.start.assert_called_once_with("d" * 64)


class FixedPortTest(unittest.TestCase):
    """A fixed port that something holds fails before `create` on a local engine (podman's failed create would cut off its holder)."""

    def test_a_taken_port_fails_before_any_container_is_made(self) -> None:
        import socket

        from minitestdb._engine import decide_engine
        from minitestdb._server import _check_port_free

        local, remote = decide_engine("", source="default"), decide_engine("tcp://build-host:2375", source="DOCKER_HOST")
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            taken = holder.getsockname()[1]
            with self.assertRaises(minitestdb.PortInUseError) as ctx:
                _check_port_free(local, taken)
            self.assertEqual(str(ctx.exception), f"The host port {taken} is already taken on 127.0.0.1: choose another --port, or leave it out for a free one.")
            _check_port_free(remote, taken)  # a remote engine's ports are not this machine's: the engine decides
            _check_port_free(local, None)
        _check_port_free(local, taken)  # free again


if __name__ == "__main__":
    unittest.main()
