"""_image: the image found, missing with pulling off, a failed pull (fake docker CLI)."""

from __future__ import annotations

import contextlib
import io
import unittest
from typing import Any
from unittest import mock

from minitestdb import _image
from minitestdb._docker import DockerCLI
from minitestdb._errors import DockerDaemonError, ImageUnavailableError
from minitestdb._image import ensure_image
from tests.unit.fakes import FakeDockerMixin

# What the fake CLI's `image inspect` prints (tests/fakes/docker, IMAGE), first element.
FAKE_IMAGE = {"Id": "sha256:" + "a" * 64, "Config": {"Env": ["PGDATA=/var/lib/postgresql/data"], "Volumes": {"/var/lib/postgresql/data": {}}}}


class EnsureImageFakeCLITest(FakeDockerMixin):
    def test_present(self) -> None:
        self.use_fake_docker("exits-on-start")
        self.assertEqual(ensure_image(DockerCLI(), "fake:1", pull=True), FAKE_IMAGE)
        self.assertEqual(self.fake_calls(), [["image", "inspect", "fake:1"]])

    def test_missing_with_pulling_disabled(self) -> None:
        self.use_fake_docker("pull-fails")
        with self.assertRaises(ImageUnavailableError) as ctx:
            ensure_image(DockerCLI(), "postgres:17", pull=False)
        self.assertEqual(
            str(ctx.exception),
            "The image 'postgres:17' is not present and pulling is disabled: pull it, or pass --image naming an image you have.",
        )
        self.assertEqual(self.fake_calls(), [["image", "inspect", "postgres:17"]])

    def test_pull_fails(self) -> None:
        self.use_fake_docker("pull-fails")
        with self.assertRaises(ImageUnavailableError) as ctx:
            ensure_image(DockerCLI(), "postgres:17", pull=True)
        message = str(ctx.exception)
        self.assertNotIn("\n", message)
        self.assertIn("'postgres:17' is not present and could not be pulled", message)
        self.assertIn("no such host", message)
        self.assertIn("--image", message)
        self.assertEqual(self.fake_calls(), [["image", "inspect", "postgres:17"], ["pull", "postgres:17"]])

    def test_no_engine(self) -> None:
        self.use_fake_docker("daemon-down")
        with self.assertRaises(DockerDaemonError):
            ensure_image(DockerCLI(), "postgres:17", pull=True)
        self.assertEqual([argv[:2] for argv in self.fake_calls()], [["image", "inspect"]])


class EnsureImageMockedTest(unittest.TestCase):
    def docker(self, *inspected: dict[str, Any] | None) -> mock.Mock:
        docker = mock.Mock(spec=DockerCLI)
        docker.image_inspect.side_effect = list(inspected)
        return docker

    def test_pulled_then_inspected(self) -> None:
        docker = self.docker(None, {"Id": "x"})
        with mock.patch.object(_image, "_show_progress", return_value=False), contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(ensure_image(docker, "postgres:17", pull=True), {"Id": "x"})
        docker.pull.assert_called_once_with("postgres:17", show_progress=False)
        self.assertEqual(docker.image_inspect.call_args_list, [mock.call("postgres:17")] * 2)
        self.assertEqual(err.getvalue(), "")

    def test_progress_on_a_terminal(self) -> None:
        docker = self.docker(None, {"Id": "x"})
        with mock.patch.object(_image, "_show_progress", return_value=True), contextlib.redirect_stderr(io.StringIO()) as err:
            ensure_image(docker, "postgres:17", pull=True)
        docker.pull.assert_called_once_with("postgres:17", show_progress=True)
        self.assertEqual(err.getvalue(), "minitestdb: pulling postgres:17 (first use only)...\n")

    def test_progress_when_the_caller_asks_for_it(self) -> None:
        docker = self.docker(None, {"Id": "x"})
        heard: list[str] = []
        with mock.patch.object(_image, "_show_progress", return_value=False), contextlib.redirect_stderr(io.StringIO()) as err:
            ensure_image(docker, "postgres:17", pull=True, progress=heard.append)
        docker.pull.assert_called_once_with("postgres:17", show_progress=True)
        self.assertEqual((heard, err.getvalue()), (["pulling postgres:17 (first use only)..."], ""))

    def test_no_progress_for_an_image_that_is_present(self) -> None:
        heard: list[str] = []
        ensure_image(self.docker({"Id": "x"}), "postgres:17", pull=True, progress=heard.append)
        self.assertEqual(heard, [])

    def test_pulled_but_not_inspectable(self) -> None:
        docker = self.docker(None, None)
        with mock.patch.object(_image, "_show_progress", return_value=False), self.assertRaises(ImageUnavailableError) as ctx:
            ensure_image(docker, "postgres:17", pull=True)
        self.assertEqual(str(ctx.exception), "The image 'postgres:17' was pulled but cannot be inspected: check `docker image ls`.")

    def test_show_progress_only_on_a_terminal(self) -> None:
        class Closed(io.StringIO):
            def isatty(self) -> bool:
                raise ValueError("I/O operation on closed file")

        tty = mock.Mock()
        tty.isatty.return_value = True
        for stream, expected in ((io.StringIO(), False), (Closed(), False), (object(), False), (tty, True)):
            with self.subTest(stream=type(stream).__name__), mock.patch.object(_image.sys, "stderr", stream):
                self.assertIs(_image._show_progress(), expected)


if __name__ == "__main__":
    unittest.main()
