"""_admin_sql: the exact admin statements per server version, the advisory-lock key, hostile names quoted."""

from __future__ import annotations

import unittest
from unittest import mock

from minitestdb import _admin_sql, _readiness, _templates
from minitestdb._admin_sql import (
    LOCK_NAMESPACE,
    OLDEST_SUPPORTED,
    advisory_lock_key,
    check_supported,
    clone_database_sql,
    copy_settings_sql,
    database_settings_sql,
    drop_database_sql,
    format_version,
    terminate_sessions_sql,
)
from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError
from tests.unit.support import doctests

TERMINATE = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'mtdb_c' AND pid <> pg_backend_pid()"
INT4 = (-(2**31), 2**31 - 1)


class ByVersionTest(unittest.TestCase):
    def test_drop_database(self) -> None:
        cases = [
            (120022, [TERMINATE, 'DROP DATABASE IF EXISTS "mtdb_c"']),
            (129999, [TERMINATE, 'DROP DATABASE IF EXISTS "mtdb_c"']),
            (130000, ['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)']),
            (130021, ['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)']),
            (140018, ['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)']),
            (150013, ['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)']),
            (180000, ['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)']),
        ]
        for version, expected in cases:
            with self.subTest(version=version):
                self.assertEqual(drop_database_sql("mtdb_c", version), expected)

    def test_clone_database(self) -> None:
        cases = [
            (120022, 'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x"'),
            (130021, 'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x"'),
            (140018, 'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x"'),
            (149999, 'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x"'),
            (150000, 'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x" STRATEGY FILE_COPY'),
            (150013, 'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x" STRATEGY FILE_COPY'),
            (180000, 'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x" STRATEGY FILE_COPY'),
        ]
        for version, expected in cases:
            with self.subTest(version=version):
                self.assertEqual(clone_database_sql("mtdb_c", "mtdb_tpl_x", version), expected)

    def test_terminate_sessions(self) -> None:
        self.assertEqual(terminate_sessions_sql("mtdb_c"), TERMINATE)


class SupportedVersionTest(unittest.TestCase):
    """Servers older than 13 are refused with one sentence; what is refused is decided from server_version_num alone."""

    def test_which_versions_are_supported(self) -> None:
        cases = [
            (0, True),  # the server did not say (a proxy may not): not refused
            (90624, False),
            (110022, False),
            (120000, False),
            (120022, False),
            (129999, False),
            (130000, True),
            (130016, True),
            (150018, True),
            (170011, True),
            (180006, True),
            (190000, True),  # a newer major than any tested
        ]
        self.assertEqual(OLDEST_SUPPORTED, 130000)
        for version, supported in cases:
            with self.subTest(version=version):
                if supported:
                    self.assertIsNone(check_supported(version, "127.0.0.1:5432"))  # type: ignore[func-returns-value]
                else:
                    self.assertRaises(ConfigurationError, check_supported, version, "127.0.0.1:5432")

    def test_the_sentence(self) -> None:
        cases = [
            ((120022, "127.0.0.1:55000"), "The server at 127.0.0.1:55000 runs PostgreSQL 12.22, but minitestdb supports PostgreSQL 13 and newer: use a newer image or server."),
            ((90624, "[::1]:5432"), "The server at [::1]:5432 runs PostgreSQL 9.6.24, but minitestdb supports PostgreSQL 13 and newer: use a newer image or server."),
            ((110000, ""), "The server runs PostgreSQL 11.0, but minitestdb supports PostgreSQL 13 and newer: use a newer image or server."),
        ]
        for args, expected in cases:
            with self.subTest(args=args), self.assertRaises(ConfigurationError) as ctx:
                check_supported(*args)
            self.assertEqual(str(ctx.exception), expected)

    def test_format_version(self) -> None:
        cases = [(180000, "18.0"), (180006, "18.6"), (130016, "13.16"), (100023, "10.23"), (90624, "9.6.24"), (90500, "9.5.0")]
        for version, expected in cases:
            with self.subTest(version=version):
                self.assertEqual(format_version(version), expected)


class SupportedVersionWiringTest(unittest.TestCase):
    """The check runs where a server is first met: each readiness probe, and the template code's admin connection."""

    ENDPOINT = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="versions-test-pw", dbname="postgres")

    def test_the_readiness_probe_refuses_an_old_server(self) -> None:
        for reported in ("12.22 (Debian 12.22-1.pgdg120+1)", "9.6.24", "11beta2"):
            with self.subTest(reported=reported), self.assertRaises(ConfigurationError) as ctx:
                _readiness._check_version(self.ENDPOINT, reported)
            self.assertIn("at 127.0.0.1:5999 runs PostgreSQL", str(ctx.exception))
            self.assertFalse(_readiness.is_retryable(ctx.exception))
        for reported in ("", "13.16 (Debian 13.16-0+deb11u1)", "18.6 (Debian 18.6-3)", "19devel"):
            with self.subTest(reported=reported):
                _readiness._check_version(self.ENDPOINT, reported)

    def test_templates_refuse_an_old_server(self) -> None:
        admin = _templates._Admin(self.ENDPOINT)
        conn = mock.Mock(closed=False)
        admin._conn = conn
        for reported, expected in (("18.6 (Debian 18.6-3)", 180006), ("13.16 (Debian 13.16-0+deb11u1)", 130016), ("12.22", None)):
            conn.parameters = {"server_version": reported}
            with self.subTest(reported=reported):
                if expected is None:
                    with self.assertRaises(ConfigurationError):
                        admin.server_version()
                else:
                    self.assertEqual(admin.server_version(), expected)


