"""_templates without a server: reprs, where a clone or schema points, and the exact admin statements that
clone, drop, reset, build and prune issue (the admin connection and psql are mocked; pools stay off: no thread)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import unittest
import weakref
from typing import Any, Callable
from unittest import mock

from minitestdb import _migrations, _templates
from minitestdb._admin_sql import LOCK_NAMESPACE, advisory_lock_key, database_settings_sql, owner_lock_seen_sql, owner_lock_sql, prune_claim_sql, prune_release_sql
from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError, MigrationError, ServerError
from minitestdb._migrations import DEFAULT_MIGRATION_TIMEOUT, InputFile, digest_files, fingerprint, resolve_inputs
from minitestdb._migrators import function
from minitestdb._naming import host_tag, owner_part, parse_name, template_name
from minitestdb._templates import Database, Template, build_template, drop_database, keep_database, kept_comment, kept_over_bound, prune_databases, template_comment
from tests.unit.support import doctests

ENDPOINT = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="templates-test-pw", dbname="postgres")
TPL = "mtdb_tpl_users_0123456789abcdef01234567"
FP = "0123456789abcdef" * 4


#: The owner key the fake admin connection holds: "k10" in names.
KEY = 36


class Admin:
    """Stands in for _templates._Admin: records each statement and answers from *answer*.

    Its owner lock (*key*, None: not witnessed), the keys the server shows held
    (*held*, None: unreadable) and whether it wins a prune claim (*claims*) are
    set by each test; reading the held keys and claiming are recorded too, as
    ``<held>`` and ``<claim FP MINUTE>``, so their order shows.
    """

    def __init__(self, version: int = 150004, answer: Callable[[str], list[tuple[Any, ...]]] | None = None) -> None:
        self.endpoint = ENDPOINT
        self.version = version
        self.answer = answer or (lambda sql: [])
        self.statements: list[str] = []
        self.lock = threading.RLock()
        self.key: int | None = KEY
        self.held: frozenset[int] | None = frozenset({KEY})
        self.claims = False

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        return self.answer(sql)

    def server_version(self) -> int:
        return self.version

    def owner_key(self) -> int | None:
        return self.key

    def held_owner_keys(self) -> frozenset[int] | None:
        self.statements.append("<held>")
        return self.held

    def claim_prune(self, fp: str, minute: int) -> bool:
        self.statements.append(f"<claim {fp[:8]} {minute}>")
        return self.claims


class TemplatesTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.admin = Admin()
        # Databases made here must not be dropped at exit: a registry of this test's own.
        for patcher in (
            mock.patch.object(_templates._Admin, "of", side_effect=lambda endpoint: self.admin),
            mock.patch.object(_templates, "_LIVE", weakref.WeakSet()),
            mock.patch.object(_templates, "_Worker", side_effect=AssertionError("no worker thread in unit tests")),
            mock.patch.object(_templates, "_SCANNED", {}),
        ):
            patcher.start()
            self.addCleanup(patcher.stop)

    def template(self, *, version: int = 150004, sql: list[InputFile] | None = None, seed: list[InputFile] | None = None) -> Template:
        return Template(
            ENDPOINT, container="cid", docker_binary="docker", name=TPL, fingerprint=FP, sql=sql or [], seed=seed or [],
            built=True, server_version=version, pool_size=0, build_seconds=0.25,
        )


class ReprTest(TemplatesTestCase):
    def test_reprs_mask_the_password(self) -> None:
        template = self.template()
        self.assertEqual(repr(template), f"<minitestdb.Template {TPL} on 127.0.0.1:5999>")
        clone = Database(template, "mtdb_x_01234567_abcd1_1ab")
        self.assertEqual(repr(clone), "<minitestdb.Database postgresql://postgres:***@127.0.0.1:5999/mtdb_x_01234567_abcd1_1ab>")
        schema = Database(template, "test_x_abcd1_1ab", schema="test_x_abcd1_1ab")
        self.assertEqual(repr(schema), "<minitestdb.Database postgresql://postgres:***@127.0.0.1:5999/postgres?options=-c%20search_path%3Dtest_x_abcd1_1ab>")
        clone.drop()
        self.assertTrue(repr(clone).endswith(" dropped>"))
        for text in (repr(template), repr(clone), repr(schema)):
            self.assertNotIn("templates-test-pw", text)


class DatabaseEndpointTest(TemplatesTestCase):
    def test_a_clone_is_another_database_on_the_same_server(self) -> None:
        database = Database(self.template(), "mtdb_c")
        self.assertEqual(database.endpoint, ENDPOINT.replace(dbname="mtdb_c"))
        self.assertEqual((database.name, database.schema, database.options, database.dbname), ("mtdb_c", None, "", "mtdb_c"))
        self.assertEqual(database.url, "postgresql://postgres:templates-test-pw@127.0.0.1:5999/mtdb_c")
        self.assertEqual((database.host, database.port, database.user, database.password), ("127.0.0.1", 5999, "postgres", "templates-test-pw"))

    def test_a_schema_is_the_servers_database_with_search_path(self) -> None:
        database = Database(self.template(), "test_s", schema="test_s")
        self.assertEqual(database.endpoint, ENDPOINT.replace(options="-c search_path=test_s"))
        self.assertEqual((database.dbname, database.options), ("postgres", "-c search_path=test_s"))
        self.assertEqual(database.env["PGOPTIONS"], "-c search_path=test_s")
        self.assertEqual(database.env["PGDATABASE"], "postgres")


class DropTest(TemplatesTestCase):
    def test_drop_by_version_once(self) -> None:
        cases = [
            (120000, ["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'mtdb_c' AND pid <> pg_backend_pid()", 'DROP DATABASE IF EXISTS "mtdb_c"']),
            (180000, ['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)']),
        ]
        for version, expected in cases:
            with self.subTest(version=version):
                self.admin.statements.clear()
                database = Database(self.template(version=version), "mtdb_c")
                self.assertIn(database, _templates._LIVE)
                database.drop()
                database.drop()
                database.close()
                self.assertEqual(self.admin.statements, expected)
                self.assertTrue(database.dropped)
                self.assertNotIn(database, _templates._LIVE)

    def test_schema_drop(self) -> None:
        database = Database(self.template(), "test_s", schema="test_s")
        with database:
            pass
        self.assertEqual(self.admin.statements, ['DROP SCHEMA IF EXISTS "test_s" CASCADE'])

    def test_drop_later_hands_the_statements_to_the_worker(self) -> None:
        template = self.template()
        database = Database(template, "mtdb_c")
        with mock.patch.object(Template, "_drop_later") as later:
            database.drop(wait=False)
            database.drop(wait=False)
        later.assert_called_once_with(['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)'], "clone")
        self.assertEqual(self.admin.statements, [])

    def test_a_schema_dropped_later_goes_to_the_schema_worker(self) -> None:
        template = self.template()
        database = Database(template, "test_s", schema="test_s")
        with mock.patch.object(Template, "_drop_later") as later:
            database.drop(wait=False)
        later.assert_called_once_with(['DROP SCHEMA IF EXISTS "test_s" CASCADE'], "schema")

    def test_keep_means_not_dropped_at_exit(self) -> None:
        database = Database(self.template(), "mtdb_c")
        database.keep()
        self.assertNotIn(database, _templates._LIVE)
        self.assertFalse(database.dropped)

    def test_reset_recreates_under_the_same_name(self) -> None:
        database = Database(self.template(), "mtdb_c")
        database.reset()
        self.assertEqual(self.admin.statements, ['DROP DATABASE IF EXISTS "mtdb_c" WITH (FORCE)', f'CREATE DATABASE "mtdb_c" TEMPLATE "{TPL}" STRATEGY FILE_COPY'])
        self.assertFalse(database.dropped)
        self.assertIn(database, _templates._LIVE)

    def test_drop_database_for_the_cli(self) -> None:
        self.admin.version = 120000
        drop_database(ENDPOINT, "mtdb_c")
        self.assertEqual(self.admin.statements[-1], 'DROP DATABASE IF EXISTS "mtdb_c"')
        self.assertEqual(len(self.admin.statements), 2)


class CloneTest(TemplatesTestCase):
    def test_clone_without_a_pool(self) -> None:
        template = self.template(version=140000)
        first, second = template.clone("test_users"), template.clone("test_users")
        self.assertNotEqual(first.name, second.name)
        me = owner_part(_templates.hostname(), os.getpid(), KEY)
        for database in (first, second):
            self.assertRegex(database.name, rf"^mtdb_test_users_01234567_{me}_[0-9a-z]+$")
            self.assertEqual(parse_name(database.name), ("clone", host_tag(_templates.hostname()), os.getpid(), KEY))
            self.assertIn(database, _templates._LIVE)
        self.assertEqual(self.admin.statements, [f'CREATE DATABASE "{first.name}" TEMPLATE "{TPL}"', f'CREATE DATABASE "{second.name}" TEMPLATE "{TPL}"'])
        self.assertEqual(template._workers, {})

    def test_a_clone_carries_the_key_of_the_connection_that_creates_it_and_none_unwitnessed(self) -> None:
        template = self.template()
        pool_admin = Admin()
        pool_admin.key = 2**32 - 1  # the pool worker's connection: the same process key in real life, told apart here
        self.assertEqual(parse_name(template._new_clone_name("pool", admin=pool_admin)).key, 2**32 - 1)  # type: ignore[union-attr]
        self.admin.key = None  # the server could not show the lock: the name carries none (host-local rule)
        database = template.clone("x")
        self.assertRegex(database.name, rf"_{owner_part(_templates.hostname(), os.getpid())}_[0-9a-z]+$")
        self.assertEqual(parse_name(database.name), ("clone", host_tag(_templates.hostname()), os.getpid(), None))

    def test_keep_clone_has_no_owner_process(self) -> None:
        database = self.template().keep_clone("cli")
        parsed = parse_name(database.name)
        assert parsed is not None
        self.assertEqual((parsed.kind, parsed.pid, parsed.key), ("clone", 0, None))
        self.assertNotIn(database, _templates._LIVE)
        self.assertEqual(self.admin.statements, [f'CREATE DATABASE "{database.name}" TEMPLATE "{TPL}" STRATEGY FILE_COPY'])

    def test_schema_mode_applies_the_files_to_a_new_schema(self) -> None:
        files = [InputFile("/m/001.sql", "001.sql")], [InputFile("/m/seed.sql", "seed.sql")]
        template = self.template(sql=files[0], seed=files[1])
        with mock.patch.object(_templates, "apply_files") as apply:
            database = template.schema("test_x")
        assert database.schema is not None
        self.assertEqual(database.name, database.schema)
        self.assertEqual(parse_name(database.schema), ("schema", host_tag(_templates.hostname()), os.getpid(), KEY))
        self.assertEqual(self.admin.statements, [f'CREATE SCHEMA "{database.schema}"'])
        apply.assert_called_once_with(
            ENDPOINT.replace(options=f"-c search_path={database.schema}"), files[0] + files[1], container="cid", docker_binary="docker", timeout=DEFAULT_MIGRATION_TIMEOUT, progress=None
        )

    def test_a_failed_schema_is_dropped_again(self) -> None:
        error = MigrationError("Migration 001.sql:1 failed: boom; fix the file and run again.")
        with mock.patch.object(_templates, "apply_files", side_effect=error), self.assertRaises(MigrationError) as ctx:
            self.template().schema("x")
        self.assertIs(ctx.exception, error)
        self.assertEqual(len(self.admin.statements), 2)
        created, dropped = self.admin.statements
        self.assertEqual(dropped, created.replace("CREATE SCHEMA", "DROP SCHEMA IF EXISTS") + " CASCADE")
        self.assertEqual(list(_templates._LIVE), [])


class BuildTemplateTest(TemplatesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="minitestdb-unit-")
        self.addCleanup(shutil.rmtree, self.dir)
        for name, text in (("001_users.sql", "create table users (id int);\n"), ("002_more.sql", "alter table users add email text;\n")):
            with open(os.path.join(self.dir, name), "w") as fh:
                fh.write(text)
        files = resolve_inputs(self.dir)
        self.fp = fingerprint(digest_files("sql", files), server_version=150004, role="postgres")
        self.name = template_name("users", self.fp)
        self.lock = f"({LOCK_NAMESPACE}, {advisory_lock_key(self.fp)})"
        self.exists = f"SELECT 1 FROM pg_database WHERE datname = '{self.name}'"
        # Read once the template exists: its per-database settings, for every clone.
        self.settings = database_settings_sql(self.name)

    def build(self, exists_answers: list[bool], apply: Any = None) -> tuple[Template, mock.Mock]:
        answers = iter(exists_answers)
        self.admin.answer = lambda sql: [("1",)] if sql == self.exists and next(answers) else []
        with mock.patch.object(_templates, "apply_files", side_effect=apply) as applied:
            template = build_template(ENDPOINT, container="cid", docker_binary="docker", sql=self.dir, name="users", pool=0)
        return template, applied

    def test_a_negative_pool_is_refused_first(self) -> None:
        with self.assertRaisesRegex(ConfigurationError, "pool size must be 0"):
            build_template(ENDPOINT, container=None, docker_binary="docker", sql=self.dir, pool=-1)
        self.assertEqual(self.admin.statements, [])

    def claim(self) -> str:
        """The prune claim build_template makes last (the minute is the clock's)."""
        claim = self.admin.statements[-1]
        self.assertRegex(claim, rf"^<claim {self.fp[:8]} [0-9]+>$")
        return claim

    def test_found(self) -> None:
        template, applied = self.build([True])
        self.assertEqual(self.admin.statements, [self.exists, self.settings, self.claim()])
        applied.assert_not_called()
        self.assertEqual((template.name, template.fingerprint, template.built, template.server_version, template.pool_size), (self.name, self.fp, False, 150004, 0))
        self.assertEqual([f.relative for f in template.sql], ["001_users.sql", "002_more.sql"])

    def test_built_by_another_process_while_waiting_for_the_lock(self) -> None:
        template, applied = self.build([False, True])
        # The claim comes after the unlock: a scan never holds up the builders waiting for the lock.
        self.assertEqual(self.admin.statements, [self.exists, f"SELECT pg_advisory_lock{self.lock}", self.exists, self.settings, f"SELECT pg_advisory_unlock{self.lock}", self.claim()])
        applied.assert_not_called()
        self.assertFalse(template.built)

    def test_built_here(self) -> None:
        template, applied = self.build([False, False])
        statements = self.admin.statements
        self.assertEqual(statements[:3], [self.exists, f"SELECT pg_advisory_lock{self.lock}", self.exists])
        temp = re.fullmatch(r'CREATE DATABASE "(mtdb_tmp_[0-9a-f]{16}_[0-9a-f]{4}[0-9a-z]+_k10_[0-9a-f]{6})"', statements[3])
        assert temp is not None, statements[3]
        temp_name = temp.group(1)
        self.assertEqual(parse_name(temp_name), ("temp", host_tag(_templates.hostname()), os.getpid(), KEY))
        self.assertEqual(
            statements[4:7],
            [
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{temp_name}' AND pid <> pg_backend_pid()",
                f'ALTER DATABASE "{temp_name}" RENAME TO "{self.name}"',
                f'ALTER DATABASE "{self.name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false',
            ],
        )
        self.assertRegex(statements[7], rf"^COMMENT ON DATABASE \"{self.name}\" IS 'minitestdb template built=\d+ source=label:users'$")
        self.assertEqual(statements[8:], [self.settings, f"SELECT pg_advisory_unlock{self.lock}", self.claim()])
        applied.assert_called_once()
        self.assertEqual(applied.call_args.args[0], ENDPOINT.replace(dbname=temp_name))
        self.assertEqual([f.relative for f in applied.call_args.args[1]], ["001_users.sql", "002_more.sql"])
        self.assertEqual(applied.call_args.kwargs["container"], "cid")
        self.assertTrue(template.built)

    def test_a_failed_build_drops_the_half_built_database_and_unlocks(self) -> None:
        error = MigrationError("Migration 002_more.sql:1 failed: boom; fix the file and run again.")
        with self.assertRaises(MigrationError) as ctx:
            self.build([False, False], apply=error)
        self.assertIs(ctx.exception, error)
        statements = self.admin.statements
        temp_name = statements[3].split('"')[1]
        self.assertEqual(statements[4:], [f'DROP DATABASE IF EXISTS "{temp_name}" WITH (FORCE)', f"SELECT pg_advisory_unlock{self.lock}"])
        self.assertFalse(any("RENAME" in sql or "IS_TEMPLATE" in sql for sql in statements))


class PruneDatabasesTest(TemplatesTestCase):
    HOST = "ci-host"

    def owner(self, pid: int, host: str = HOST, key: int | None = None) -> str:
        return owner_part(host, pid, key)

    def answer(self, rows: list[tuple[Any, ...]], schemas: list[tuple[Any, ...]]) -> None:
        def answer(sql: str) -> list[tuple[Any, ...]]:
            if sql.startswith("SELECT d.datname"):
                return rows
            if sql.startswith("SELECT nspname"):
                return schemas
            if sql.startswith("SELECT count(*)"):
                return [("0",)]
            return []

        self.admin.answer = answer

    def prune(self, **kwargs: Any) -> list[str]:
        with mock.patch.object(_templates, "hostname", return_value=self.HOST), mock.patch.object(_templates, "owner_alive", side_effect=lambda pid: pid in (0, 222)):
            return prune_databases(ENDPOINT, **kwargs)

    def changes(self) -> list[str]:
        return [sql for sql in self.admin.statements if not sql.startswith(("SELECT", "<"))]

    def test_only_what_dead_owners_left_here_and_old_templates(self) -> None:
        # Names without owner keys (older versions, or an unwitnessed lock): the host-local rule.
        dead, alive, other = self.owner(111), self.owner(222), self.owner(111, "other-host")
        fp_a, fp_b, fp_c, fp_d = ("a" * 24), ("b" * 24), ("c" * 24), ("d" * 24)
        rows = [
            (f"mtdb_t_01234567_{dead}_1a", "", "0"),  # dropped
            (f"mtdb_t_01234567_{alive}_1b", "", "0"),  # owner alive
            (f"mtdb_t_01234567_{other}_1c", "", "0"),  # another host: cannot tell
            (f"mtdb_t_01234567_{dead}_1d", "", "2"),  # someone is connected
            (f"mtdb_t_01234567_{self.owner(0)}_1e", "", "0"),  # kept by the CLI: no owner process
            (f"mtdb_tmp_{'e' * 16}_{dead}_abcdef", "", "0"),  # a half-built template: dropped
            ("mtdb_users", "", "0"),  # not a minitestdb name
            (None, "", "0"),
            (f"mtdb_tpl_users_{fp_a}", "minitestdb template built=100", "0"),  # oldest of three: dropped
            (f"mtdb_tpl_users_{fp_b}", "minitestdb template built=300", "0"),
            (f"mtdb_tpl_users_{fp_c}", "minitestdb template built=200", "0"),
            (f"mtdb_tpl_orders_{fp_d}", "", "0"),  # two in this family (no comment counts as built=0): both kept
            (f"mtdb_tpl_orders_{fp_a}", "minitestdb template built=50", "0"),
            (f"mtdb_tpl_{fp_c}", "minitestdb template built=1", "0"),  # no label: the unlabelled family, one member: kept
        ]
        schemas = [(f"test_x_{dead}_1f",), (f"test_x_{alive}_1g",), (f"test_x_{other}_1h",), ("test_users",), (None,), (f"test_{dead}_1i",)]
        self.answer(rows, schemas)
        dropped = self.prune(keep_templates=2)
        self.assertEqual(
            dropped,
            [
                f"mtdb_t_01234567_{dead}_1a", f"mtdb_tmp_{'e' * 16}_{dead}_abcdef",
                f"mtdb_tpl_users_{fp_a}",
                f"test_x_{dead}_1f", f"test_{dead}_1i",
            ],
        )
        self.assertEqual(
            self.changes(),
            [
                # No FORCE: a session that arrived since the listing keeps its database.
                f'DROP DATABASE IF EXISTS "mtdb_t_01234567_{dead}_1a"',
                f"DROP DATABASE IF EXISTS \"mtdb_tmp_{'e' * 16}_{dead}_abcdef\"",
                f'ALTER DATABASE "mtdb_tpl_users_{fp_a}" WITH IS_TEMPLATE false',
                f'DROP DATABASE IF EXISTS "mtdb_tpl_users_{fp_a}"',
                f'DROP SCHEMA IF EXISTS "test_x_{dead}_1f" CASCADE',
                f'DROP SCHEMA IF EXISTS "test_{dead}_1i" CASCADE',
            ],
        )

    def test_owner_keys_decide_on_any_host_and_are_read_after_the_names(self) -> None:
        live, dead = 7, 8
        self.admin.held = frozenset({KEY, live})
        rows = [
            (f"mtdb_t_01234567_{self.owner(111, 'host-b', live)}_1a2b3c4", "", "0"),  # another host, key held: kept
            (f"mtdb_t_01234567_{self.owner(111, 'host-b', dead)}_1a2b3c5", "", "0"),  # another host, key free: dropped
            (f"mtdb_t_01234567_{self.owner(222, key=dead)}_1a2b3c6", "", "0"),  # pid 222 runs here, but the key is free: dropped
            (f"mtdb_t_01234567_{self.owner(111, key=live)}_1a2b3c7", "", "0"),  # pid 111 is gone here, but the key is held: kept
            (f"mtdb_t_01234567_{self.owner(111, 'host-b', dead)}_1a2b3c8", "", "1"),  # key free, in use: kept
            (f"mtdb_tmp_{'e' * 16}_{self.owner(111, 'host-b', dead)}_abcdef", "", "0"),  # a dead builder's half-built template
        ]
        schemas = [(f"test_x_{self.owner(111, 'host-b', live)}_1a2b3c9",), (f"test_x_{self.owner(111, 'host-b', dead)}_1a2b3ca",)]
        self.answer(rows, schemas)
        self.assertEqual(
            self.prune(),
            [rows[1][0], rows[2][0], rows[5][0], schemas[1][0]],
        )
        kinds = [sql.split(" ", 3)[0] if not sql.startswith("SELECT") else sql[:14] for sql in self.admin.statements]
        self.assertEqual(kinds[:3], ["SELECT d.datna", "SELECT nspname", "<held>"])

    def test_unreadable_locks_fall_back_to_the_host_local_rule_and_say_so_once(self) -> None:
        self.admin.held = None
        rows = [
            (f"mtdb_t_01234567_{self.owner(111, 'host-b', 8)}_1a2b3c4", "", "0"),  # another host: cannot tell
            (f"mtdb_t_01234567_{self.owner(111, key=8)}_1a2b3c5", "", "0"),  # this host, pid gone
            (f"mtdb_t_01234567_{self.owner(222, key=8)}_1a2b3c6", "", "0"),  # this host, pid alive
        ]
        self.answer(rows, [])
        stderr = io.StringIO()
        with mock.patch.object(_templates, "_SAID", set()), contextlib.redirect_stderr(stderr):
            self.assertEqual(self.prune(), [rows[1][0]])
            self.prune()
        self.assertEqual(
            stderr.getvalue(),
            "minitestdb: the server at 127.0.0.1:5999 does not show owner locks (pg_locks), so prune judges owners on this host only, by pid.\n",
        )

    def test_a_database_someone_connected_to_meanwhile_or_of_another_role_stays(self) -> None:
        self.admin.held = frozenset({KEY})
        rows = [(f"mtdb_t_01234567_{self.owner(1, 'host-b', n)}_1a2b3c{n}", "", "0") for n in (1, 2, 3)]
        schemas = [(f"test_{self.owner(1, 'host-b', 4)}_1a2b3c4",)]
        errors = {
            rows[0][0]: ServerError("database is being accessed by other users", sqlstate="55006"),
            rows[1][0]: ServerError("must be owner of database", sqlstate="42501"),
            schemas[0][0]: ServerError("must be owner of schema", sqlstate="42501"),
        }

        def answer(sql: str) -> list[tuple[Any, ...]]:
            if sql.startswith("SELECT d.datname"):
                return rows
            if sql.startswith("SELECT nspname"):
                return schemas
            for name, error in errors.items():
                if sql in (f'DROP DATABASE IF EXISTS "{name}"', f'DROP SCHEMA IF EXISTS "{name}" CASCADE'):
                    raise error
            return []

        self.admin.answer = answer
        self.assertEqual(self.prune(), [rows[2][0]])
        errors[rows[2][0]] = ServerError("disk full", sqlstate="53100")
        with self.assertRaises(ServerError):
            self.prune()

    def test_a_template_in_use_is_kept_and_keep_zero_drops_every_template(self) -> None:
        rows = [(f"mtdb_tpl_users_{'a' * 24}", "minitestdb template built=1", "0"), (f"mtdb_tpl_users_{'b' * 24}", "minitestdb template built=2", "0")]

        def answer(sql: str) -> list[tuple[Any, ...]]:
            if sql.startswith("SELECT d.datname"):
                return rows
            if sql.startswith("SELECT count(*)"):
                return [("1",)] if "'mtdb_tpl_users_" + "a" * 24 + "'" in sql else [("0",)]
            return []

        self.admin.answer = answer
        self.assertEqual(prune_databases(ENDPOINT, keep_templates=0), [f"mtdb_tpl_users_{'b' * 24}"])


class PruneClonesOfTest(TemplatesTestCase):
    """What a process that builds or finds a template drops: its dead owners' unused clones, a few, once a minute across processes."""

    NOW = 60.0 * 1000 + 5  # minute 1000

    def setUp(self) -> None:
        super().setUp()
        self.admin.claims = True
        self.admin.held = frozenset({KEY, 7})
        self.rows: list[tuple[Any, ...]] = []
        self.admin.answer = lambda sql: self.rows if sql.startswith("SELECT d.datname") else []

    def clone(self, key: int | None, n: int, host: str = "host-b", pid: int = 111) -> str:
        return f"mtdb_t_{FP[:8]}_{owner_part(host, pid, key)}_1a2b3c{n}"

    def scan(self, now: float = NOW) -> list[str]:
        with mock.patch.object(_templates, "owner_alive", side_effect=lambda pid: pid == 222):
            return _templates._prune_clones_of(self.admin, FP, now=now)  # type: ignore[arg-type]

    def test_the_claim_winner_drops_dead_unused_clones_and_half_built_builds_of_the_template(self) -> None:
        temp = f"mtdb_tmp_{FP[:16]}_{owner_part('host-b', 111, 8)}_abcdef"
        self.rows = [(self.clone(7, 1), "", "0"), (self.clone(8, 2), "", "0"), (self.clone(8, 3), "", "1"), (temp, "", "0"), (self.clone(None, 4), "", "0")]
        self.assertEqual(self.scan(), [self.clone(8, 2), temp])
        self.assertEqual(
            self.admin.statements,
            [
                f"<claim {FP[:8]} 1000>",
                _templates.minitestdb_databases_sql(FP),
                "<held>",  # after the listing
                f'DROP DATABASE IF EXISTS "{self.clone(8, 2)}"',
                f'DROP DATABASE IF EXISTS "{temp}"',
            ],
        )

    def test_once_a_minute_per_process_and_nothing_when_another_process_has_the_claim(self) -> None:
        self.rows = [(self.clone(8, 1), "", "0")]
        self.admin.claims = False
        self.assertEqual(self.scan(), [])
        self.assertEqual(self.admin.statements, [f"<claim {FP[:8]} 1000>"])
        self.admin.claims = True
        self.assertEqual(self.scan(self.NOW + 30), [])  # the same minute: not even a claim
        self.assertEqual(self.admin.statements, [f"<claim {FP[:8]} 1000>"])
        self.assertEqual(self.scan(self.NOW + 60), [self.clone(8, 1)])
        self.assertEqual(self.admin.statements[1], f"<claim {FP[:8]} 1001>")

    def test_a_batch_at_most_and_upkeep_never_fails_the_caller(self) -> None:
        self.rows = [(self.clone(8, n), "", "0") for n in range(_templates.PRUNE_BATCH + 5)]
        self.assertEqual(len(self.scan()), _templates.PRUNE_BATCH)

        def broken(sql: str) -> list[tuple[Any, ...]]:
            raise ServerError("permission denied for view pg_database", sqlstate="42501")

        self.admin.answer = broken
        self.assertEqual(self.scan(self.NOW + 60), [])


class Conn:
    """Stands in for a wire-client Connection of the real _Admin: answers the owner-lock statements from *seen*."""

    def __init__(self, seen: str | Exception = "1", claim: str = "t") -> None:
        self.seen, self.claim = seen, claim
        self.held = [(str(_templates.owner_key()),), ("7",)]
        self.statements: list[str] = []
        self.closed = False
        self.parameters = {"server_version": "15.4"}

    def query(self, sql: str) -> Any:
        self.statements.append(sql)
        if sql.startswith("SELECT count(*) FROM pg_locks"):
            if isinstance(self.seen, Exception):
                raise self.seen
            rows = [(self.seen,)]
        elif "pg_try_advisory_lock_shared" in sql:
            rows = [("", "", "", "t")]
        elif sql.startswith("SELECT pg_try_advisory_lock("):
            rows = [(self.claim,)]
        elif sql.startswith("SELECT DISTINCT objid"):
            rows = self.held
        else:
            rows = []
        return mock.Mock(rows=rows)

    def close(self) -> None:
        self.closed = True


class AdminOwnerLockTest(unittest.TestCase):
    """The real _Admin: every connection holds the owner lock before its first statement, again after a reconnect."""

    def admin(self, *conns: Conn) -> _templates._Admin:
        patcher = mock.patch.object(_templates, "connect", side_effect=list(conns))
        patcher.start()
        self.addCleanup(patcher.stop)
        said = mock.patch.object(_templates, "_SAID", set())
        said.start()
        self.addCleanup(said.stop)
        return _templates._Admin(ENDPOINT)

    def test_the_lock_comes_first_and_again_after_a_reconnect(self) -> None:
        first, second = Conn(), Conn()
        admin = self.admin(first, second)
        key = _templates.owner_key()
        admin.query("CREATE DATABASE x")
        self.assertEqual(first.statements, [owner_lock_sql(key), owner_lock_seen_sql(key), "CREATE DATABASE x"])
        self.assertEqual(admin.owner_key(), key)
        first.closed = True  # the server restarted
        admin.query("CREATE DATABASE y")
        self.assertEqual(second.statements, [owner_lock_sql(key), owner_lock_seen_sql(key), "CREATE DATABASE y"])

    def test_an_unwitnessed_lock_gives_no_key_and_says_why_once(self) -> None:
        for seen, why in (("0", "pg_locks does not show it"), (ServerError("permission denied for function pg_lock_status", sqlstate="42501"), "reading pg_locks failed")):
            with self.subTest(why=why):
                admin = self.admin(Conn(seen=seen))
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr):
                    self.assertIsNone(admin.owner_key())
                    self.assertIsNone(admin.held_owner_keys())
                self.assertIn(why, stderr.getvalue())
                self.assertEqual(stderr.getvalue().count("\n"), 1)

    def test_held_keys_include_this_processs_own_else_none(self) -> None:
        admin = self.admin(Conn())
        self.assertEqual(admin.held_owner_keys(), frozenset({_templates.owner_key(), 7}))
        conn = Conn()
        with mock.patch.object(_templates, "owner_key", return_value=5):  # a key the server does not show: its answer cannot be trusted
            admin = self.admin(conn)
            self.assertIsNone(admin.held_owner_keys())

    def test_a_claim_is_kept_an_older_one_let_go_and_a_reconnect_forgets_them(self) -> None:
        first, second = Conn(), Conn()
        admin = self.admin(first, second)
        self.assertTrue(admin.claim_prune(FP, 1000))
        self.assertTrue(admin.claim_prune(FP, 1001))
        self.assertEqual(first.statements[2:], [prune_claim_sql(FP, 1000), prune_claim_sql(FP, 1001), prune_release_sql(FP, 1000)])
        first.closed = True
        second.claim = "f"
        self.assertFalse(admin.claim_prune(FP, 1001))  # the claim died with the old session, and another process has it now
        self.assertEqual(second.statements[2:], [prune_claim_sql(FP, 1001)])


