"""The unittest and pytest helpers, end to end: the examples pass, skip, fail when required; vendoring works.

The examples are copied to a temporary directory and run there in child
processes (nothing is written into the checkout).  A private server from
``minitestdb.start()`` serves the TEST_DATABASE_URL runs; the Docker runs use a
shared server of their own name (``MINITESTDB_SERVER``), removed afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import uuid
from typing import Any
from unittest import mock

import minitestdb
from minitestdb._docker import DockerCLI
from minitestdb._naming import parse_name
from tests.integration.support import NO_DOCKER, ROOT, database_and_schema_names, helpers_env, skip_or_fail, sql_dir, start_module_server, temp_dir, write_sql
from tests.unit.support import absolute_imports

EXAMPLES = os.path.join(ROOT, "examples")
SERVER: minitestdb.Server  # this module's private server, from setUpModule


def setUpModule() -> None:
    global SERVER
    SERVER = start_module_server()


def tearDownModule() -> None:
    SERVER.close()


def run(argv: list[str], cwd: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)


def leftover_clones() -> list[str]:
    """Clones and test schemas on SERVER owned by some other process (the children are gone, so: leaks)."""
    out = []
    for name in database_and_schema_names(SERVER):
        parsed = parse_name(name)
        if parsed is not None and parsed.kind in ("clone", "schema", "temp") and parsed.pid != os.getpid():
            out.append(name)
    return out


class _ExampleCase(unittest.TestCase):
    example = ""

    def setUp(self) -> None:
        self.project = os.path.join(temp_dir(self, "minitestdb-example-"), self.example)
        shutil.copytree(os.path.join(EXAMPLES, self.example), self.project, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        self.leaks_before = set(leftover_clones())

    def shared_server_env(self) -> dict[str, str]:
        """A shared server of this test's own (the lead's `default` is left alone), removed after the test."""
        name = f"testing-{uuid.uuid4().hex[:10]}"
        self.addCleanup(minitestdb.down, name)
        return helpers_env(MINITESTDB_SERVER=name)

    def assert_nothing_left(self) -> None:
        self.assertEqual(set(leftover_clones()) - self.leaks_before, set(), "databases or schemas left behind")


class UnittestExampleTest(_ExampleCase):
    example = "unittest_project"

    def unittest(self, env: dict[str, str], *args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "unittest", *(args or ("-v",))], cwd or self.project, env)

    def assert_passed(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertRegex(proc.stdout, r"\nRan 3 tests? in ", proc.stdout)
        self.assertRegex(proc.stdout, r"\nOK\n", proc.stdout)
        for name in ("test_1_sign_up_adds_a_user", "test_2_next_test_sees_only_the_seed", "test_3_duplicate_email_is_refused"):
            self.assertRegex(proc.stdout, rf"{name} \(.*\) \.\.\. ok", proc.stdout)

    def test_passes_on_a_shared_docker_server_with_isolated_tests(self) -> None:
        # test_2 runs after test_1 inserted two users: it passes only if its database is fresh.
        self.assert_passed(self.unittest(self.shared_server_env()))

    def test_passes_from_another_directory_against_test_database_url_without_docker(self) -> None:
        env = helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER)
        proc = self.unittest(env, "discover", "-v", "-s", self.project, "-t", self.project, cwd=tempfile.gettempdir())
        self.assert_passed(proc)
        self.assert_nothing_left()

    def test_without_an_engine_every_test_skips_with_one_reason(self) -> None:
        proc = self.unittest(helpers_env(MINITESTDB_DOCKER=NO_DOCKER))
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertRegex(proc.stdout, r"\nRan 0 tests in ", proc.stdout)
        self.assertIn("\nOK (skipped=1)\n", proc.stdout)
        reasons = re.findall(r"skipped [\"'](.*)[\"']$", proc.stdout, re.MULTILINE)
        self.assertEqual(len(reasons), 1, proc.stdout)
        self.assertIn("no Docker engine", reasons[0])
        self.assertIn(NO_DOCKER, reasons[0])

    def test_required_turns_the_skip_into_an_error(self) -> None:
        for variable in ("MINITESTDB_REQUIRED", "MINITESTDB_REQUIRE_DOCKER"):
            with self.subTest(variable=variable):
                proc = self.unittest(helpers_env(MINITESTDB_DOCKER=NO_DOCKER, **{variable: "1"}))
                self.assertNotEqual(proc.returncode, 0, proc.stdout)
                self.assertIn("FAILED (errors=1)", proc.stdout)
                self.assertIn(f"{variable}=1 is set", proc.stdout)
                self.assertNotIn("skipped", proc.stdout)

    def test_a_bad_url_or_a_bad_migration_is_an_error_never_a_skip(self) -> None:
        bad_url = helpers_env(TEST_DATABASE_URL=f"postgresql://postgres:secret-pw@127.0.0.1:{free_port()}/postgres", MINITESTDB_DOCKER=NO_DOCKER)
        with open(os.path.join(self.project, "migrations", "002_broken.sql"), "w") as fh:
            fh.write("create table extra (id int);\ninsert into no_such_table values (1);\n")
        bad_migration = helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER)
        for label, env, expected in (("url", bad_url, "127.0.0.1"), ("migration", bad_migration, "002_broken.sql:2")):
            with self.subTest(label):
                proc = self.unittest(env)
                self.assertNotEqual(proc.returncode, 0, proc.stdout)
                self.assertIn("FAILED (errors=1)", proc.stdout)
                self.assertNotIn("skipped", proc.stdout)
                self.assertIn(expected, proc.stdout)
                self.assertNotIn("secret-pw", proc.stdout)
        self.assert_nothing_left()


def _pytest_problem() -> str:
    for module in ("pytest", "xdist"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not importable in {sys.executable} (pip install pytest pytest-xdist)"
    return ""


def _plugin_args() -> list[str]:
    """``-p minitestdb.pytest_plugin``, unless an installed minitestdb's entry point loads it already."""
    from importlib import metadata

    eps: Any = metadata.entry_points()
    group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", ())  # a dict before Python 3.10
    return [] if any(ep.value == "minitestdb.pytest_plugin" for ep in group) else ["-p", "minitestdb.pytest_plugin"]


