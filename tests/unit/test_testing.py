"""testing: DatabaseTestCase's setUpClass and setUp (the server and template mocked: no Docker), and its imports."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import types
import unittest
from typing import Any
from unittest import mock

from minitestdb import _testenv
from minitestdb._errors import DockerNotFoundError, MigrationError
from minitestdb._redact import register_secret
from minitestdb.testing import DatabaseTestCase
from tests.unit.support import without_cached_servers_or_settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NO_ENGINE = DockerNotFoundError("The docker CLI 'docker' was not found on PATH: install Docker.")


class DefiningModuleTest(unittest.TestCase):
    """``sql`` is relative to the file of the class that sets it, not to the cwd or the subclass's file."""

    def module(self, name: str, directory: str) -> str:
        module = types.ModuleType(name)
        module.__file__ = os.path.join(directory, f"{name}.py")
        self.addCleanup(sys.modules.pop, name, None)
        sys.modules[name] = module
        return name

    def setup_class_args(self, cls: type[DatabaseTestCase]) -> dict[str, Any]:
        server = object()
        with mock.patch.object(_testenv, "server", return_value=server), mock.patch.object(_testenv, "template") as template:
            cls.setUpClass()
        self.addCleanup(cls.doClassCleanups)
        self.assertIs(template.call_args.args[0], server)
        return dict(template.call_args.kwargs)

    def test_paths_follow_the_module_that_set_them(self) -> None:
        with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
            base = type("Base", (DatabaseTestCase,), {"__module__": self.module("mtdb_unit_base", first), "sql": ["migrations"], "seed": "seed.sql"})
            child = type("Child", (base,), {"__module__": self.module("mtdb_unit_child", second), "seed": ["../other/seed.sql"], "template_name": "users"})
            args = self.setup_class_args(child)
            self.assertEqual(args["sql"], [os.path.join(first, "migrations")])
            self.assertEqual(args["seed"], [os.path.normpath(os.path.join(second, "..", "other", "seed.sql"))])
            self.assertEqual((args["name"], args["pool"]), ("users", 2))
            args = self.setup_class_args(base)
            self.assertEqual(args["seed"], [os.path.join(first, "seed.sql")])
            self.assertEqual(args["name"], None)

    def test_schema_mode_turns_the_pool_off(self) -> None:
        cls = type("Schemas", (DatabaseTestCase,), {"__module__": __name__, "schema_mode": True, "pool": 5})
        self.assertEqual(self.setup_class_args(cls)["pool"], 0)

    def test_setup_without_setupclass_says_what_to_do(self) -> None:
        cls = type("NoSetUpClass", (DatabaseTestCase,), {"__module__": __name__, "test_x": lambda self: None})
        with self.assertRaisesRegex(RuntimeError, r"call super\(\)\.setUpClass\(\)"):
            cls("test_x").setUp()


