"""testing: DatabaseTestCase's setUpClass and setUp (the server and template mocked: no Docker), and its imports."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import types
import unittest
from typing import Any
from unittest import mock

from minitestdb import _testenv
from minitestdb._errors import DockerNotFoundError
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
    """Each test gets its own clone (or schema) named after the test, dropped through the guard afterwards."""

    def run_setup(self, schema_mode: bool) -> tuple[DatabaseTestCase, mock.Mock, mock.Mock, mock.Mock]:
        cls = type("PerTest", (DatabaseTestCase,), {"__module__": __name__, "schema_mode": schema_mode, "test_signup": lambda self: None})
        template = mock.Mock()
        database = mock.Mock(url="postgresql://u:pw@127.0.0.1:5999/mtdb_x", host="127.0.0.1", port=5999, dbname="mtdb_x")
        template.clone.return_value = template.schema.return_value = database
        cls.template = template
        case = cls("test_signup")
        with mock.patch.object(_testenv, "drop_own") as drop_own:  # the cleanup is bound in setUp
            case.setUp()
        drop_own.assert_not_called()
        return case, template, database, drop_own

    def test_clone_per_test_with_its_attributes_and_a_guarded_drop(self) -> None:
        case, template, database, drop_own = self.run_setup(schema_mode=False)
        template.clone.assert_called_once_with("test_signup")
        template.schema.assert_not_called()
        self.assertIs(case.database, database)
        self.assertEqual(
            (case.database_url, case.database_host, case.database_port, case.database_name),
            ("postgresql://u:pw@127.0.0.1:5999/mtdb_x", "127.0.0.1", 5999, "mtdb_x"),
        )
        case.doCleanups()
        drop_own.assert_called_once_with(database)

    def test_schema_mode_makes_a_schema_instead(self) -> None:
        case, template, database, drop_own = self.run_setup(schema_mode=True)
        template.schema.assert_called_once_with("test_signup")
        template.clone.assert_not_called()
        case.doCleanups()
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