class PytestExampleTest(_ExampleCase):
    example = "pytest_project"

    @classmethod
    def setUpClass(cls) -> None:
        problem = _pytest_problem()
        if problem:
            skip_or_fail(problem)

    def pytest(self, env: dict[str, str], *args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pytest", *_plugin_args(), "-p", "no:cacheprovider", "-rs", *args]
        return run(argv, cwd or self.project, env)

    def test_passes_under_xdist_on_a_shared_docker_server(self) -> None:
        proc = self.pytest(self.shared_server_env(), "-n", "2")
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertRegex(proc.stdout, r"\b2 workers \[6 items\]", proc.stdout)
        self.assertRegex(proc.stdout, r"=+ 6 passed in ", proc.stdout)

    def test_passes_against_test_database_url_without_docker(self) -> None:
        proc = self.pytest(helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER), "-n", "2")
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertRegex(proc.stdout, r"=+ 6 passed in ", proc.stdout)
        self.assert_nothing_left()

    def test_without_an_engine_every_test_skips_with_one_reason(self) -> None:
        proc = self.pytest(helpers_env(MINITESTDB_DOCKER=NO_DOCKER), "-n", "2")
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertRegex(proc.stdout, r"=+ 6 skipped in ", proc.stdout)
        reasons = {m.group(1) for m in re.finditer(r"^SKIPPED \[\d+\] [^:]+:\d+: (.*)$", proc.stdout, re.MULTILINE)}
        self.assertEqual(len(reasons), 1, proc.stdout)
        self.assertIn("no Docker engine", reasons.pop())

    def test_required_turns_the_skip_into_errors(self) -> None:
        proc = self.pytest(helpers_env(MINITESTDB_DOCKER=NO_DOCKER, MINITESTDB_REQUIRED="1"), "-n", "2")
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        self.assertRegex(proc.stdout, r"=+ 6 errors in ", proc.stdout)
        self.assertIn("MINITESTDB_REQUIRED=1 is set", proc.stdout)

    def test_migrations_from_the_ini_file_or_the_command_line(self) -> None:
        project = os.path.join(self.project, "..", "plain")
        os.makedirs(os.path.join(project, "db"))
        with open(os.path.join(project, "db", "001.sql"), "w") as fh:
            fh.write("create table things (id int);\ninsert into things values (1), (2), (3);\n")
        with open(os.path.join(project, "test_things.py"), "w") as fh:
            fh.write(textwrap.dedent("""
                def test_things(minitestdb_database, minitestdb_url):
                    assert minitestdb_url == minitestdb_database.url
                    with minitestdb_database.connect() as conn:
                        assert conn.query("select count(*) from things").rows == [("3",)]
                        conn.query("delete from things")

                def test_things_again(minitestdb_database):
                    with minitestdb_database.connect() as conn:
                        assert conn.query("select count(*) from things").rows == [("3",)]
            """))
        env = helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER)
        with open(os.path.join(project, "pytest.ini"), "w") as fh:
            fh.write("[pytest]\nminitestdb_sql =\n    db/\n")
        sub = os.path.join(project, "sub")
        os.makedirs(sub)
        # The ini's paths are relative to the ini file, whatever the current directory.
        proc = self.pytest(env, "-c", os.path.join(project, "pytest.ini"), "--rootdir", project, project, cwd=sub)
        self.assertRegex(proc.stdout, r"=+ 2 passed in ", proc.stdout)
        os.remove(os.path.join(project, "pytest.ini"))
        # The command line's paths are relative to the current directory.
        proc = self.pytest(env, "--minitestdb-sql", os.path.join("..", "db", "*.sql"), project, cwd=sub)
        self.assertRegex(proc.stdout, r"=+ 2 passed in ", proc.stdout)
        self.assert_nothing_left()