class SetUpTest(unittest.TestCase):
    """Each test gets its own clone (or schema) named after the test, dropped through the guard once it has run."""

    def make_case(self, schema_mode: bool = False, body: Any = None) -> tuple[DatabaseTestCase, mock.Mock, mock.Mock]:
        cls = type("PerTest", (DatabaseTestCase,), {"__module__": __name__, "schema_mode": schema_mode, "test_signup": body or (lambda self: None)})
        template = mock.Mock()
        database = mock.Mock(url="postgresql://u:pw@127.0.0.1:5999/mtdb_x", host="127.0.0.1", port=5999, dbname="mtdb_x")
        template.clone.return_value = template.schema.return_value = database
        cls.template = template
        cls.server = mock.Mock()
        return cls("test_signup"), template, database

    def run_setup(self, schema_mode: bool) -> tuple[DatabaseTestCase, mock.Mock, mock.Mock]:
        case, template, database = self.make_case(schema_mode)
        with mock.patch.object(_testenv, "drop_own") as drop_own:
            case.setUp()
            case.doCleanups()
        drop_own.assert_not_called()  # not a cleanup: run() drops it, knowing whether the test failed
        return case, template, database

    def test_clone_per_test_with_its_attributes(self) -> None:
        case, template, database = self.run_setup(schema_mode=False)
        template.clone.assert_called_once_with("test_signup")
        template.schema.assert_not_called()
        self.assertIs(case.database, database)
        self.assertEqual(
            (case.database_url, case.database_host, case.database_port, case.database_name),
            ("postgresql://u:pw@127.0.0.1:5999/mtdb_x", "127.0.0.1", 5999, "mtdb_x"),
        )

    def test_schema_mode_makes_a_schema_instead(self) -> None:
        _case, template, _database = self.run_setup(schema_mode=True)
        template.schema.assert_called_once_with("test_signup")
        template.clone.assert_not_called()

    def run_case(self, body: Any, result: Any = None, *, schema_mode: bool = False) -> tuple[Any, DatabaseTestCase, mock.Mock, mock.Mock, mock.Mock]:
        case, _template, database = self.make_case(schema_mode, body)
        result = unittest.TestResult() if result is None else result
        with mock.patch.object(_testenv, "drop_own") as drop_own, mock.patch.object(_testenv, "keep_failed", return_value="minitestdb kept this test's database X.") as keep:
            case.run(result)
        return result, case, database, drop_own, keep

    def test_a_passing_test_is_dropped_and_its_report_says_nothing(self) -> None:
        result, _case, database, drop_own, keep = self.run_case(lambda self: None)
        self.assertTrue(result.wasSuccessful())
        keep.assert_not_called()
        drop_own.assert_called_once_with(database)

    def test_a_failure_or_an_error_is_kept_and_its_report_ends_with_the_line(self) -> None:
        def fails(self: DatabaseTestCase) -> None:
            self.fail(f"bad url {self.database_url}")

        def errs(self: DatabaseTestCase) -> None:
            raise RuntimeError("boom")

        for body, kind in ((fails, "failures"), (errs, "errors")):
            with self.subTest(kind=kind):
                result, case, database, drop_own, keep = self.run_case(body)
                keep.assert_called_once_with(database, case.server, label="test_signup", test=case.id(), bound=10)
                drop_own.assert_called_once_with(database)  # a no-op for a kept database
                (entry,) = getattr(result, kind)
                self.assertIs(entry[0], case)
                self.assertTrue(entry[1].endswith("\nminitestdb kept this test's database X.\n"), entry[1])

    def test_the_failure_text_is_redacted(self) -> None:
        register_secret("unit-testing-pw")

        def fails(self: DatabaseTestCase) -> None:
            self.fail("postgresql://u:unit-testing-pw@h/d and again unit-testing-pw")

        result, *_ = self.run_case(fails)
        self.assertNotIn("unit-testing-pw", result.failures[0][1])
        self.assertIn("postgresql://u:***@h/d and again ***", result.failures[0][1])

    def test_a_failed_subtest_counts_and_the_line_ends_its_entry(self) -> None:
        def subtests(self: DatabaseTestCase) -> None:
            with self.subTest(n=1):
                pass
            with self.subTest(n=2):
                self.fail("second")

        result, case, _database, _drop_own, keep = self.run_case(subtests)
        keep.assert_called_once()
        (entry,) = result.failures
        self.assertIs(entry[0].test_case, case)
        self.assertTrue(entry[1].endswith("this test's database X.\n"))

    def test_a_result_without_lists_gets_the_line_on_stderr(self) -> None:
        """As under pytest, which passes itself as the result: its captured stderr shows under the failure."""
        calls: list[str] = []
        bare = mock.Mock(spec=["startTest", "stopTest", "addFailure", "addError", "addSuccess", "addSkip", "addSubTest", "addDuration"])
        bare.addFailure.side_effect = lambda test, err: calls.append("failure")
        with mock.patch("sys.stderr", new_callable=io.StringIO) as stderr:
            self.run_case(lambda self: self.fail("x"), bare)
        self.assertEqual(calls, ["failure"])
        self.assertEqual(stderr.getvalue(), "minitestdb kept this test's database X.\n")

    def test_an_expected_failure_and_a_skip_are_not_kept(self) -> None:
        for body in (unittest.expectedFailure(lambda self: self.fail("x")), lambda self: self.skipTest("no")):
            result, _case, database, drop_own, keep = self.run_case(body)
            keep.assert_not_called()
            drop_own.assert_called_once_with(database)
            self.assertEqual((result.failures, result.errors), ([], []))

    def test_run_without_a_result_still_finishes_the_database(self) -> None:
        case, _template, database = self.make_case()
        with mock.patch.object(_testenv, "drop_own") as drop_own:
            result = case.run()
        self.assertTrue(result.wasSuccessful())  # type: ignore[union-attr]
        drop_own.assert_called_once_with(database)

    def test_a_migrate_command_runs_in_the_directory_of_the_class_that_sets_it(self) -> None:
        here = os.path.dirname(os.path.abspath(__file__))
        cls = type("WithMigrate", (DatabaseTestCase,), {"__module__": __name__, "migrate": ["alembic", "upgrade", "head"], "inputs": ["alembic.ini", "versions/"]})
        with mock.patch.object(_testenv, "server", return_value=object()), mock.patch.object(_testenv, "template") as template:
            cls.setUpClass()
        self.addCleanup(cls.doClassCleanups)
        kwargs = template.call_args.kwargs
        self.assertEqual((kwargs["migrate"], kwargs["cwd"]), (["alembic", "upgrade", "head"], here))
        self.assertEqual(kwargs["inputs"], [os.path.join(here, "alembic.ini"), os.path.join(here, "versions")])

    def test_a_class_that_sets_no_paths_uses_its_own_directory(self) -> None:
        cls = type("NoPaths", (DatabaseTestCase,), {"__module__": __name__})
        server = object()
        with mock.patch.object(_testenv, "server", return_value=server), mock.patch.object(_testenv, "template") as template:
            cls.setUpClass()
        self.addCleanup(cls.doClassCleanups)
        self.assertEqual(template.call_args.kwargs, {"sql": [], "seed": [], "migrate": None, "inputs": [], "cwd": None, "name": None, "pool": 2})
        self.assertIs(cls.server, server)
        self.assertIs(cls.template, template.return_value)


