"""The docker CLI wrapper: failure classification (exact stderr) and the fake CLI."""

from __future__ import annotations

import json
import os
import subprocess
import time
import unittest
from typing import Any
from unittest import mock

from minitestdb._container import check_reusable, data_volume, parse_inspect, same_image
from minitestdb._docker import ContainerNameConflictError, DockerCLI, NoSuchContainerError, classify_failure, version_info
from minitestdb._errors import (
    ConfigurationError,
    DockerCommandError,
    DockerDaemonError,
    DockerNotFoundError,
    DockerPermissionError,
    DockerTimeoutError,
    ImageUnavailableError,
    PortInUseError,
)
from tests.unit.fakes import FakeDockerMixin

# (verb argv, stderr as printed by docker 28 / engine 20.10, expected error type)
CASES = [
    (["docker", "version"], "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n", DockerDaemonError),
    (["docker", "ps"], "error during connect: Get \"http://docker.example:2375/v1.24/containers/json\": dial tcp: lookup docker.example: no such host\n", DockerDaemonError),
    (
        ["docker", "version"],
        "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "
        "\"http://%2Fvar%2Frun%2Fdocker.sock/v1.24/version\": dial unix /var/run/docker.sock: connect: permission denied\n",
        DockerPermissionError,
    ),
    (
        ["docker", "pull", "postgres:18"],
        "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 10.0.2.3:53: no such host\n",
        ImageUnavailableError,
    ),
    (["docker", "create", "nope:1"], "Unable to find image 'nope:1' locally\nError response from daemon: pull access denied for nope, repository does not exist\n", ImageUnavailableError),
    (
        ["docker", "start", "abc"],
        "Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:5432 failed: port is already allocated\n"
        "Error: failed to start containers: abc\n",
        PortInUseError,
    ),
    (
        ["docker", "create", "--name", "minitestdb-default", "img"],
        "Error response from daemon: Conflict. The container name \"/minitestdb-default\" is already in use by container \"0123\". "
        "You have to remove (or rename) that container to be able to reuse that name.\n",
        ContainerNameConflictError,
    ),
    (["docker", "stop", "--time", "5", "abc"], "Error response from daemon: No such container: abc\n", NoSuchContainerError),
    (["docker", "start", "abc"], "Error response from daemon: something else went wrong\n", DockerCommandError),
]


class ClassifyTest(unittest.TestCase):
    def test_table(self) -> None:
        for argv, stderr, expected in CASES:
            with self.subTest(stderr=stderr[:60]):
                err = classify_failure(argv, 1, stderr)
                self.assertIs(type(err), expected)
                self.assertEqual(err.exit_code, 1)
                self.assertEqual(err.command, argv)
                # One sentence for a person, the rest in the detail.
                self.assertNotIn("\n", str(err))
                self.assertIn("exit code: 1", err.detail)

    def test_docker_runs_failures_as_it_prints_them(self) -> None:
        # docker 2x prints these (exit 125), ending with a --help hint that says nothing: the line before it is the one shown.
        port = ("docker: Error response from daemon: driver failed programming external connectivity on endpoint minitestdb-p1-x (0123): "
                "Bind for 127.0.0.1:5999 failed: port is already allocated\n\nRun 'docker run --help' for more information\n")
        conflict = ('docker: Error response from daemon: Conflict. The container name "/minitestdb-default" is already in use by container "0123". '
                    "You have to remove (or rename) that container to be able to reuse that name.\n\nRun 'docker run --help' for more information\n")
        missing = ("Unable to find image 'nope:1' locally\ndocker: Error response from daemon: pull access denied for nope, repository does not exist\n\n"
                   "Run 'docker run --help' for more information\n")
        argv = ["docker", "run", "--detach", "--name", "minitestdb-default", "img"]
        for stderr, expected, shown in (
            (port, PortInUseError, "port is already allocated)"),
            (conflict, ContainerNameConflictError, "to reuse that name.)"),
            (missing, ImageUnavailableError, "repository does not exist)"),
        ):
            with self.subTest(expected=expected.__name__):
                err = classify_failure(argv, 125, stderr)
                self.assertIs(type(err), expected)
                self.assertIn(shown, str(err))
                self.assertTrue(str(err).startswith("`docker run` failed"))
                self.assertNotIn("--help", str(err))

    def test_errors_subclass_the_builtins_callers_catch(self) -> None:
        self.assertIsInstance(classify_failure(["docker", "version"], 1, CASES[0][1]), ConnectionError)
        self.assertIsInstance(classify_failure(["docker", "version"], 1, CASES[2][1]), PermissionError)

    def test_secrets_in_argv_and_stderr_are_redacted(self) -> None:
        err = classify_failure(
            ["docker", "run", "-e", "POSTGRES_PASSWORD=s3cr3t-value", "img"], 125, "could not connect to postgresql://u:s3cr3t-value@h/db\n"
        )
        for text in (str(err), err.detail, repr(err), " ".join(err.command), err.stderr):
            self.assertNotIn("s3cr3t-value", text)

    def test_messages_say_what_to_do(self) -> None:
        self.assertIn("start Docker", str(classify_failure(["docker", "ps"], 1, CASES[0][1])))
        self.assertIn("--image", str(classify_failure(["docker", "pull", "x"], 1, CASES[3][1])))
        self.assertIn("--port", str(classify_failure(["docker", "start", "x"], 1, CASES[5][1])))