class InProcessTest(unittest.TestCase):
    """DatabaseTestCase run in this process: one template for two classes, the schema mode, the guard."""

    def run_classes(self, *classes: type[unittest.TestCase]) -> unittest.TestResult:
        suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in classes)
        result = unittest.TestResult()
        with mock.patch.dict(os.environ, {"TEST_DATABASE_URL": SERVER.url}):
            suite.run(result)
        self.assertEqual((result.errors, result.failures, result.skipped), ([], [], []))
        return result

    def test_two_classes_share_one_template_and_the_schema_mode_works(self) -> None:
        from minitestdb.testing import DatabaseTestCase

        tmp = sql_dir(self, {"001.sql": f"-- {uuid.uuid4()}\ncreate table notes (body text);\ninsert into notes values ('seeded');\n"}, prefix="minitestdb-inproc-")
        seen: list[tuple[str, str, str | None]] = []

        def check(case: DatabaseTestCase) -> None:
            seen.append((type(case).template.name, case.database.name, case.database.schema))
            with case.database.connect() as conn:
                case.assertEqual(conn.query("select count(*) from notes").rows, [("1",)])
                conn.query("insert into notes values ('mine')")

        # A module of their own: a nested suite.run() tears down the module of the classes it ran.
        body: dict[str, object] = {"test_a": check, "test_b": check, "__module__": "_minitestdb_in_process"}
        first = type("First", (DatabaseTestCase,), {"sql": [os.path.join(tmp, "001.sql")], "pool": 0, **body})
        second = type("Second", (DatabaseTestCase,), {"sql": [os.path.join(tmp, "*.sql")], "pool": 0, **body})
        schemas = type("Schemas", (DatabaseTestCase,), {"sql": [tmp], "schema_mode": True, **body})
        self.assertEqual(self.run_classes(first, second, schemas).testsRun, 6)
        self.assertEqual(len({template for template, _, _ in seen}), 1, seen)
        self.assertEqual(len({name for _, name, _ in seen}), 6, "4 clones and 2 schemas")
        schema_names = [schema for _, _, schema in seen if schema]
        self.assertEqual(len(set(schema_names)), 2)
        self.assertTrue(all(parse_name(s) is not None and parse_name(s).kind == "schema" for s in schema_names))  # type: ignore[union-attr]
        # Clones are dropped by the template's worker while the next test runs: wait for it, as exit does.
        for case in (first, second, schemas):
            case.template.flush()
        names = database_and_schema_names(SERVER)
        self.assertFalse({name for _, name, schema in seen if not schema} & names, "clones dropped")
        self.assertFalse(set(schema_names) & names, "schemas dropped")