class BrokenMigrationTest(unittest.TestCase):
    """A template that fails: the first class's error says file, line, message and psql's output, the later classes' one line; no minitestdb frames."""

    def setUp(self) -> None:
        without_cached_servers_or_settings(self)
        patcher = mock.patch.dict(_testenv._failures, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_first_class_in_full_later_classes_in_one_line(self) -> None:
        error = MigrationError("Migration /p/002.sql:2 failed: ERROR: boom; fix the file and run again.", file="/p/002.sql", line=2, detail="psql exit code 3\npsql:/p/002.sql:2: ERROR:  boom")
        srv = mock.Mock(host="127.0.0.1", port=5999, dbname="postgres")
        srv.template.side_effect = error
        classes = [type(f"Broken{i}", (DatabaseTestCase,), {"__module__": "_mtdb_unit_broken", "test_a": lambda self: None}) for i in range(3)]
        result = unittest.TextTestResult(io.StringIO(), descriptions=True, verbosity=1)
        with mock.patch.object(_testenv, "server", return_value=srv):
            unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in classes).run(result)
        self.assertEqual([len(text.splitlines()) for _, text in result.errors], [4, 1, 1], result.errors)
        first, later = result.errors[0][1], result.errors[1][1]
        self.assertEqual(
            first.splitlines(),
            [
                "minitestdb._errors.MigrationError: Migration /p/002.sql:2 failed: ERROR: boom; fix the file and run again.",
                "    psql exit code 3",
                "    psql:/p/002.sql:2: ERROR:  boom",
                "(minitestdb's traceback: MINITESTDB_DEBUG=1)",
            ],
        )
        self.assertEqual(
            later,
            "minitestdb._testenv.EarlierTemplateFailure: the template could not be built, /p/002.sql:2 failed (reported in full for the first test that needed it); fix it and run again.\n",
        )
        srv.template.assert_called_once()

    def test_minitestdb_debug_keeps_the_traceback(self) -> None:
        srv = mock.Mock(host="127.0.0.1", port=5999, dbname="postgres")
        srv.template.side_effect = MigrationError("Migration /p/002.sql:2 failed: x; fix the file and run again.", file="/p/002.sql", line=2)
        cls = type("BrokenDebug", (DatabaseTestCase,), {"__module__": "_mtdb_unit_broken", "test_a": lambda self: None})
        result = unittest.TextTestResult(io.StringIO(), descriptions=True, verbosity=1)
        with mock.patch.object(_testenv, "server", return_value=srv), mock.patch.dict(os.environ, {"MINITESTDB_DEBUG": "1"}):
            unittest.defaultTestLoader.loadTestsFromTestCase(cls).run(result)
        self.assertIn("Traceback (most recent call last):", result.errors[0][1])
        self.assertIn("_testenv.py", result.errors[0][1])


class NoEngineTest(unittest.TestCase):
    def setUp(self) -> None:
        without_cached_servers_or_settings(self)

    def test_a_whole_class_skips_once_through_setupclass(self) -> None:
        cls = type("Skipped", (DatabaseTestCase,), {"__module__": "_mtdb_unit_skip", "test_a": lambda self: None, "test_b": lambda self: None})
        result = unittest.TestResult()
        with mock.patch.object(_testenv, "server_from_env", side_effect=NO_ENGINE):
            unittest.defaultTestLoader.loadTestsFromTestCase(cls).run(result)
        self.assertEqual((result.testsRun, len(result.skipped), result.errors), (0, 1, []))
        self.assertIn("no Docker engine", result.skipped[0][1])


class ImportsTest(unittest.TestCase):
    def test_import_minitestdb_and_testing_never_import_pytest(self) -> None:
        code = "import sys, minitestdb, minitestdb.testing; sys.exit(1 if 'pytest' in sys.modules else 0)"
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.assertEqual(subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode, 0)


if __name__ == "__main__":
    unittest.main()
