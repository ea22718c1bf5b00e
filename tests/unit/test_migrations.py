"""Migration inputs and fingerprints: which files, in which order, and what changes a template."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unittest
from unittest import mock

from minitestdb import _migrations
from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError, MigrationError
from minitestdb._migrations import InputFile, digest_files, fingerprint, resolve_inputs
from tests.unit.support import doctests


class InputsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        os.makedirs(os.path.join(self.tmp, "m", "sub"))
        for rel in ("m/002_b.sql", "m/001_a.sql", "m/sub/003_c.sql", "m/notes.txt", "seed.sql"):
            with open(os.path.join(self.tmp, rel), "w") as fh:
                fh.write(f"-- {rel}\n")

    def rel(self, items: object) -> list[str]:
        return [f.relative for f in resolve_inputs(items)]  # type: ignore[arg-type]

    def test_directory_glob_file_and_list_order(self) -> None:
        m = os.path.join(self.tmp, "m")
        self.assertEqual(self.rel(m), ["001_a.sql", "002_b.sql", os.path.join("sub", "003_c.sql")])
        self.assertEqual(self.rel(os.path.join(m, "*.sql")), ["001_a.sql", "002_b.sql"])
        self.assertEqual(self.rel([os.path.join(m, "002_b.sql"), os.path.join(m, "001_a.sql")]), ["002_b.sql", "001_a.sql"])
        # A file named twice is applied once, where it first appears.
        self.assertEqual(self.rel([os.path.join(m, "001_a.sql"), m]), ["001_a.sql", "002_b.sql", os.path.join("sub", "003_c.sql")])
        self.assertEqual(resolve_inputs(None), [])

    def test_missing_inputs_are_clear_errors(self) -> None:
        for bad in (os.path.join(self.tmp, "nope.sql"), os.path.join(self.tmp, "*.nothing"), os.path.join(self.tmp, "m", "sub", "empty_dir_glob*")):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError):
                resolve_inputs(bad)

    def fp(self, sql: list[InputFile], seed: list[InputFile], *, server_version: int = 150018, role: str = "postgres") -> str:
        return fingerprint(digest_files("sql", sql) + digest_files("seed", seed), server_version=server_version, role=role)

    def test_fingerprint_follows_content_order_version_and_role(self) -> None:
        m = os.path.join(self.tmp, "m")
        sql, seed = resolve_inputs(m), resolve_inputs(os.path.join(self.tmp, "seed.sql"))
        fp = self.fp(sql, seed)
        self.assertEqual(fp, self.fp(sql, seed))
        # The same files reached from another working directory hash the same.
        here = os.getcwd()
        try:
            os.chdir(self.tmp)
            self.assertEqual(fp, self.fp(resolve_inputs("m"), seed))
        finally:
            os.chdir(here)
        variants = [
            self.fp(sql, seed, server_version=160001),
            self.fp(sql, seed, role="other"),
            self.fp(list(reversed(sql)), seed),
            self.fp(sql, []),
            # A file moved from the migrations to the seeds is another template.
            self.fp(sql[:-1], [sql[-1], *seed]),
        ]
        for variant in variants:
            self.assertNotEqual(fp, variant)
        with open(os.path.join(m, "001_a.sql"), "a") as fh:
            fh.write("select 1;\n")
        self.assertNotEqual(fp, self.fp(resolve_inputs(m), seed))

    def test_fingerprint_is_pure_over_digests(self) -> None:
        digests = [("sql", "001.sql", "0" * 64), ("seed", "seed.sql", "f" * 64)]
        self.assertEqual(fingerprint(digests, server_version=150004, role="postgres"), fingerprint(list(digests), server_version=150004, role="postgres"))
        self.assertNotEqual(fingerprint(digests, server_version=150004, role="postgres"), fingerprint(digests[:1], server_version=150004, role="postgres"))



load_tests = doctests(_migrations)



DUMP = """--
-- PostgreSQL database dump
--

\\restrict Qx9eOq2ZbV1f

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE SCHEMA test_a_1;

ALTER SCHEMA test_a_1 OWNER TO app;

CREATE TABLE test_a_1.users (id integer DEFAULT nextval('test_a_1.users_id_seq'::regclass) NOT NULL, note text);

CREATE FUNCTION test_a_1.f() RETURNS int LANGUAGE sql SET search_path TO 'test_a_1' AS $$select 1$$;

INSERT INTO test_a_1.users VALUES (1, 'test_a_12 and test_a_1x and x_test_a_1 and $test_a_1 stay');
INSERT INTO test_a_1.users VALUES (2, 'mentions "test_a_1" and test_a_1.users');

SELECT pg_catalog.setval('test_a_1.users_id_seq', 2, true);

\\unrestrict Qx9eOq2ZbV1f