class FakeCLITest(FakeDockerMixin):
    def test_missing_binary(self) -> None:
        cli = DockerCLI("/nonexistent/docker-binary")
        with self.assertRaises(DockerNotFoundError) as ctx:
            cli.version()
        self.assertIsInstance(ctx.exception, FileNotFoundError)
        self.assertIn("MINITESTDB_DOCKER", str(ctx.exception))

    def test_daemon_down(self) -> None:
        self.use_fake_docker("daemon-down")
        with self.assertRaises(DockerDaemonError):
            DockerCLI().version()
        self.assertEqual(self.fake_calls(), [["version", "--format", "{{json .}}"]])

    def test_permission_denied(self) -> None:
        self.use_fake_docker("permission")
        with self.assertRaises(DockerPermissionError):
            DockerCLI().ps(["minitestdb=1"])

    def test_timeout_fires(self) -> None:
        self.use_fake_docker("hang")
        began = time.monotonic()
        with self.assertRaises(DockerTimeoutError) as ctx:
            DockerCLI().run(["version"], timeout=0.5)
        self.assertLess(time.monotonic() - began, 5)
        self.assertIsInstance(ctx.exception, TimeoutError)

    def test_pull_failure_names_image_option(self) -> None:
        self.use_fake_docker("pull-fails")
        cli = DockerCLI()
        self.assertIsNone(cli.image_inspect("postgres:18"))
        with self.assertRaises(ImageUnavailableError) as ctx:
            cli.pull("postgres:18")
        self.assertIn("'postgres:18'", str(ctx.exception))
        self.assertIn("--image", str(ctx.exception))
        self.assertIn("no such host", str(ctx.exception))

    def test_inspect_of_missing_container_is_none(self) -> None:
        self.use_fake_docker("pull-fails")
        self.assertIsNone(DockerCLI().inspect("nothing-here"))


FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name: str) -> Any:
    with open(os.path.join(FIXTURES, name)) as fh:
        return json.load(fh)


#: podman 4.3's own words (tests/unit/fixtures/podman_cli_output.json, captured as root on
#: Debian 12 with no registry reachable): podman has no daemon, so nothing says
#: "Error response from daemon", and it words conflicts and missing things its own way.
PODMAN = fixture("podman_cli_output.json")["cases"]
PODMAN_EXPECTED = {
    "name_conflict": ContainerNameConflictError,
    "short_name": ImageUnavailableError,
    "short_name_pull": ImageUnavailableError,
    "registry_unreachable_pull": ImageUnavailableError,
    "registry_unreachable_create": ImageUnavailableError,
    # "connection refused" from a registry, not from an engine: the engine (podman itself) answered.
    "registry_refused_create": ImageUnavailableError,
    "image_inspect_missing": ImageUnavailableError,
    "inspect_missing": NoSuchContainerError,
    "stop_missing": NoSuchContainerError,
    "start_missing": NoSuchContainerError,
    "logs_missing": NoSuchContainerError,
    "port_taken_start": PortInUseError,
    # CONTAINER_HOST (podman's DOCKER_HOST) naming a socket nobody serves.
    "service_unreachable": DockerDaemonError,
}


