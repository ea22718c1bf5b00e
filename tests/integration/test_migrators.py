"""Templates built by migrators (a command, a function, Alembic, Django) on the real engine: built once, rebuilt on change, failures named."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import unittest

import minitestdb
from tests.integration.support import (
    ROOT,
    database_names,
    minitestdb_cli,
    root_env,
    run_workers,
    skip_or_fail,
    start_module_server,
    temp_dir,
)

SERVER: minitestdb.Server


def setUpModule() -> None:
    global SERVER
    SERVER = start_module_server()


def tearDownModule() -> None:
    SERVER.close()


# A migration written as a user would: any program that reads DATABASE_URL.
MIGRATION = """\
import os, sys
import minitestdb

with minitestdb.Server.from_url(os.environ["DATABASE_URL"]).connect() as conn:
    conn.query("create table items (id int primary key, name text not null)")
    conn.query("insert into items values (1, 'first'), (2, 'second')")
{extra}
print("migrated", os.environ["PGDATABASE"], file=sys.stderr)
"""


def write(directory: str, name: str, text: str) -> str:
    """Write a migration file; a Python one imports minitestdb from this checkout, as an installed one would."""
    path = os.path.join(directory, name)
    prefix = f"import sys; sys.path.insert(0, {ROOT!r})\n" if name.endswith(".py") else ""
    with open(path, "w") as fh:
        fh.write(prefix + textwrap.dedent(text))
    return path


class CommandMigratorTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = temp_dir(self, "minitestdb-migrate-")
        self.script = write(self.tmp, "migrate.py", MIGRATION.format(extra=""))

    def template(self, **kwargs: object) -> minitestdb.Template:
        options: dict[str, object] = {"migrate": [sys.executable, "migrate.py"], "inputs": ["migrate.py"], "cwd": self.tmp, "pool": 0}
        options.update(kwargs)
        return SERVER.template(**options)  # type: ignore[arg-type]

    def test_one_build_across_8_processes(self) -> None:
        script = textwrap.dedent("""
            import json, os, sys, minitestdb
            server = minitestdb.Server.from_url(os.environ["SERVER_URL"])
            tpl = server.template(migrate=[sys.executable, "migrate.py"], inputs=["migrate.py"], cwd=os.environ["TMP"], key="8 processes", pool=0)
            with tpl.clone() as db, db.connect() as conn:
                rows = conn.query("select count(*) from items").rows
            print(json.dumps({"built": tpl.built, "name": tpl.name, "rows": rows}))
        """)
        results = run_workers(script, 8, SERVER_URL=SERVER.url, TMP=self.tmp)
        self.assertEqual(sum(1 for r in results if r["built"]), 1, results)
        self.assertEqual(len({r["name"] for r in results}), 1)
        self.assertTrue(all(r["rows"] == [["2"]] for r in results), results)

    def test_a_changed_input_builds_a_new_template_and_the_same_inputs_find_it(self) -> None:
        first = self.template(key="change test")
        again = self.template(key="change test")
        self.assertEqual((again.name, again.built), (first.name, False))
        write(self.tmp, "migrate.py", MIGRATION.format(extra='    conn.query("insert into items values (3, \'third\')")'))
        changed = self.template(key="change test")
        self.assertNotEqual(changed.name, first.name)
        self.assertTrue(changed.built)
        with changed.clone() as db, db.connect() as conn:
            self.assertEqual(conn.query("select count(*) from items").rows, [("3",)])
        self.assertNotEqual(self.template(key="another key").name, changed.name)

    def test_a_failing_command_names_itself_leaves_nothing_and_builds_after_the_fix(self) -> None:
        write(self.tmp, "migrate.py", "import os, sys\nprint('connecting to', os.environ['DATABASE_URL'])\nprint('relation items already exists', file=sys.stderr)\nsys.exit(3)\n")
        before = database_names(SERVER)
        with self.assertRaises(minitestdb.MigrationError) as ctx:
            self.template(key="failing")
        err = ctx.exception
        self.assertEqual(err.exit_code, 3)
        self.assertIn("exit code 3", str(err))
        self.assertIn("migrate.py", str(err))
        self.assertIn("relation items already exists", str(err))
        self.assertNotIn("\n", str(err))
        self.assertIn("connecting to", err.output)
        self.assertNotIn(SERVER.password, err.output + err.full_text())
        self.assertEqual(database_names(SERVER), before, "a failed build leaves no database")
        write(self.tmp, "migrate.py", MIGRATION.format(extra=""))
        fixed = self.template(key="failing")
        self.assertTrue(fixed.built)

    def test_an_exception_in_a_function_names_it_and_leaves_nothing(self) -> None:
        calls: list[str] = []

        def load_fixtures(url: str) -> None:
            calls.append(url)
            if len(calls) == 1:
                raise RuntimeError("fixture file fixtures/users.csv is missing")
            with minitestdb.Server.from_url(url).connect() as conn:
                conn.query("create table loaded (x int)")

        before = database_names(SERVER)
        with self.assertRaises(minitestdb.MigrationError) as ctx:
            SERVER.template(migrate=load_fixtures, key="function test", pool=0)
        self.assertIn("load_fixtures", str(ctx.exception))
        self.assertIn("RuntimeError: fixture file fixtures/users.csv is missing", str(ctx.exception))
        self.assertIsNone(ctx.exception.exit_code)
        self.assertEqual(database_names(SERVER), before)
        built = SERVER.template(migrate=load_fixtures, key="function test", pool=0)
        self.assertTrue(built.built)
        self.assertTrue(calls[-1].startswith("postgresql://"))

    def test_a_migrator_without_inputs_or_key_is_refused(self) -> None:
        with self.assertRaises(minitestdb.ConfigurationError) as ctx:
            SERVER.template(migrate=[sys.executable, "migrate.py"], cwd=self.tmp)
        self.assertIn("neither inputs nor key", str(ctx.exception))
        proc = minitestdb_cli("template", "--migrate", f"{sys.executable} migrate.py", env=root_env(TEST_DATABASE_URL=SERVER.url))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("neither inputs nor key", proc.stderr)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)

    def test_sql_files_then_the_migrator_then_the_seed_files(self) -> None:
        write(self.tmp, "001_schema.sql", "create table log (step text);\n")
        write(self.tmp, "seed.sql", "insert into log values ('seed');\n")
        write(self.tmp, "migrate.py", textwrap.dedent("""
            import os, minitestdb
            with minitestdb.Server.from_url(os.environ["DATABASE_URL"]).connect() as conn:
                conn.query("insert into log values ('migrator')")
        """))
        tpl = SERVER.template(os.path.join(self.tmp, "001_schema.sql"), os.path.join(self.tmp, "seed.sql"), migrate=[sys.executable, "migrate.py"], inputs=["migrate.py"], cwd=self.tmp, pool=0)
        with tpl.clone() as db, db.connect() as conn:
            self.assertEqual(conn.query("select step from log").rows, [("migrator",), ("seed",)])

    def test_database_settings_made_by_a_migration_hold_in_every_clone(self) -> None:
        extra = (
            "    dbname = conn.query('select current_database()').rows[0][0]\n"
            "    conn.query(f'alter database \"{dbname}\" set timezone to \\'Asia/Tokyo\\'')\n"
            "    conn.query(f'alter database \"{dbname}\" set search_path to \"$user\", public, extra')\n"
        )
        write(self.tmp, "migrate.py", MIGRATION.format(extra=extra))
        tpl = self.template(key="settings", pool=1)
        self.addCleanup(tpl.close)
        for db in (tpl.clone("first"), tpl.clone("second")):  # the second one comes from the pool
            with db, db.connect() as conn:
                self.assertEqual(conn.query("show timezone").rows, [("Asia/Tokyo",)])
                self.assertEqual(conn.query("show search_path").rows, [('"$user", public, extra',)])

    def test_run_migrate_is_the_one_liner(self) -> None:
        check = "import os, minitestdb; c = minitestdb.Server.from_url(os.environ['DATABASE_URL']).connect(); print(c.query('select count(*) from items').rows[0][0])"
        proc = minitestdb_cli(
            "run", "--migrate", f"{sys.executable} migrate.py", "--inputs", "migrate.py", "--key", "run one-liner", "--", sys.executable, "-c", check,
            env=root_env(TEST_DATABASE_URL=SERVER.url), cwd=self.tmp,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), "2")


def _require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        skip_or_fail(f"the example projects need {', '.join(missing)} in this interpreter (CI installs them in its tools venv)")


def _example(name: str) -> str:
    return os.path.join(ROOT, "examples", name)


class AlembicExampleTest(unittest.TestCase):
    """examples/alembic_project: SQLAlchemy 2 + Alembic, three revisions (one reads rows), pytest and unittest."""

    def setUp(self) -> None:
        _require("alembic", "sqlalchemy", "psycopg", "pytest", "xdist")
        self.env = root_env(TEST_DATABASE_URL=SERVER.url)
        self.env["PYTHONPATH"] += os.pathsep + _example("alembic_project")

    def run_in_example(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], cwd=_example("alembic_project"), env=self.env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)

    def test_pytest_one_clone_per_test_under_xdist(self) -> None:
        proc = self.run_in_example("-m", "pytest", "-p", "minitestdb.pytest_plugin", "-n", "2", "-q")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("5 passed", proc.stdout)

    def test_the_alembic_command_when_alembic_is_not_importable_here(self) -> None:
        from minitestdb._alembic import AlembicMigrator

        class CommandOnly(AlembicMigrator):
            def migrate(self, endpoint: minitestdb.Endpoint) -> None:
                self._migrate_by_command(endpoint)  # what migrate() does when `import alembic` fails

        migrator = CommandOnly(os.path.join(_example("alembic_project"), "alembic.ini"), key="the alembic command")
        tpl = SERVER.template(migrate=migrator, pool=0)
        self.assertTrue(tpl.built, "a private server: nothing built it before")
        with tpl.clone() as db, db.connect() as conn:
            self.assertEqual(conn.query("select email, domain from customers order by id").rows, [("ada@example.com", "example.com"), ("grace@example.org", "example.org")])
            self.assertEqual(conn.query("show timezone").rows, [("UTC",)])

    def test_plain_unittest(self) -> None:
        proc = self.run_in_example("-m", "unittest", "discover", "-s", "tests", "-p", "test_shop_unittest.py", "-t", ".")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("Ran 2 tests", proc.stderr)


class DjangoExampleTest(unittest.TestCase):
    """examples/django_project: two apps with migrations, `manage.py test --parallel 2` through minitestdb.django.TestRunner."""

    def setUp(self) -> None:
        _require("django", "psycopg")
        self.env = root_env(TEST_DATABASE_URL=SERVER.url)

    def manage_test(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "test", "--parallel", "2"], cwd=_example("django_project"), env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )

    def test_two_runs_at_once_both_pass_and_leave_nothing(self) -> None:
        before = database_names(SERVER, templates=False)
        runs = [self.manage_test(), self.manage_test()]
        for run in runs:
            out, err = run.communicate(timeout=300)
            self.assertEqual(run.returncode, 0, out + err)
            self.assertIn("Ran 6 tests", err)
            self.assertIn("OK", err)
        self.assertEqual(database_names(SERVER, templates=False), before, "no clone is left")
        templates = {n for n in database_names(SERVER) if n.startswith("mtdb_tpl_django_default_")}
        self.assertEqual(len(templates), 1, templates)


if __name__ == "__main__":
    unittest.main()
