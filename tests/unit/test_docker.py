"""The docker CLI wrapper: failure classification (exact stderr) and the fake CLI."""

from __future__ import annotations

import time
import unittest

from minitestdb._docker import ContainerNameConflictError, DockerCLI, NoSuchContainerError, classify_failure
from minitestdb._errors import (
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


if __name__ == "__main__":
    unittest.main()