FAKE_PSQL = """\
import os, sys
args, i = sys.argv[1:], 0
while i < len(args):
    if args[i] == "-c":
        print(args[i + 1][len("\\\\echo "):] if args[i + 1].startswith("\\\\echo ") else "", flush=True)
        i += 2
    elif args[i] == "-f":
        with open(os.environ["FAKE_PSQL_LOG"], "a") as log:
            log.write(args[i + 1] + "\\n")
        if "boom" in open(args[i + 1]).read():
            sys.stderr.write("psql:%s:1: ERROR:  boom\\n" % args[i + 1])
            sys.exit(3)
        i += 2
    else:
        i += 1
"""


class ProgressTest(TemplatesTestCase):
    """build_template(progress=...) is told each file as psql comes to it, and the migrator, in order (a fake psql on the host, which echoes as psql does)."""

    def setUp(self) -> None:
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="minitestdb-unit-")
        self.addCleanup(shutil.rmtree, self.dir)
        psql = os.path.join(self.dir, "psql")
        with open(psql, "w") as fh:
            fh.write(f"#!{sys.executable}\n" + FAKE_PSQL)
        os.chmod(psql, stat.S_IRWXU)
        self.log = os.path.join(self.dir, "applied.log")
        open(self.log, "w").close()
        for patcher in (mock.patch.object(_migrations.shutil, "which", return_value=psql), mock.patch.dict(os.environ, {"FAKE_PSQL_LOG": self.log})):
            patcher.start()
            self.addCleanup(patcher.stop)
        os.makedirs(os.path.join(self.dir, "migrations"))
        for name in ("001_users.sql", "002_orders.sql", "seed.sql"):
            with open(os.path.join(self.dir, "migrations" if name[0] == "0" else "", name), "w") as fh:
                fh.write(f"-- {name}\n")
        self.messages: list[str] = []

    def progress(self, message: str) -> None:
        self.messages.append(message)

    def applied(self) -> list[str]:
        """The files the fake psql ran, in order."""
        with open(self.log) as fh:
            return [os.path.basename(line.strip()) for line in fh]

    def build(self, **kwargs: Any) -> None:
        with mock.patch.object(os, "getcwd", return_value=self.dir):
            sql, seed = os.path.join(self.dir, "migrations"), os.path.join(self.dir, "seed.sql")
            build_template(ENDPOINT, container="cid", docker_binary="docker", sql=sql, seed=seed, pool=0, progress=self.progress, **kwargs)

    def test_each_file_then_the_migrator_then_the_seeds_in_order(self) -> None:
        def migrate(url: str) -> None:
            self.progress("(migrator ran)")

        self.build(migrator=function(migrate, key="k"))
        expected_name = f"{__name__}.ProgressTest.test_each_file_then_the_migrator_then_the_seeds_in_order.<locals>.migrate"
        self.assertEqual(
            self.messages,
            ["applying migrations/001_users.sql", "applying migrations/002_orders.sql", f"running function {expected_name}", "(migrator ran)", "applying seed.sql"],
        )
        self.assertEqual(self.applied(), ["001_users.sql", "002_orders.sql", "seed.sql"])

    def test_without_a_migrator_one_psql_still_tells_each_file_and_stops_at_the_failure(self) -> None:
        with open(os.path.join(self.dir, "migrations", "002_orders.sql"), "w") as fh:
            fh.write("boom\n")
        with self.assertRaisesRegex(MigrationError, r"002_orders\.sql:1 failed: ERROR: boom"):
            self.build()
        self.assertEqual(self.messages, ["applying migrations/001_users.sql", "applying migrations/002_orders.sql"])
        self.assertEqual(self.applied(), ["001_users.sql", "002_orders.sql"])

    def test_the_containers_psql_tells_each_file_before_running_it(self) -> None:
        ran: list[str] = []
        with mock.patch.object(_migrations.shutil, "which", return_value=None), mock.patch.object(_migrations, "_run", side_effect=lambda *a, **k: ran.append(os.path.basename(k["stdin_name"]))):
            self.build()
        self.assertEqual(self.messages, ["applying migrations/001_users.sql", "applying migrations/002_orders.sql", "applying seed.sql"])
        self.assertEqual(ran, ["001_users.sql", "002_orders.sql", "seed.sql"])

    def test_nothing_is_told_when_the_template_exists(self) -> None:
        self.admin.answer = lambda sql: [("1",)] if sql.startswith("SELECT 1 FROM pg_database") else []
        self.build()
        self.assertEqual(self.messages, [])


