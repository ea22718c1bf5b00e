"""_admin_sql: the exact admin statements per server version, the advisory-lock key, hostile names quoted."""

from __future__ import annotations

import unittest
from unittest import mock

from minitestdb import _admin_sql, _readiness, _templates
from minitestdb._admin_sql import (
    LOCK_NAMESPACE,
    OLDEST_SUPPORTED,
    OWNER_NAMESPACE,
    PRUNE_NAMESPACE,
    advisory_lock_key,
    check_supported,
    clone_database_sql,
    copy_settings_sql,
    database_settings_sql,
    drop_database_sql,
    format_version,
    held_owner_keys_sql,
    int4,
    minitestdb_databases_sql,
    owner_lock_seen_sql,
    owner_lock_sql,
    parse_owner_keys,
    prune_claim_key,
    prune_claim_sql,
    prune_release_sql,
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


class OwnerLockTest(unittest.TestCase):
    """The owner locks and prune claims: key spaces of their own, int4 arguments, pg_locks read back as unsigned oids."""

    def test_namespaces_spell_their_use_are_int4s_and_differ_from_every_other(self) -> None:
        from minitestdb._locks import NAMED_LOCK_NAMESPACE

        self.assertEqual((OWNER_NAMESPACE.to_bytes(4, "big"), PRUNE_NAMESPACE.to_bytes(4, "big")), (b"mtow", b"mtpr"))
        spaces = {LOCK_NAMESPACE, NAMED_LOCK_NAMESPACE, OWNER_NAMESPACE, PRUNE_NAMESPACE}
        self.assertEqual(len(spaces), 4)
        for space in spaces:
            self.assertTrue(0 <= space <= INT4[1], space)  # positive: pg_locks.classid shows it as it is

    def test_int4_round_trips_what_pg_locks_shows(self) -> None:
        for key in (0, 1, 2**31 - 1, 2**31, 2**32 - 5, 2**32 - 1):
            signed = int4(key)
            self.assertTrue(INT4[0] <= signed <= INT4[1])
            self.assertEqual(signed & 0xFFFFFFFF, key)  # what pg_locks.objid shows for the int4 the lock was taken with

    def test_the_owner_lock_is_shared_and_tried_and_read_back_for_this_session(self) -> None:
        taken = owner_lock_sql(2**31)
        self.assertTrue(taken.endswith(f"pg_try_advisory_lock_shared({OWNER_NAMESPACE}, {-(2**31)})"), taken)
        for setting in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count"):
            self.assertIn(f"set_config('{setting}', ", taken)
        self.assertEqual(
            owner_lock_seen_sql(2**31),
            f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {OWNER_NAMESPACE} AND objid = {2**31} AND objsubid = 2 AND granted AND pid = pg_backend_pid()",
        )
        # Every session's, in any database: a clone's owner may use another database as its admin database.
        held = held_owner_keys_sql()
        self.assertEqual(held, f"SELECT DISTINCT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = {OWNER_NAMESPACE} AND objsubid = 2 AND granted")
        self.assertNotIn("database", held)
        self.assertEqual(parse_owner_keys([("0",), ("4294967295",), ("7",), ("7",)]), frozenset({0, 7, 2**32 - 1}))

    def test_prune_claims_differ_by_template_and_minute_and_are_released_by_the_same_key(self) -> None:
        fp, other = "ab" * 32, "cd" * 32
        keys = {prune_claim_key(f, minute) for f in (fp, other) for minute in range(1000, 1100)}
        self.assertEqual(len(keys), 200)
        self.assertTrue(all(INT4[0] <= key <= INT4[1] for key in keys))
        self.assertEqual(prune_claim_sql(fp, 1000), f"SELECT pg_try_advisory_lock({PRUNE_NAMESPACE}, {prune_claim_key(fp, 1000)})")
        self.assertEqual(prune_release_sql(fp, 1000), f"SELECT pg_advisory_unlock({PRUNE_NAMESPACE}, {prune_claim_key(fp, 1000)})")

    def test_the_databases_of_one_template_and_only_hex_fingerprints(self) -> None:
        sql = minitestdb_databases_sql("0123456789abcdef" * 4)
        self.assertIn("(d.datname LIKE 'mtdb\\_%\\_01234567\\_%' OR d.datname LIKE 'mtdb\\_tmp\\_0123456789abcdef\\_%')", sql)
        for fp in ("0123456789abcdeg", "0123", "'; drop database x; --" + "0" * 16):
            with self.subTest(fp=fp), self.assertRaises(ValueError):
                minitestdb_databases_sql(fp)


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