FAILING_PYTEST = """
def test_url_is_wrong(minitestdb_url, minitestdb_database):
    with minitestdb_database.connect() as conn:
        conn.query("insert into things values (42)")
    print("the url:", minitestdb_url)
    assert minitestdb_url == "postgresql://nowhere"

def test_passes(minitestdb_database):
    pass
"""

FAILING_UNITTEST = """
from minitestdb.testing import DatabaseTestCase

class UsersTest(DatabaseTestCase):
    sql = ["db"]

    def test_url_is_wrong(self):
        with self.database.connect() as conn:
            conn.query("insert into things values (42)")
        self.assertEqual(str(self.database_url), "postgresql://nowhere", f"the url {self.database_url}")

    def test_passes(self):
        pass
"""


def kept_on(server: minitestdb.Server) -> dict[str, str]:
    """The kept databases on *server* and their comments."""
    with server.connect() as conn:
        rows = conn.query("select datname, coalesce(shobj_description(oid, 'pg_database'), '') from pg_database").rows
    return {name: comment or "" for name, comment in rows if name and getattr(parse_name(name), "kind", "") == "kept"}


def table_rows(server: minitestdb.Server, dbname: str) -> list[tuple[str | None, ...]]:
    with server.connect(dbname) as conn:
        return conn.query("select id from things").rows


def assert_no_piece_of(password: str, output: str) -> None:
    """Not the password, nor a 12-character piece of it (unittest's diff cuts long strings short: "<start of it>[76 chars]...")."""
    for start in range(len(password) - 11):
        if password[start : start + 12] in output:
            raise AssertionError(f"a piece of the password ({start}:{start + 12}) is in the report:\n{output}")