def replay(case: dict[str, Any]) -> mock._patch[Any]:
    """Patch the CLI's subprocess.run to answer as podman did in *case*."""

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(argv, case["exit_code"], case.get("stdout", "").encode(), case.get("stderr", "").encode())

    return mock.patch("minitestdb._docker.subprocess.run", side_effect=fake_run)


class PodmanOutputTest(unittest.TestCase):
    def test_every_captured_failure_is_classified(self) -> None:
        self.assertEqual(set(PODMAN) - {"version"}, set(PODMAN_EXPECTED))
        for key, expected in PODMAN_EXPECTED.items():
            case = PODMAN[key]
            with self.subTest(key):
                err = classify_failure(case["argv"], case["exit_code"], case["stderr"])
                self.assertIs(type(err), expected, err)
                self.assertNotIn("\n", str(err))
                self.assertIn("`podman ", str(err))

    def test_short_name_says_to_name_the_registry(self) -> None:
        for key in ("short_name", "short_name_pull"):
            err = classify_failure(PODMAN[key]["argv"], 125, PODMAN[key]["stderr"])
            self.assertIn("docker.io/library/postgres:18", str(err))
            self.assertIn("unqualified-search-registries", str(err))
        # pull() keeps that advice instead of its generic "check the network".
        with replay(PODMAN["short_name_pull"]), self.assertRaises(ImageUnavailableError) as ctx:
            DockerCLI("podman").pull("postgres:18")
        self.assertIn("docker.io/library/postgres:18", str(ctx.exception))

    def test_missing_image_and_container_are_none(self) -> None:
        with replay(PODMAN["image_inspect_missing"]):
            self.assertIsNone(DockerCLI("podman").image_inspect("docker.io/library/postgres:18"))
        with replay(PODMAN["inspect_missing"]):
            self.assertIsNone(DockerCLI("podman").inspect("minitestdb-nope"))

    def test_version_without_a_server_part(self) -> None:
        with replay(PODMAN["version"]):
            version = DockerCLI("podman").version()
        self.assertEqual(version["Client"]["Version"], "4.3.1")
        self.assertEqual(version["Server"]["Version"], "4.3.1")
        docker = {"Client": {"Version": "28.0.1"}, "Server": {"Version": "20.10.24"}}
        self.assertEqual(version_info(docker), docker)
        self.assertEqual(version_info([]), {})

    def test_inspect_json(self) -> None:
        running = parse_inspect(fixture("podman_inspect_running.json")[0])
        self.assertEqual((running.name, running.status, running.running), ("minitestdb-podcap", "running", True))
        self.assertEqual((running.host, running.port), ("127.0.0.1", 37121))
        self.assertEqual(running.image, "localhost/minitestdb/postgres-test:15")
        self.assertEqual(running.server_name, "podcap")
        self.assertTrue(running.shared)
        self.assertEqual(running.password, "fixture-password-not-secret")
        self.assertEqual(running.settings["fsync"], "off")
        exited = parse_inspect(fixture("podman_inspect_exited.json")[0])
        self.assertEqual((exited.status, exited.running, exited.exit_code), ("exited", False, 0))
        # Unlike docker, podman still reports the published port of a stopped container.
        self.assertEqual(exited.port, 37121)

    def test_image_data_volume(self) -> None:
        self.assertEqual(data_volume(fixture("podman_image_inspect_pg15.json")[0]), "/var/lib/postgresql/data")

    def test_reuse_accepts_podmans_spelling_of_the_image(self) -> None:
        info = parse_inspect(fixture("podman_inspect_running.json")[0])
        self.assertTrue(same_image(info.image, "minitestdb/postgres-test:15"))
        check_reusable(info, name="podcap", image="minitestdb/postgres-test:15", explicit_image=True, port=None, user="postgres")
        with self.assertRaises(ConfigurationError):
            check_reusable(info, name="podcap", image="minitestdb/postgres-test:17", explicit_image=True, port=None, user="postgres")


