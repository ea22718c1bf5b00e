"""_redact: registered secrets, URL passwords and PASSWORD= assignments are masked; nothing else is touched."""

from __future__ import annotations

import unittest
from unittest import mock

from minitestdb import _redact
from minitestdb._redact import MASK, redact, redact_argv, register_secret


class Isolated(unittest.TestCase):
    """Each test starts with no registered secret and leaves the process's registry as it was."""

    def setUp(self) -> None:
        patcher = mock.patch.object(_redact, "_secrets", set())
        patcher.start()
        self.addCleanup(patcher.stop)


class PatternTest(Isolated):
    def test_table(self) -> None:
        cases = [
            # URL passwords, any scheme
            ("postgresql://u:hunter2@127.0.0.1:5432/d", "postgresql://u:***@127.0.0.1:5432/d"),
            ("postgres://app:p%40ss%3Aw@db:1/x?sslmode=off", "postgres://app:***@db:1/x?sslmode=off"),
            ("postgresql://u:pa:ss@h/d", "postgresql://u:***@h/d"),
            ("https://bob:tok3n@example.com/path", "https://bob:***@example.com/path"),
            ("postgresql://:onlypw@h/d", "postgresql://:***@h/d"),
            ("error: postgresql://u:a@h/1 and postgresql://v:b@h/2", "error: postgresql://u:***@h/1 and postgresql://v:***@h/2"),
            # no password in the URL: unchanged
            ("postgresql://u@h:5432/d", "postgresql://u@h:5432/d"),
            ("postgresql://h:5432/d", "postgresql://h:5432/d"),
            ("postgresql://[::1]:5432/d", "postgresql://[::1]:5432/d"),
            # the help text's placeholder is left alone, a real password that starts like it is not
            ("use postgresql://USER:PASSWORD@HOST:PORT/DBNAME", "use postgresql://USER:PASSWORD@HOST:PORT/DBNAME"),
            ("postgresql://u:PASSWORD1@h/d", "postgresql://u:***@h/d"),
            ("postgresql://u:password@h/d", "postgresql://u:***@h/d"),
            # NAME=value assignments of password variables, unquoted and quoted
            ("PGPASSWORD=s3cret psql -h h", "PGPASSWORD=*** psql -h h"),
            ("POSTGRES_PASSWORD=abc", "POSTGRES_PASSWORD=***"),
            ("DB_PASSWORD=x1;next", "DB_PASSWORD=***;next"),
            ("PASSWORD=x", "PASSWORD=***"),
            ("host=h password=pw dbname=d", "host=h password=*** dbname=d"),
            ("host=h password='with space' dbname=d", "host=h password=*** dbname=d"),
            ('password="dq val", next', "password=***, next"),
            ("a=1&password=pw&b=2", "a=1&password=***&b=2"),
            ("PGPASSWORD= psql", "PGPASSWORD= psql"),
            # nothing secret: unchanged
            ("", ""),
            ("the password is not here", "the password is not here"),
            ("POSTGRES_USER=postgres POSTGRES_DB=postgres", "POSTGRES_USER=postgres POSTGRES_DB=postgres"),
            ("--env POSTGRES_PASSWORD", "--env POSTGRES_PASSWORD"),
            ("127.0.0.1:5432", "127.0.0.1:5432"),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(redact(text), expected)

    def test_mask(self) -> None:
        self.assertEqual(MASK, "***")


class RegisteredSecretTest(Isolated):
    def test_a_registered_secret_is_masked_anywhere(self) -> None:
        register_secret("c0rrect-h0rse")
        self.assertEqual(redact("auth failed for c0rrect-h0rse (c0rrect-h0rse)"), "auth failed for *** (***)")
        self.assertEqual(redact("xc0rrect-h0rsey"), "x***y")

    def test_short_or_empty_secrets_are_not_registered(self) -> None:
        for secret, registered in (("", False), ("a", False), ("pw", False), ("abc", False), ("abcd", True), ("abcde", True)):
            with self.subTest(secret=secret):
                register_secret(secret)
                self.assertEqual(secret in _redact._secrets, registered)
        self.assertEqual(redact("abc pw a b"), "abc pw a b")
        self.assertEqual(redact("xabcdx"), "x***x")

    def test_the_longest_secret_is_masked_first(self) -> None:
        register_secret("abcd")
        register_secret("abcdefgh")
        self.assertEqual(redact("abcdefgh abcd"), "*** ***")

    def test_extra_secrets_are_masked_once_without_registering(self) -> None:
        self.assertEqual(redact("token xy and zz", extra=["xy", ""]), "token *** and zz")
        self.assertEqual(redact("token xy", extra=()), "token xy")
        self.assertEqual(_redact._secrets, set())

    def test_registered_secret_inside_a_url(self) -> None:
        register_secret("hunter2hunter2")
        self.assertEqual(redact("postgresql://u:hunter2hunter2@h/d"), "postgresql://u:***@h/d")
        self.assertEqual(redact("dbname=hunter2hunter2"), "dbname=***")

    def test_a_long_secret_cut_off_by_unittests_diff_is_still_masked(self) -> None:
        secret = "a236d1363f7e69ed27c0b7635d3805d4b1e2c3d4e5f60718"
        register_secret(secret)
        left = f"AssertionError: 'postgresql://postgres:{secret[:32]}[76 chars]7711' != 'postgresql://nowhere'"
        self.assertEqual(redact(left), "AssertionError: 'postgresql://postgres:***[76 chars]7711' != 'postgresql://nowhere'")
        self.assertEqual(redact(f"'[40 chars]{secret[-20:]}@127.0.0.1:5432/db'"), "'[40 chars]***@127.0.0.1:5432/db'")
        # Whole and cut off in one text (unittest's diff shows both).
        self.assertEqual(redact(f"{secret[:32]}[76 chars] != x\n- u:{secret}@h"), "***[76 chars] != x\n- u:***@h")
        # Shorter pieces are left alone: twelve characters of a 48-digit secret are no longer telling.
        self.assertEqual(redact(f"x{secret[:11]}x {secret[-11:]}"), f"x{secret[:11]}x {secret[-11:]}")
        # Short secrets are masked whole only.
        register_secret("hunter2hunter2")
        self.assertEqual(redact("hunter2hunte"), "hunter2hunte")


class RedactArgvTest(Isolated):
    def test_table(self) -> None:
        register_secret("registered-pw-42")
        cases = [
            ([], []),
            (["docker", "ps"], ["docker", "ps"]),
            (
                ["docker", "create", "--env", "POSTGRES_PASSWORD", "--env", "POSTGRES_PASSWORD=leak", "img"],
                ["docker", "create", "--env", "POSTGRES_PASSWORD", "--env", "POSTGRES_PASSWORD=***", "img"],
            ),
            (["psql", "postgresql://u:pw@h/d", "-c", "select 1"], ["psql", "postgresql://u:***@h/d", "-c", "select 1"]),
            (["echo", "registered-pw-42"], ["echo", "***"]),
            (["", "password=x y"], ["", "password=*** y"]),
        ]
        for argv, expected in cases:
            with self.subTest(argv=argv):
                self.assertEqual(redact_argv(argv), expected)
                self.assertEqual(redact_argv(iter(argv)), expected)


if __name__ == "__main__":
    unittest.main()