class DatabaseSettingsTest(unittest.TestCase):
    def test_a_template_s_settings_are_read_by_name(self) -> None:
        sql = database_settings_sql("mtdb_tpl_x'y")
        self.assertIn("FROM pg_db_role_setting", sql)
        self.assertIn("d.datname = 'mtdb_tpl_x''y'", sql)

    def test_copied_to_a_clone_as_alter_statements(self) -> None:
        for setting, expected in (
            (("", "TimeZone=Asia/Tokyo"), 'ALTER DATABASE "mtdb_c" SET "timezone" = \'Asia/Tokyo\''),
            (("", "DateStyle=ISO, DMY"), 'ALTER DATABASE "mtdb_c" SET "datestyle" = \'ISO, DMY\''),
            # A list of identifiers is stored quoted where needed and re-applied as written.
            (("", 'search_path="$user", public, "Odd Schema"'), 'ALTER DATABASE "mtdb_c" SET "search_path" = "$user", public, "Odd Schema"'),
            (("", "statement_timeout=5s"), 'ALTER DATABASE "mtdb_c" SET "statement_timeout" = \'5s\''),
            (("", "myapp.tenant=it's"), 'ALTER DATABASE "mtdb_c" SET "myapp"."tenant" = \'it\'\'s\''),
            (("app role", "work_mem=64MB"), 'ALTER ROLE "app role" IN DATABASE "mtdb_c" SET "work_mem" = \'64MB\''),
        ):
            with self.subTest(setting=setting):
                self.assertEqual(copy_settings_sql("mtdb_c", [setting]), [expected])
        self.assertEqual(copy_settings_sql("mtdb_c", []), [])


class AdvisoryLockTest(unittest.TestCase):
    def test_bounds_and_values(self) -> None:
        cases = [
            ("00000000", -(2**31)),
            ("ffffffff", 2**31 - 1),
            ("FFFFFFFF", 2**31 - 1),
            ("80000000", 0),
            ("7fffffff", -1),
            ("00000001", -(2**31) + 1),
            ("0123456789abcdef" * 4, 0x01234567 - 2**31),
            ("ffffffff" + "0" * 56, 2**31 - 1),  # only the first 32 bits count
        ]
        for fp, expected in cases:
            with self.subTest(fp=fp[:12]):
                self.assertEqual(advisory_lock_key(fp), expected)

    def test_every_key_is_an_int4(self) -> None:
        for first in "0123456789abcdef":
            for last in "0f":
                key = advisory_lock_key(first + "0" * 6 + last)
                self.assertTrue(INT4[0] <= key <= INT4[1], key)

    def test_the_namespace_spells_mtdb_and_is_an_int4(self) -> None:
        self.assertEqual(LOCK_NAMESPACE.to_bytes(4, "big"), b"mtdb")
        self.assertTrue(INT4[0] <= LOCK_NAMESPACE <= INT4[1])


class HostileNamesTest(unittest.TestCase):
    def test_identifiers_and_literals_are_quoted(self) -> None:
        hostile = 'x"; DROP DATABASE postgres; --'
        self.assertEqual(drop_database_sql(hostile, 180000), ['DROP DATABASE IF EXISTS "x""; DROP DATABASE postgres; --" WITH (FORCE)'])
        self.assertEqual(
            drop_database_sql("it's", 120000),
            [
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'it''s' AND pid <> pg_backend_pid()",
                'DROP DATABASE IF EXISTS "it\'s"',
            ],
        )
        self.assertEqual(
            terminate_sessions_sql("a\\'; select 1; --"),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = E'a\\\\''; select 1; --' AND pid <> pg_backend_pid()",
        )
        self.assertEqual(clone_database_sql('c"', 'T"pl', 150000), 'CREATE DATABASE "c""" TEMPLATE "T""pl" STRATEGY FILE_COPY')
        self.assertEqual(clone_database_sql("Ünïcode db", "tpl", 140000), 'CREATE DATABASE "Ünïcode db" TEMPLATE "tpl"')

    def test_names_sql_cannot_hold_are_refused(self) -> None:
        calls = [
            lambda: drop_database_sql("", 180000),
            lambda: drop_database_sql("a\0b", 180000),
            lambda: drop_database_sql("a\0b", 120000),
            lambda: clone_database_sql("c", "", 150000),
            lambda: clone_database_sql("c\0", "t", 150000),
            lambda: terminate_sessions_sql("a\0b"),
        ]
        for index, call in enumerate(calls):
            with self.subTest(index=index), self.assertRaises(ConfigurationError):
                call()


load_tests = doctests(_admin_sql)


if __name__ == "__main__":
    unittest.main()