class SourceCommentTest(TemplatesTestCase):
    def test_an_unlabelled_template_records_the_directory_of_its_inputs(self) -> None:
        tmp = tempfile.mkdtemp(prefix="minitestdb-unit-")
        self.addCleanup(shutil.rmtree, tmp)
        os.makedirs(os.path.join(tmp, "db"))
        for name in ("db/001.sql", "seed.sql"):
            with open(os.path.join(tmp, name), "w") as fh:
                fh.write("select 1;\n")
        with mock.patch.object(_templates, "apply_files"):
            build_template(ENDPOINT, container=None, docker_binary="docker", sql=os.path.join(tmp, "db"), seed=os.path.join(tmp, "seed.sql"), pool=0)
        comments = [sql for sql in self.admin.statements if sql.startswith("COMMENT")]
        self.assertEqual(len(comments), 1)
        self.assertRegex(comments[0], rf"IS 'minitestdb template built=\d+ source=dir:{re.escape(tmp)}'$")


def kept_rows(count: int, *, start: float = 1000.0, busy: frozenset[str] = frozenset()) -> list[tuple[Any, ...]]:
    """(name, comment, oid, sessions) rows of *count* kept databases, the later ones newer."""
    return [(f"mtdb_kept_test_{i}_1", kept_comment(f"t.py::test_{i}", start + i), str(100 + i), "1" if f"mtdb_kept_test_{i}_1" in busy else "0") for i in range(count)]