class KeepFailedTest(_ExampleCase):
    """A failed test's database is kept under a name that shows it, the report says so in one line, and no report holds the password."""

    example = "unittest_project"

    def setUp(self) -> None:
        super().setUp()
        write_sql(os.path.join(self.project, "db"), {"001.sql": f"-- {uuid.uuid4()}\ncreate table things (id int);\n"})

    def assert_kept_and_reported(self, output: str, server: minitestdb.Server, before: dict[str, str], test_id: str, commands: tuple[str, str, str]) -> str:
        new = {name: comment for name, comment in kept_on(server).items() if name not in before}
        self.assertEqual(len(new), 1, output)
        ((name, comment),) = new.items()
        self.addCleanup(minitestdb_drop, server, name)
        self.assertRegex(name, r"^mtdb_kept_test_url_is_wrong_[0-9]+$")
        self.assertRegex(comment, rf"^minitestdb kept at=[0-9.]+ test={re.escape(test_id)}$")
        self.assertEqual(table_rows(server, name), [("42",)])  # what the test did is there to look at
        masked = f"postgresql://{server.user}:***@{server.host}:{server.port}/{name}"
        psql, drop, end = (command.format(name=name) for command in commands)
        lines = [line for line in output.splitlines() if "minitestdb kept this test's database" in line]
        self.assertEqual(lines, [f"minitestdb kept this test's database {name} ({masked}): open it with `{psql}`, drop it with `{drop}`{end}"], output)
        assert_no_piece_of(server.password, output)
        self.assertIn(f"{server.user}:***@", output)
        return name

    def test_pytest_keeps_the_failed_tests_database_and_reports_it_without_the_password(self) -> None:
        problem = _pytest_problem()
        if problem:
            skip_or_fail(problem)
        with open(os.path.join(self.project, "test_kept.py"), "w") as fh:
            fh.write(FAILING_PYTEST)
        with open(os.path.join(self.project, "pytest.ini"), "w") as fh:
            fh.write("[pytest]\nminitestdb_sql = db/\n")
        env = self.shared_server_env()
        name = env["MINITESTDB_SERVER"]
        argv = [sys.executable, "-m", "pytest", *_plugin_args(), "-p", "no:cacheprovider", "-rA", "test_kept.py"]
        proc = run(argv, self.project, env)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        self.assertRegex(proc.stdout, r"=+ 1 failed, 1 passed in ", proc.stdout)
        server = minitestdb.attach(name)
        self.addCleanup(server.close)
        commands = (f"python -m minitestdb psql --server {name} -d {{name}}", f"python -m minitestdb drop --server {name} {{name}}", ".")
        kept = self.assert_kept_and_reported(proc.stdout, server, {}, "test_kept.py::test_url_is_wrong", commands)
        self.assertIn("-- minitestdb --", proc.stdout)  # its own section, under the failure
        self.assertIn("the url: postgresql://", proc.stdout)  # captured stdout: masked too
        # Off: by the variable, and by the option over the ini.
        for extra_env, extra_args in (({"MINITESTDB_KEEP_FAILED": "0"}, []), ({}, ["--minitestdb-keep-failed", "0"])):
            with self.subTest(env=extra_env, args=extra_args):
                proc = run([*argv, *extra_args], self.project, dict(env, **extra_env))
                self.assertRegex(proc.stdout, r"=+ 1 failed, 1 passed in ", proc.stdout)
                self.assertNotIn("minitestdb kept", proc.stdout)
                self.assertEqual(set(kept_on(server)), {kept})
                assert_no_piece_of(server.password, proc.stdout)

    def test_unittest_keeps_the_failed_tests_database_and_reports_it_without_the_password(self) -> None:
        with open(os.path.join(self.project, "test_kept.py"), "w") as fh:
            fh.write(FAILING_UNITTEST)
        before = kept_on(SERVER)
        env = helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER)
        proc = run([sys.executable, "-m", "unittest", "test_kept"], self.project, env)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        self.assertIn("FAILED (failures=1)", proc.stdout)
        commands = ("python -m minitestdb psql -d {name}", "python -m minitestdb drop {name}", " (with the same TEST_DATABASE_URL set).")
        self.assert_kept_and_reported(proc.stdout, SERVER, before, "test_kept.UsersTest.test_url_is_wrong", commands)
        self.assert_nothing_left()  # the passing test's clone is dropped


def minitestdb_drop(server: minitestdb.Server, name: str) -> None:
    with server.connect() as conn:
        conn.query(f'drop database if exists "{name}"')


BROKEN_PYTEST = """
def test_a(minitestdb_database):
    pass

def test_b(minitestdb_database):
    pass

def test_c(minitestdb_url):
    pass

def test_d(minitestdb_template):
    pass
"""

BROKEN_UNITTEST = """
from minitestdb.testing import DatabaseTestCase

class A(DatabaseTestCase):
    sql = ["db"]
    def test_a(self):
        pass

class B(A):
    pass

class C(A):
    pass

class D(A):
    pass
"""


