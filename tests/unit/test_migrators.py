"""Migrators: what migrate= accepts, fingerprints from inputs and keys, running a command or a function, failures."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import unittest

from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError, MigrationError
from minitestdb._migrators import (
    CommandMigrator,
    FunctionMigrator,
    Migrator,
    WithExtraInputs,
    command,
    digest_inputs,
    function,
    migration_env,
    to_migrator,
)

ENDPOINT = Endpoint(host="127.0.0.1", port=5999, user="app", password="migrator-secret-123", dbname="mtdb_tmp_x")


def load_fixtures(url: str) -> None:
    """A module-level function: its identity is stable across processes."""


class Custom:
    def describe(self) -> str:
        return "custom"

    def fingerprint(self) -> str:
        return "custom-v1"

    def migrate(self, endpoint: Endpoint) -> None:
        pass


class Project(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="minitestdb-unit-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.write("migrations/001.py", "print('one')\n")
        self.write("migrations/002.py", "print('two')\n")
        self.write("alembic.ini", "[alembic]\n")

    def write(self, relative: str, text: str) -> str:
        path = os.path.join(self.tmp, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
        return path


class ToMigratorTest(Project):
    def test_what_migrate_accepts(self) -> None:
        cases = [
            (["alembic", "upgrade", "head"], CommandMigrator),
            (("python", "seed.py"), CommandMigrator),
            (load_fixtures, FunctionMigrator),
            (lambda url: None, FunctionMigrator),
        ]
        for migrate, expected in cases:
            with self.subTest(migrate=migrate):
                self.assertIsInstance(to_migrator(migrate, key="k", cwd=self.tmp), expected)  # type: ignore[arg-type]
        custom = Custom()
        self.assertIs(to_migrator(custom), custom)
        self.assertIsInstance(custom, Migrator)
        self.assertIsInstance(to_migrator(custom, key="extra"), WithExtraInputs)

    def test_what_migrate_refuses(self) -> None:
        for bad, words in (("alembic upgrade head", "shell"), (42, "argv list"), ([], "argv list"), (["ok", 3], "argv list")):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError) as ctx:
                to_migrator(bad, key="k")  # type: ignore[arg-type]
            self.assertIn(words, str(ctx.exception))


class FingerprintTest(Project):
    def fp(self, argv: list[str] | None = None, **kwargs: object) -> str:
        options: dict[str, object] = {"inputs": ["migrations/", "alembic.ini"], "cwd": self.tmp}
        options.update(kwargs)
        return command(argv or ["alembic", "upgrade", "head"], **options).fingerprint()  # type: ignore[arg-type]

    def test_neither_inputs_nor_key_is_refused_with_the_reason(self) -> None:
        for migrator in (command(["alembic", "upgrade", "head"], cwd=self.tmp), function(load_fixtures)):
            with self.subTest(migrator=migrator), self.assertRaises(ConfigurationError) as ctx:
                migrator.fingerprint()
            self.assertIn("cannot know when to rebuild", str(ctx.exception))

    def test_what_changes_the_fingerprint(self) -> None:
        base = self.fp()
        self.assertEqual(base, self.fp())
        self.assertEqual(base, self.fp(inputs=["alembic.ini", "migrations/"]), "the order of inputs does not matter")
        self.assertNotEqual(base, self.fp(argv=["alembic", "upgrade", "0002"]))
        self.assertNotEqual(base, self.fp(key="v2"))
        self.assertNotEqual(base, self.fp(inputs=["migrations/"]))
        self.write("migrations/003.py", "print('three')\n")
        with_new_file = self.fp()
        self.assertNotEqual(base, with_new_file)
        self.write("migrations/003.py", "print('three, changed')\n")
        self.assertNotEqual(with_new_file, self.fp())

    def test_caches_and_compiled_files_do_not_count(self) -> None:
        base = self.fp()
        self.write("migrations/__pycache__/001.cpython-311.pyc", "compiled")
        self.write("migrations/.DS_Store", "finder")
        self.write("migrations/.mypy_cache/x.json", "{}")
        self.assertEqual(base, self.fp())

    def test_the_same_project_elsewhere_has_the_same_fingerprint(self) -> None:
        elsewhere = tempfile.mkdtemp(prefix="minitestdb-unit-copy-")
        self.addCleanup(shutil.rmtree, elsewhere)
        shutil.copytree(self.tmp, elsewhere, dirs_exist_ok=True)
        self.assertEqual(self.fp(), self.fp(cwd=elsewhere))
        self.assertEqual(digest_inputs(["migrations"], self.tmp), digest_inputs([os.path.join(self.tmp, "migrations")], self.tmp))

    def test_a_renamed_file_is_another_template(self) -> None:
        base = self.fp()
        os.rename(os.path.join(self.tmp, "migrations/002.py"), os.path.join(self.tmp, "migrations/002_renamed.py"))
        self.assertNotEqual(base, self.fp())

    def test_missing_inputs_are_clear_errors(self) -> None:
        for bad in (["nope/"], ["*.nothing"]):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError):
                self.fp(inputs=bad)

    def test_function_identity_is_its_module_and_name(self) -> None:
        a = function(load_fixtures, key="k").fingerprint()
        self.assertEqual(a, function(load_fixtures, key="k").fingerprint())
        self.assertNotEqual(a, function(Custom().migrate, key="k").fingerprint())
        self.assertIn("load_fixtures", function(load_fixtures).describe())

    def test_extra_inputs_extend_a_migrators_fingerprint(self) -> None:
        custom = Custom()
        plain = WithExtraInputs(custom, inputs=["alembic.ini"], key=None, cwd=self.tmp).fingerprint()
        self.write("alembic.ini", "[alembic]\nscript_location = x\n")
        self.assertNotEqual(plain, WithExtraInputs(custom, inputs=["alembic.ini"], key=None, cwd=self.tmp).fingerprint())


class RunTest(Project):
    def test_the_environment_points_at_the_template_being_built(self) -> None:
        env = migration_env(ENDPOINT, {"PATH": "/bin", "PGSERVICE": "prod", "PGOPTIONS": "-c x=1", "KEEP": "1"})
        self.assertEqual(env["DATABASE_URL"], ENDPOINT.url)
        self.assertEqual(env["TEST_DATABASE_URL"], ENDPOINT.url)
        self.assertEqual((env["PGHOST"], env["PGPORT"], env["PGDATABASE"], env["PGPASSWORD"]), ("127.0.0.1", "5999", "mtdb_tmp_x", "migrator-secret-123"))
        self.assertNotIn("PGSERVICE", env)
        self.assertNotIn("PGOPTIONS", env)
        self.assertEqual(env["KEEP"], "1")

    def test_a_command_runs_in_its_directory_with_that_environment(self) -> None:
        out = os.path.join(self.tmp, "seen.json")
        script = f"import json, os; json.dump({{'cwd': os.getcwd(), 'url': os.environ['DATABASE_URL'], 'extra': os.environ['EXTRA']}}, open({out!r}, 'w'))"
        command([sys.executable, "-c", script], key="k", cwd=self.tmp, env={"EXTRA": "yes"}).migrate(ENDPOINT)
        with open(out) as fh:
            seen = json.load(fh)
        self.assertEqual(seen, {"cwd": os.path.realpath(self.tmp), "url": ENDPOINT.url, "extra": "yes"})

    def test_a_failing_command_says_which_how_and_shows_its_output_without_the_password(self) -> None:
        script = "import os, sys; print(os.environ['DATABASE_URL']); [print('line', i) for i in range(100)]; print('ERROR: relation exists', file=sys.stderr); sys.exit(3)"
        with self.assertRaises(MigrationError) as ctx:
            command([sys.executable, "-c", script], key="k").migrate(ENDPOINT)
        err = ctx.exception
        self.assertEqual(err.exit_code, 3)
        self.assertIn("failed with exit code 3: ERROR: relation exists", str(err))
        self.assertNotIn("\n", str(err))
        self.assertEqual(len(err.output.splitlines()), 40)
        self.assertNotIn("migrator-secret-123", err.output + err.full_text() + repr(err))
        self.assertIn("command", err.migrator)

    def test_a_command_that_cannot_start(self) -> None:
        with self.assertRaises(MigrationError) as ctx:
            command(["/nonexistent/migrate-tool"], key="k").migrate(ENDPOINT)
        self.assertIn("could not be started", str(ctx.exception))

    def test_a_command_past_its_timeout_is_killed_with_its_children(self) -> None:
        marker = os.path.join(self.tmp, "child.pid")
        script = f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); open({marker!r}, 'w').write(str(p.pid)); time.sleep(60)"
        began = time.monotonic()
        with self.assertRaises(MigrationError) as ctx:
            command([sys.executable, "-c", script], key="k", timeout=1.5).migrate(ENDPOINT)
        self.assertLess(time.monotonic() - began, 10)
        self.assertIn("did not finish within 1.5 s", str(ctx.exception))
        with open(marker) as fh:
            child = int(fh.read())
        for _ in range(50):
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            self.fail("the command's own child outlived the timeout")

    def test_a_function_gets_the_url_and_its_exception_is_named(self) -> None:
        seen: list[str] = []
        function(seen.append, key="k").migrate(ENDPOINT)
        self.assertEqual(seen, [ENDPOINT.url])

        def broken(url: str) -> None:
            raise KeyError("users.csv")

        with self.assertRaises(MigrationError) as ctx:
            function(broken, key="k").migrate(ENDPOINT)
        self.assertIn("broken raised KeyError", str(ctx.exception))
        self.assertIn("test_migrators.py", ctx.exception.output)
        self.assertIsNone(ctx.exception.exit_code)

    def test_ctrl_c_in_a_function_is_not_swallowed(self) -> None:
        def interrupted(url: str) -> None:
            raise KeyboardInterrupt

        with self.assertRaises(KeyboardInterrupt):
            FunctionMigrator(interrupted, key="k").migrate(ENDPOINT)


if __name__ == "__main__":
    unittest.main()
