"""_env: every variable minitestdb reads, read from plain mappings (os.environ only for the default)."""

from __future__ import annotations

import os
import re
import unittest
from unittest import mock

from minitestdb import _env
from minitestdb._container import DEFAULT_IMAGE
from minitestdb._env import REQUIRED_VARIABLES, read_env
from minitestdb._errors import ConfigurationError
from tests.unit.support import doctests


def fields(environ: dict[str, str]) -> tuple[str, str, str, str, str]:
    env = read_env(environ)
    return (env.test_database_url, env.explicit_image, env.docker, env.server, env.required_by)


class ReadEnvTest(unittest.TestCase):
    def test_defaults_blanks_and_stripping(self) -> None:
        # environ -> (test_database_url, explicit_image, docker, server, required_by)
        cases = [
            ({}, ("", "", "docker", "default", "")),
            (
                {"TEST_DATABASE_URL": "", "MINITESTDB_IMAGE": "", "MINITESTDB_DOCKER": "", "MINITESTDB_SERVER": ""},
                ("", "", "docker", "default", ""),
            ),
            (
                {"TEST_DATABASE_URL": " \t", "MINITESTDB_IMAGE": "  ", "MINITESTDB_DOCKER": " ", "MINITESTDB_SERVER": "\n"},
                ("", "", "docker", "default", ""),
            ),
            (
                {"TEST_DATABASE_URL": " postgresql://u@h/d\n", "MINITESTDB_IMAGE": " postgres:16 ", "MINITESTDB_DOCKER": " podman ", "MINITESTDB_SERVER": " ci "},
                ("postgresql://u@h/d", "postgres:16", "podman", "ci", ""),
            ),
            ({"MINITESTDB_DOCKER": "/usr/local/bin/docker"}, ("", "", "/usr/local/bin/docker", "default", "")),
            ({"UNRELATED": "1", "PGHOST": "elsewhere"}, ("", "", "docker", "default", "")),
        ]
        for environ, expected in cases:
            with self.subTest(environ=environ):
                self.assertEqual(fields(environ), expected)

    def test_required_spellings(self) -> None:
        for var in REQUIRED_VARIABLES:
            for value in ("1", "true", "TRUE", "True", "yes", "YES", "on", "On", " 1 ", "yes\n"):
                with self.subTest(var=var, value=value):
                    env = read_env({var: value})
                    self.assertEqual(env.required_by, var)
                    self.assertTrue(env.required)
            for value in ("", "0", "false", "no", "off", "2", "y", "t", "enabled", "1.0", "truthy"):
                with self.subTest(var=var, value=value):
                    env = read_env({var: value})
                    self.assertEqual(env.required_by, "")
                    self.assertFalse(env.required)

    def test_which_variable_is_named(self) -> None:
        cases = [
            ({"MINITESTDB_REQUIRED": "1", "MINITESTDB_REQUIRE_DOCKER": "1"}, "MINITESTDB_REQUIRED"),
            ({"MINITESTDB_REQUIRED": "0", "MINITESTDB_REQUIRE_DOCKER": "on"}, "MINITESTDB_REQUIRE_DOCKER"),
            ({"MINITESTDB_REQUIRED": "yes", "MINITESTDB_REQUIRE_DOCKER": "no"}, "MINITESTDB_REQUIRED"),
            ({"MINITESTDB_REQUIRED": "", "MINITESTDB_REQUIRE_DOCKER": ""}, ""),
            ({"MINITESTDB_REQUIRE": "1", "REQUIRE_DOCKER": "1"}, ""),
        ]
        for environ, expected in cases:
            with self.subTest(environ=environ):
                self.assertEqual(read_env(environ).required_by, expected)
        self.assertEqual(REQUIRED_VARIABLES, ("MINITESTDB_REQUIRED", "MINITESTDB_REQUIRE_DOCKER"))

    def test_image_is_the_explicit_one_else_the_pinned_default(self) -> None:
        self.assertEqual(DEFAULT_IMAGE, "postgres:18")
        env = read_env({})
        self.assertEqual((env.image, env.explicit_image), ("postgres:18", ""))
        env = read_env({"MINITESTDB_IMAGE": " postgres:15-alpine "})
        self.assertEqual((env.image, env.explicit_image), ("postgres:15-alpine", "postgres:15-alpine"))
        env = read_env({"MINITESTDB_IMAGE": "   "})
        self.assertEqual((env.image, env.explicit_image), ("postgres:18", ""))

    def test_key_is_what_picks_the_server(self) -> None:
        environ = {"TEST_DATABASE_URL": "postgresql://u@h/d", "MINITESTDB_SERVER": "ci", "MINITESTDB_IMAGE": "postgres:16", "MINITESTDB_DOCKER": "podman"}
        self.assertEqual(read_env(environ).key(), ("postgresql://u@h/d", "ci", "postgres:16", "podman"))
        self.assertEqual(read_env({}).key(), ("", "default", "", "docker"))
        # The default image is not in the key: an explicit "postgres:18" differs from none.
        self.assertNotEqual(read_env({"MINITESTDB_IMAGE": "postgres:18"}).key(), read_env({}).key())
        # Neither are the REQUIRED variables: they change skip or fail, not the server.
        self.assertEqual(read_env({"MINITESTDB_REQUIRED": "1"}).key(), read_env({}).key())
        # Blank and unset are the same server.
        self.assertEqual(read_env({"TEST_DATABASE_URL": " ", "MINITESTDB_SERVER": ""}).key(), read_env({}).key())

    def test_none_reads_os_environ_at_call_time(self) -> None:
        with mock.patch.dict(os.environ, {"MINITESTDB_SERVER": "from-os-environ", "MINITESTDB_REQUIRE_DOCKER": "true"}):
            env = read_env()
            self.assertEqual((env.server, env.required_by), ("from-os-environ", "MINITESTDB_REQUIRE_DOCKER"))
            os.environ["MINITESTDB_SERVER"] = "changed"
            self.assertEqual(read_env().server, "changed")
        # An explicit mapping never looks at os.environ.
        with mock.patch.dict(os.environ, {"MINITESTDB_SERVER": "ignored"}):
            self.assertEqual(read_env({}).server, "default")

    def test_keep_failed_a_bound_yes_or_no_and_a_clear_error(self) -> None:
        for value, expected in (("", None), ("  ", None), ("0", 0), ("no", 0), ("OFF", 0), ("false", 0), ("1", 1), ("30", 30), ("yes", 10), ("on", 10), ("true", 10)):
            with self.subTest(value=value):
                self.assertEqual(read_env({"MINITESTDB_KEEP_FAILED": value}).keep_failed, expected)
        self.assertIsNone(read_env({}).keep_failed)
        self.assertEqual(_env.DEFAULT_KEEP_FAILED, 10)
        for value in ("-1", "many", "1.5"):
            with self.subTest(value=value), self.assertRaisesRegex(ConfigurationError, rf"^MINITESTDB_KEEP_FAILED='{re.escape(value)}' is not understood: .*0 keeps none"):
                read_env({"MINITESTDB_KEEP_FAILED": value}).keep_failed  # noqa: B018 - the property raises

    def test_host(self) -> None:
        self.assertEqual([read_env({"MINITESTDB_HOST": v}).host for v in (" build-host ", "10.0.0.5", "", "  ")], ["build-host", "10.0.0.5", "", ""])
        self.assertEqual(read_env({}).host, "")

    def test_debug(self) -> None:
        self.assertEqual([read_env({"MINITESTDB_DEBUG": v}).debug for v in ("1", "yes", "", "0", "2")], [True, True, False, False, False])
        self.assertFalse(read_env({}).debug)

    def test_environment_has_no_other_attributes(self) -> None:
        env = read_env({})
        with self.assertRaises(AttributeError):
            env.extra = 1  # type: ignore[attr-defined]


load_tests = doctests(_env)


if __name__ == "__main__":
    unittest.main()
