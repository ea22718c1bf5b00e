"""_server_from_env: TEST_DATABASE_URL, else the shared server, else (private) a server of this process's own."""

from __future__ import annotations

import os
import unittest
from typing import Any
from unittest import mock

from minitestdb import _server_from_env
from minitestdb._server_from_env import server_from_env

URL = "postgresql://app:from-env-pw@db.internal:6543/app_test"


def progress(message: str) -> None:
    """A progress callback."""


class ServerFromEnvTest(unittest.TestCase):
    def call(self, test_database_url: str | None, *, server: str | None = None, **kwargs: Any) -> tuple[object, dict[str, mock.Mock]]:
        with mock.patch.dict(os.environ), mock.patch.object(_server_from_env, "up") as up, \
                mock.patch.object(_server_from_env, "start") as start, mock.patch.object(_server_from_env.Server, "from_url") as from_url:
            os.environ.pop("TEST_DATABASE_URL", None)
            os.environ.pop("MINITESTDB_SERVER", None)
            if test_database_url is not None:
                os.environ["TEST_DATABASE_URL"] = test_database_url
            if server is not None:
                os.environ["MINITESTDB_SERVER"] = server
            result = server_from_env(**kwargs)
        return result, {"up": up, "start": start, "from_url": from_url}

    def called(self, mocks: dict[str, mock.Mock]) -> list[str]:
        return sorted(name for name, m in mocks.items() if m.called)

    def test_which_one_is_used(self) -> None:
        # (TEST_DATABASE_URL, arguments) -> the one function called
        cases = [
            (URL, {}, "from_url"),
            (f"  {URL}\n", {}, "from_url"),
            (URL, {"private": True}, "from_url"),
            (URL, {"name": "ci", "image": "postgres:16"}, "from_url"),
            (None, {}, "up"),
            ("", {}, "up"),
            ("   ", {"name": "ci"}, "up"),
            (None, {"private": True}, "start"),
            (" ", {"private": True, "name": "ignored"}, "start"),
        ]
        for url, kwargs, expected in cases:
            with self.subTest(url=url, kwargs=kwargs):
                result, mocks = self.call(url, **kwargs)
                self.assertEqual(self.called(mocks), [expected])
                self.assertIs(result, mocks[expected].return_value)
                mocks[expected].assert_called_once()

    def test_the_url_is_used_stripped_and_alone(self) -> None:
        _, mocks = self.call(f" {URL} ", name="ci", image="postgres:16", progress=progress)
        mocks["from_url"].assert_called_once_with(URL)

    def test_the_shared_server_gets_its_name_and_every_option(self) -> None:
        _, mocks = self.call(None, image="postgres:16", port=6543, progress=progress)
        mocks["up"].assert_called_once_with("default", image="postgres:16", port=6543, progress=progress)
        _, mocks = self.call("", name="ci", timeout=5.0)
        mocks["up"].assert_called_once_with("ci", timeout=5.0)

    def test_minitestdb_server_is_the_default_name(self) -> None:
        # (MINITESTDB_SERVER, name=) -> the shared server's name
        for variable, name, expected in ((None, None, "default"), ("", None, "default"), ("ci", None, "ci"), (" ci ", None, "ci"), ("ci", "mine", "mine")):
            with self.subTest(variable=variable, name=name):
                _, mocks = self.call(None, server=variable, name=name)
                mocks["up"].assert_called_once_with(expected)

    def test_a_private_server_drops_the_name(self) -> None:
        _, mocks = self.call(None, private=True, name="ci", image="postgres:16", progress=progress, timeout=5.0)
        mocks["start"].assert_called_once_with(image="postgres:16", progress=progress, timeout=5.0)
        _, mocks = self.call(None, private=True)
        mocks["start"].assert_called_once_with()

    def test_the_environment_is_read_at_call_time(self) -> None:
        with mock.patch.object(_server_from_env, "up") as up, mock.patch.object(_server_from_env.Server, "from_url") as from_url, \
                mock.patch.dict(os.environ, {"TEST_DATABASE_URL": "", "MINITESTDB_SERVER": ""}):
            server_from_env()
            os.environ["TEST_DATABASE_URL"] = URL
            server_from_env()
        up.assert_called_once_with("default")
        from_url.assert_called_once_with(URL)


if __name__ == "__main__":
    unittest.main()