if __name__ == "__main__":
    unittest.main()


class EngineApiTest(unittest.TestCase):
    """Inspects over the engine's unix socket (`api_socket` set): one HTTP/1.0 GET, the CLI when the socket does not serve."""

    def serve(self, answer: bytes) -> tuple[str, list[bytes]]:
        import socket
        import tempfile
        import threading

        path = os.path.join(tempfile.mkdtemp(prefix="minitestdb-api-"), "docker.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        self.addCleanup(server.close)
        requests: list[bytes] = []

        def once() -> None:
            conn, _ = server.accept()
            with conn:
                requests.append(conn.recv(4096))
                conn.sendall(answer)

        threading.Thread(target=once, daemon=True).start()
        return path, requests

    def cli(self, socket_path: str | None) -> tuple[DockerCLI, list[list[str]]]:
        """A CLI whose own processes are recorded (and answer an empty list) instead of run."""
        from minitestdb._docker import DockerResult

        processes: list[list[str]] = []

        class Recording(DockerCLI):
            def run(self, args: Any, **kwargs: Any) -> DockerResult:
                processes.append(list(args))
                return DockerResult(list(args), "[]", "")

        cli = Recording("docker")
        cli.api_socket = socket_path
        return cli, processes

    def fixture(self) -> dict[str, Any]:
        with open(os.path.join(os.path.dirname(__file__), "fixtures", "inspect_running.json")) as fh:
            data = json.load(fh)
        return data[0] if isinstance(data, list) else data  # type: ignore[no-any-return]

    def test_a_200_answer_is_the_cli_s_inspect_json(self) -> None:
        data = self.fixture()
        path, requests = self.serve(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + json.dumps(data).encode())
        cli, processes = self.cli(path)
        info = cli.inspect("minitestdb-default")
        self.assertEqual(requests, [b"GET /containers/minitestdb-default/json HTTP/1.0\r\nHost: docker\r\n\r\n"])
        assert info is not None
        expected = parse_inspect(data)
        self.assertEqual((info.id, info.port, info.password, info.running), (expected.id, expected.port, expected.password, expected.running))
        self.assertEqual(processes, [])

    def test_an_image_inspect_asks_the_image_route(self) -> None:
        path, requests = self.serve(b'HTTP/1.0 200 OK\r\n\r\n{"Id": "sha256:ab", "Config": {}}')
        cli, processes = self.cli(path)
        self.assertEqual(cli.image_inspect("minitestdb/postgres-test:15"), {"Id": "sha256:ab", "Config": {}})
        self.assertEqual(requests, [b"GET /images/minitestdb/postgres-test:15/json HTTP/1.0\r\nHost: docker\r\n\r\n"])
        self.assertEqual(processes, [])

    def test_a_404_is_not_there(self) -> None:
        for call in ("inspect", "image_inspect"):
            with self.subTest(call=call):
                path, _ = self.serve(b'HTTP/1.0 404 Not Found\r\n\r\n{"message":"No such container: x"}')
                cli, processes = self.cli(path)
                self.assertIsNone(getattr(cli, call)("x"))
                self.assertEqual(processes, [])

    def test_anything_else_asks_the_cli(self) -> None:
        for answer in (b"HTTP/1.0 500 Internal Server Error\r\n\r\n{}", b"garbage", b"HTTP/1.0 200 OK\r\n\r\nnot json"):
            with self.subTest(answer=answer):
                path, _ = self.serve(answer)
                cli, processes = self.cli(path)
                self.assertIsNone(cli.inspect("x"))
                self.assertEqual(processes, [["container", "inspect", "x"]])
        cli, processes = self.cli("/nonexistent/docker.sock")  # no socket: the CLI says why
        cli.image_inspect("y")
        self.assertEqual(processes, [["image", "inspect", "y"]])
        cli, processes = self.cli(None)  # no socket named: the CLI only
        cli.inspect("z")
        self.assertEqual(processes, [["container", "inspect", "z"]])