class KeepDatabaseTest(TemplatesTestCase):
    CLONE = "mtdb_test_signup_01234567_abcd1_1ab"

    def keep(self, rows: list[tuple[Any, ...]], *, bound: int = 10, fail_rename: tuple[str, ...] = (), label: str = "test_signup[pg]") -> _templates.KeptDatabase:
        failures = list(fail_rename)
        database = Database(self.template(), self.CLONE)
        self.database = database

        def answer(sql: str) -> list[tuple[Any, ...]]:
            if sql.startswith("SELECT d.datname"):
                return rows
            if sql.startswith("ALTER DATABASE") and failures:
                code = failures.pop(0)
                raise ServerError(f"PostgreSQL ERROR {code}: no", sqlstate=code)
            return []

        self.admin.answer = answer
        with mock.patch.object(_templates.time, "sleep"):
            return keep_database(database, label=label, test="tests/test_x.py::test_signup[pg]", bound=bound, now=5000.5)

    def test_renamed_after_its_sessions_end_commented_and_never_dropped_at_exit(self) -> None:
        rows = [("mtdb_kept_test_signup_pg_2", kept_comment("x", 1.0), "7", "0")]
        kept = self.keep(rows)
        self.assertEqual(kept, ("mtdb_kept_test_signup_pg_3", "postgresql://postgres:***@127.0.0.1:5999/mtdb_kept_test_signup_pg_3", (), ()))
        changes = [sql for sql in self.admin.statements if not sql.startswith("SELECT d.datname")]
        self.assertEqual(
            changes,
            [
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.CLONE}' AND pid <> pg_backend_pid()",
                f'ALTER DATABASE "{self.CLONE}" RENAME TO "mtdb_kept_test_signup_pg_3"',
                "COMMENT ON DATABASE \"mtdb_kept_test_signup_pg_3\" IS 'minitestdb kept at=5000.500 test=tests/test_x.py::test_signup[pg]'",
            ],
        )
        self.assertEqual((self.database.name, self.database.dbname, self.database.kept, self.database.dropped), ("mtdb_kept_test_signup_pg_3", "mtdb_kept_test_signup_pg_3", True, False))
        self.assertNotIn(self.database, _templates._LIVE)
        self.assertTrue(repr(self.database).endswith("/mtdb_kept_test_signup_pg_3 kept>"))

    def test_a_name_taken_meanwhile_takes_the_next_number_and_a_returning_session_is_ended_again(self) -> None:
        kept = self.keep([], fail_rename=("42P04", "55006"))
        self.assertEqual(kept.name, "mtdb_kept_test_signup_pg_2")
        renames = [sql for sql in self.admin.statements if sql.startswith("ALTER")]
        self.assertEqual([sql.rsplit(" ", 1)[1] for sql in renames], ['"mtdb_kept_test_signup_pg_1"', '"mtdb_kept_test_signup_pg_2"', '"mtdb_kept_test_signup_pg_2"'])
        self.assertEqual(sum(sql.startswith("SELECT pg_terminate_backend") for sql in self.admin.statements), 3)

    def test_another_server_error_is_raised(self) -> None:
        with self.assertRaises(ServerError):
            self.keep([], fail_rename=("42501",))
        self.assertFalse(self.database.kept)
        self.assertIn(self.database, _templates._LIVE)

    def test_thirty_kept_leave_the_bound_the_oldest_dropped_one_in_use_left(self) -> None:
        rows = kept_rows(30, busy=frozenset({"mtdb_kept_test_0_1"}))
        kept = self.keep(rows, bound=10)
        # The new one and the 9 newest of the 30 stay; of the 21 oldest, the one in use is left.
        self.assertEqual(kept.dropped, tuple(f"mtdb_kept_test_{i}_1" for i in range(1, 21)))
        self.assertEqual(kept.in_use, ("mtdb_kept_test_0_1",))
        drops = [sql for sql in self.admin.statements if sql.startswith("DROP")]
        self.assertEqual(drops, [f'DROP DATABASE IF EXISTS "mtdb_kept_test_{i}_1"' for i in range(1, 21)])

    def test_the_schema_mode_keeps_nothing(self) -> None:
        database = Database(self.template(), "test_s_abcd1_1ab", schema="test_s_abcd1_1ab")
        with self.assertRaisesRegex(ConfigurationError, "schema mode"):
            keep_database(database, label="x", test="x")
        self.assertEqual(self.admin.statements, [])