class BrokenMigrationTest(_ExampleCase):
    """A broken migration under 4 tests: its file, line and message once, then a line per test; no minitestdb internals."""

    example = "unittest_project"

    def setUp(self) -> None:
        super().setUp()
        write_sql(os.path.join(self.project, "db"), {"001.sql": f"-- {uuid.uuid4()}\ncreate table things (id int);\n", "002_broken.sql": "select 1;\ninsert into no_such_table values (1);\n"})
        self.env = helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER)
        self.broken = os.path.join(self.project, "db", "002_broken.sql")

    def assert_once(self, output: str, max_lines: int) -> None:
        # pytest's closing summary repeats each error's message (in full when CI is set): count the reports above it.
        report = output.partition("short test summary info")[0]
        self.assertEqual(report.count(f"Migration {self.broken}:2 failed: ERROR: relation \"no_such_table\" does not exist; fix the file and run again."), 1, output)
        self.assertEqual(report.count(f"the template could not be built, {self.broken}:2 failed (reported in full for the first test that needed it)"), 3, output)
        self.assertNotIn("Traceback", output)
        self.assertNotRegex(output, r"_templates\.py|_migrations\.py|_testenv\.py", output)
        self.assertLessEqual(len(report.splitlines()), max_lines, output)
        self.assertLessEqual(len(output.splitlines()), max_lines + 10, output)  # the summary: a line or so per test
        self.assert_nothing_left()

    def test_pytest_reports_it_once(self) -> None:
        problem = _pytest_problem()
        if problem:
            skip_or_fail(problem)
        with open(os.path.join(self.project, "test_broken.py"), "w") as fh:
            fh.write(BROKEN_PYTEST)
        argv = [sys.executable, "-m", "pytest", *_plugin_args(), "-p", "no:cacheprovider", "--minitestdb-sql", "db", "test_broken.py"]
        proc = run(argv, self.project, self.env)
        self.assertRegex(proc.stdout, r"=+ 4 errors in ", proc.stdout)
        self.assert_once(proc.stdout, 30)
        verbose = run([*argv, "-v"], self.project, self.env)
        self.assertIn("_migrations.py", verbose.stdout)  # -v: the traceback, for the first test only
        self.assertEqual(verbose.stdout.partition("short test summary info")[0].count("reported in full for the first test that needed it"), 3, verbose.stdout)

    def test_unittest_reports_it_once(self) -> None:
        with open(os.path.join(self.project, "test_broken.py"), "w") as fh:
            fh.write(BROKEN_UNITTEST)
        proc = run([sys.executable, "-m", "unittest", "test_broken"], self.project, self.env)
        self.assertIn("FAILED (errors=4)", proc.stdout)
        self.assert_once(proc.stdout, 30)


class VendoringTest(unittest.TestCase):
    def test_vendored_copy_works_without_the_checkout(self) -> None:
        tmp = temp_dir(self, "minitestdb-vendor-")
        vendor = os.path.join(tmp, "myproj", "_vendor")
        shutil.copytree(os.path.join(ROOT, "minitestdb"), os.path.join(vendor, "minitestdb"), ignore=shutil.ignore_patterns("__pycache__"))
        for package in (os.path.join(tmp, "myproj"), vendor):
            with open(os.path.join(package, "__init__.py"), "w"):
                pass
        absolute = absolute_imports(os.path.join(vendor, "minitestdb"))
        self.assertEqual(absolute, [], "modules that import minitestdb absolutely")
        write_sql(os.path.join(tmp, "migrations"), {"001.sql": f"-- {uuid.uuid4()}\ncreate table t (id int);\ninsert into t values (1), (2);\n"})
        script = os.path.join(tmp, "use_vendored.py")
        with open(script, "w") as fh:
            fh.write(textwrap.dedent("""
                import json, sys
                import myproj._vendor.minitestdb as m
                from myproj._vendor.minitestdb.testing import DatabaseTestCase  # noqa: F401
                with m.start() as server:
                    template = server.template("migrations", pool=0)
                    with template.clone("vendored") as db, db.connect() as conn:
                        rows = conn.query("select count(*) from t").rows
                    container = server.container_id
                print(json.dumps({"rows": rows, "container": container,
                                  "leaked": sorted(k for k in sys.modules if k == "minitestdb" or k.startswith("minitestdb.") or k == "pytest")}))
            """))
        env = helpers_env()
        env.pop("PYTHONPATH")
        proc = run([sys.executable, script], tmp, env)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(result["rows"], [["2"]])
        self.assertEqual(result["leaked"], [], "the vendored copy imported the top-level package (or pytest)")
        self.assertIsNone(DockerCLI().inspect(result["container"]), "the private server was removed")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    unittest.main()