"""


class SchemaScriptTest(unittest.TestCase):
    def test_the_schema_name_is_replaced_as_a_whole_word_and_the_restrict_lines_go(self) -> None:
        script = _migrations.schema_script(DUMP, "test_a_1")
        assert script is not None
        sql = script.render("test_b_2")
        self.assertNotIn("\\restrict", sql)
        self.assertNotIn("\\unrestrict", sql)
        self.assertIn("CREATE SCHEMA test_b_2;\n", sql)
        self.assertIn("ALTER SCHEMA test_b_2 OWNER TO app;", sql)
        self.assertIn("nextval('test_b_2.users_id_seq'::regclass)", sql)
        self.assertIn("SET search_path TO 'test_b_2'", sql)
        self.assertIn("'test_a_12 and test_a_1x and x_test_a_1 and $test_a_1 stay'", sql)
        self.assertIn("'mentions \"test_b_2\" and test_b_2.users'", sql)
        self.assertIn("SELECT pg_catalog.setval('test_b_2.users_id_seq', 2, true);", sql)
        self.assertTrue(sql.endswith("\n;\nRESET ALL;\n"), sql[-40:])
        self.assertEqual(sql.count("CREATE SCHEMA"), 1)
        self.assertEqual(script.render("test_a_1"), DUMP.replace("\\restrict Qx9eOq2ZbV1f\n", "").replace("\\unrestrict Qx9eOq2ZbV1f\n", "").rstrip("\n") + "\n;\nRESET ALL;\n")

    def test_a_dump_without_create_schema_gets_one(self) -> None:
        script = _migrations.schema_script("CREATE TABLE test_a_1.t (i int);\n", "test_a_1")
        assert script is not None
        self.assertEqual(script.render("test_b"), "CREATE SCHEMA test_b;\nCREATE TABLE test_b.t (i int);\n;\nRESET ALL;\n")

    def test_an_empty_schema(self) -> None:
        script = _migrations.schema_script("", "test_a_1")
        assert script is not None
        self.assertEqual(script.render("test_b"), "CREATE SCHEMA test_b;\n;\nRESET ALL;\n")

    def test_other_meta_commands_need_psql(self) -> None:
        self.assertIsNone(_migrations.schema_script("CREATE SCHEMA s;\n\\connect other\n", "s"))
        self.assertIsNone(_migrations.schema_script("\\restrict abc\n\\set ON_ERROR_STOP\n", "s"))

    def test_pg_dump_args_quote_the_name(self) -> None:
        self.assertEqual(_migrations.pg_dump_args("test_x_1"), ["--no-password", "--format=plain", "--encoding=UTF8", "--rows-per-insert=1000", '--schema="test_x_1"'])


class DumpSchemaTest(unittest.TestCase):
    endpoint = Endpoint(host="127.0.0.1", port=5433, user="u", password="pw", dbname="d", options="-c search_path=test_x")

    def run_with(self, which: str | None, results: list[object], container: str | None = "c1") -> tuple[str | BaseException, list[list[str]], list[dict[str, str]]]:
        calls: list[list[str]] = []
        envs: list[dict[str, str]] = []

        def fake_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
            calls.append(argv)
            envs.append(kwargs["env"])  # type: ignore[arg-type]
            result = results.pop(0)
            if isinstance(result, BaseException):
                raise result
            assert isinstance(result, subprocess.CompletedProcess)
            return result

        with mock.patch.object(_migrations.shutil, "which", return_value=which), mock.patch.object(_migrations.subprocess, "run", side_effect=fake_run):
            try:
                out: str | BaseException = _migrations.dump_schema(self.endpoint, "test_x", container=container, docker_binary="docker")
            except MigrationError as exc:
                out = exc
        return out, calls, envs

    def test_the_host_pg_dump_first(self) -> None:
        out, calls, envs = self.run_with("/usr/bin/pg_dump", [subprocess.CompletedProcess([], 0, b"CREATE SCHEMA test_x;\n", b"")])
        self.assertEqual(out, "CREATE SCHEMA test_x;\n")
        self.assertEqual(calls, [["/usr/bin/pg_dump", *_migrations.pg_dump_args("test_x")]])
        self.assertEqual(envs[0]["PGPASSWORD"], "pw")
        self.assertNotIn("PGOPTIONS", envs[0])  # the schema's search_path is not the dump's
        self.assertFalse(any("pw" in arg for arg in calls[0]))

    def test_a_host_pg_dump_too_old_for_the_server_gives_way_to_the_container(self) -> None:
        mismatch = subprocess.CompletedProcess([], 1, b"", b"pg_dump: error: aborting because of server version mismatch\n")
        out, calls, _ = self.run_with("/usr/bin/pg_dump", [mismatch, subprocess.CompletedProcess([], 0, b"-- dump\n", b"")])
        self.assertEqual(out, "-- dump\n")
        self.assertEqual(calls[1][:8], ["docker", "exec", "-i", "-e", "PGPASSWORD", "c1", "pg_dump", "-U"])

    def test_neither_says_why(self) -> None:
        mismatch = subprocess.CompletedProcess([], 1, b"", b"pg_dump: error: aborting because of server version mismatch\n")
        out, _, _ = self.run_with("/usr/bin/pg_dump", [mismatch, subprocess.TimeoutExpired(["docker"], 120)])
        self.assertIsInstance(out, MigrationError)
        self.assertEqual(str(out), "pg_dump: error: aborting because of server version mismatch; pg_dump did not finish within 120 s")
        out, calls, _ = self.run_with(None, [], container=None)
        self.assertIsInstance(out, MigrationError)
        self.assertEqual(calls, [])


if __name__ == "__main__":
    unittest.main()