class KeptOverBoundTest(unittest.TestCase):
    def test_newest_by_time_then_oid_stay(self) -> None:
        rows = [(name, comment, int(oid)) for name, comment, oid, _ in kept_rows(30)]
        self.assertEqual(kept_over_bound(rows, 10), [f"mtdb_kept_test_{i}_1" for i in range(20)])
        self.assertEqual(kept_over_bound(rows, 30), [])
        self.assertEqual(len(kept_over_bound(rows, 0)), 30)
        same_time = [("a", kept_comment("t", 1.0), 5), ("b", kept_comment("t", 1.0), 9), ("c", "no comment", 1)]
        self.assertEqual(kept_over_bound(same_time, 1), ["c", "a"])


class PruneGroupsTest(TemplatesTestCase):
    def prune(self, rows: list[tuple[Any, ...]], **kwargs: Any) -> list[str]:
        def answer(sql: str) -> list[tuple[Any, ...]]:
            if sql.startswith("SELECT d.datname"):
                return rows
            if sql.startswith("SELECT count(*)"):
                return [("0",)]
            return []

        self.admin.answer = answer
        return prune_databases(ENDPOINT, **kwargs)

    def test_unlabelled_templates_of_three_projects_are_grouped_by_source(self) -> None:
        fp = [c * 24 for c in "abcdef"]
        rows = [
            (f"mtdb_tpl_{fp[0]}", template_comment(10, "dir:/p/third"), "0"),  # the third project's only template: kept
            (f"mtdb_tpl_{fp[1]}", template_comment(20, "dir:/p/one"), "0"),
            (f"mtdb_tpl_{fp[2]}", template_comment(30, "dir:/p/two"), "0"),
            (f"mtdb_tpl_{fp[3]}", template_comment(40, "dir:/p/one"), "0"),
            (f"mtdb_tpl_{fp[4]}", template_comment(50, "dir:/p/two"), "0"),
            (f"mtdb_tpl_{fp[5]}", template_comment(60, "dir:/p/two"), "0"),  # three of project two: the oldest goes
            (f"mtdb_tpl_users_{fp[0]}", template_comment(1, "label:users"), "0"),
            (f"mtdb_tpl_users_{fp[1]}", "minitestdb template built=2", "0"),  # no source (an older version): grouped by name, alone
        ]
        self.assertEqual(self.prune(rows, keep_templates=2), [f"mtdb_tpl_{fp[2]}"])
        # keep_templates=1: one per source; the old template without a source is its own group.
        self.assertEqual(sorted(self.prune(rows, keep_templates=1)), sorted([f"mtdb_tpl_{fp[1]}", f"mtdb_tpl_{fp[2]}", f"mtdb_tpl_{fp[4]}"]))

    def test_builds_of_the_same_second_go_in_creation_order(self) -> None:
        # The rows come in oid order: the first created of two equal build times is the older, whatever the names.
        rows = [(f"mtdb_tpl_{'f' * 24}", template_comment(7, "dir:/p/one"), "0"), (f"mtdb_tpl_{'a' * 24}", template_comment(7, "dir:/p/one"), "0")]
        self.assertEqual(self.prune(rows, keep_templates=1), [f"mtdb_tpl_{'f' * 24}"])

    def test_kept_databases_stay_unless_asked_and_one_in_use_always_stays(self) -> None:
        rows = [("mtdb_kept_test_a_1", kept_comment("a", 1.0), "0"), ("mtdb_kept_test_b_1", kept_comment("b", 2.0), "1"), ("mtdb_kept_nope", "", "0")]
        self.assertEqual(self.prune(rows), [])
        self.assertEqual(self.prune(rows, kept=True), ["mtdb_kept_test_a_1"])
        self.assertIn('DROP DATABASE IF EXISTS "mtdb_kept_test_a_1"', self.admin.statements)


load_tests = doctests(_templates)


if __name__ == "__main__":
    unittest.main()
