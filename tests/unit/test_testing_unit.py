"""The pure parts of minitestdb.testing and minitestdb._testenv: paths, skip or fail, the guard (no Docker)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
import types
import unittest
from typing import Any
from unittest import mock

from minitestdb import _testenv
from minitestdb._errors import (
    ConfigurationError,
    DatabaseConnectionError,
    DockerDaemonError,
    DockerNotFoundError,
    DockerPermissionError,
    ImageUnavailableError,
    MigrationError,
    MiniTestDBError,
)
from minitestdb._naming import clone_name, owner_part, schema_name, temp_build_name, template_name
from minitestdb.testing import DatabaseTestCase, assert_own_database

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OWNER = owner_part("host", 4321)
FP = "0123456789abcdef" * 4
NO_ENGINE = DockerNotFoundError("The docker CLI 'docker' was not found on PATH: install Docker.")


class PathResolutionTest(unittest.TestCase):
    def test_relative_paths_join_the_base_and_absolute_ones_stay(self) -> None:
        base = os.path.join(os.sep, "proj", "tests")
        self.assertEqual(
            _testenv.resolve_paths(["../migrations", "seed/*.sql", os.path.join(os.sep, "abs", "x.sql")], base),
            [os.path.join(os.sep, "proj", "migrations"), os.path.join(base, "seed", "*.sql"), os.path.join(os.sep, "abs", "x.sql")],
        )

    def test_a_single_string_none_and_home(self) -> None:
        self.assertEqual(_testenv.resolve_paths("db", os.sep + "p"), [os.path.join(os.sep, "p", "db")])
        self.assertEqual(_testenv.resolve_paths(None, os.sep), [])
        with mock.patch.dict(os.environ, {"HOME": os.path.join(os.sep, "home", "me")}):
            self.assertEqual(_testenv.resolve_paths(["~/db"], os.sep + "p"), [os.path.join(os.sep, "home", "me", "db")])

    def test_module_dir_is_the_module_files_directory_else_the_cwd(self) -> None:
        self.assertEqual(_testenv.module_dir(__name__), os.path.dirname(os.path.abspath(__file__)))
        self.assertEqual(_testenv.module_dir("no.such.module"), os.getcwd())


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


class SkipOrRequireTest(unittest.TestCase):
    def test_only_a_missing_engine_without_url_or_requirement_skips(self) -> None:
        for exc in (NO_ENGINE, DockerDaemonError("Cannot connect to the Docker daemon."), DockerPermissionError("Permission denied on the socket.")):
            with self.subTest(type(exc).__name__):
                reason = _testenv.skip_reason(exc, {})
                self.assertIsNotNone(reason)
                assert reason is not None
                self.assertIn("no Docker engine", reason)
                self.assertIn(str(exc).rstrip("."), reason)
                self.assertIn("MINITESTDB_REQUIRED=1", reason)
                self.assertNotIn("\n", reason)

    def test_everything_else_is_an_error(self) -> None:
        for exc in (ConfigurationError("bad URL"), ImageUnavailableError("no image"), MigrationError("001.sql:3: syntax error"), DatabaseConnectionError("refused"), ValueError("x")):
            with self.subTest(type(exc).__name__):
                self.assertIsNone(_testenv.skip_reason(exc, {}))

    def test_required_or_test_database_url_makes_it_an_error(self) -> None:
        for env in ({"MINITESTDB_REQUIRED": "1"}, {"MINITESTDB_REQUIRE_DOCKER": "1"}, {"MINITESTDB_REQUIRED": "true"}, {"TEST_DATABASE_URL": "postgresql://x@h/db"}):
            with self.subTest(env=env):
                self.assertIsNone(_testenv.skip_reason(NO_ENGINE, env))
        for env in ({"MINITESTDB_REQUIRED": "0"}, {"MINITESTDB_REQUIRED": ""}, {"TEST_DATABASE_URL": "  "}):
            with self.subTest(env=env):
                self.assertIsNotNone(_testenv.skip_reason(NO_ENGINE, env))

    def test_is_required(self) -> None:
        self.assertFalse(_testenv.is_required({}))
        self.assertTrue(_testenv.is_required({"MINITESTDB_REQUIRE_DOCKER": "1"}))
        self.assertTrue(_testenv.is_required({"MINITESTDB_REQUIRED": " YES "}))
        self.assertFalse(_testenv.is_required({"MINITESTDB_REQUIRED": "no"}))


class CachedServerTest(unittest.TestCase):
    def setUp(self) -> None:
        patcher = mock.patch.dict(_testenv._servers, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)
        env = mock.patch.dict(os.environ)
        env.start()
        self.addCleanup(env.stop)
        for var in ("TEST_DATABASE_URL", "MINITESTDB_REQUIRED", "MINITESTDB_REQUIRE_DOCKER", "MINITESTDB_SERVER"):
            os.environ.pop(var, None)

    def test_no_engine_skips_once_with_the_reason_and_asks_docker_once(self) -> None:
        with mock.patch.object(_testenv, "server_from_env", side_effect=NO_ENGINE) as from_env:
            for _ in range(3):
                with self.assertRaises(unittest.SkipTest) as caught:
                    _testenv.server()
                self.assertIn("no Docker engine", str(caught.exception))
        self.assertEqual(from_env.call_count, 1)
        from_env.assert_called_with(name="default")

    def test_required_no_engine_is_an_error_naming_the_variable(self) -> None:
        os.environ["MINITESTDB_REQUIRE_DOCKER"] = "1"
        with mock.patch.object(_testenv, "server_from_env", side_effect=NO_ENGINE), self.assertRaises(MiniTestDBError) as caught:
            _testenv.server()
        self.assertNotIsInstance(caught.exception, unittest.SkipTest)
        self.assertIn("MINITESTDB_REQUIRE_DOCKER=1 is set", str(caught.exception))
        self.assertIs(caught.exception.__cause__, NO_ENGINE)

    def test_other_errors_propagate_unchanged(self) -> None:
        error = ConfigurationError("TEST_DATABASE_URL is not a postgresql:// URL.")
        with mock.patch.object(_testenv, "server_from_env", side_effect=error), self.assertRaises(ConfigurationError) as caught:
            _testenv.server()
        self.assertIs(caught.exception, error)

    def test_the_server_name_comes_from_minitestdb_server(self) -> None:
        os.environ["MINITESTDB_SERVER"] = "myproject"
        with mock.patch.object(_testenv, "server_from_env", side_effect=NO_ENGINE) as from_env, self.assertRaises(unittest.SkipTest):
            _testenv.server()
        from_env.assert_called_once_with(name="myproject")

    def test_a_whole_class_skips_once_through_setupclass(self) -> None:
        cls = type("Skipped", (DatabaseTestCase,), {"__module__": "_mtdb_unit_skip", "test_a": lambda self: None, "test_b": lambda self: None})
        result = unittest.TestResult()
        with mock.patch.object(_testenv, "server_from_env", side_effect=NO_ENGINE):
            unittest.defaultTestLoader.loadTestsFromTestCase(cls).run(result)
        self.assertEqual((result.testsRun, len(result.skipped), result.errors), (0, 1, []))
        self.assertIn("no Docker engine", result.skipped[0][1])


class GuardTest(unittest.TestCase):
    def test_clones_and_schemas_pass(self) -> None:
        assert_own_database(clone_name("test_users", FP, owner=OWNER, suffix="1abc123"))
        assert_own_database(clone_name(None, FP, owner=OWNER, suffix="2abc123"), kind="clone")
        assert_own_database(clone_name("pool", FP, owner=owner_part("host", 0), suffix="3abc123"))
        assert_own_database(schema_name("test_x", owner=OWNER, suffix="4abc123"), kind="schema")

    def test_everything_else_is_refused(self) -> None:
        for name in ("postgres", "template1", "myapp", "mtdb_", "mtdb_users", "test_users", template_name("x", FP), temp_build_name(FP, owner=OWNER, suffix="abc123"), ""):
            with self.subTest(name=name), self.assertRaisesRegex(AssertionError, "Refusing to drop"):
                assert_own_database(name)
        with self.assertRaisesRegex(AssertionError, "a minitestdb schema"):
            assert_own_database(schema_name("x", owner=OWNER, suffix="5abc123"), kind="clone")
        with self.assertRaisesRegex(AssertionError, "a minitestdb template"):
            assert_own_database(template_name(None, FP))

    def test_drop_own_drops_only_what_passes_the_guard(self) -> None:
        good = mock.Mock(schema=None)
        good.name = clone_name("t", FP, owner=OWNER, suffix="6abc123")
        _testenv.drop_own(good)
        good.drop.assert_called_once_with(wait=False)
        schema = mock.Mock(schema=schema_name("t", owner=OWNER, suffix="7abc123"))
        schema.name = schema.schema
        _testenv.drop_own(schema)
        schema.drop.assert_called_once_with(wait=False)
        for name, schema_value in (("postgres", None), (template_name(None, FP), None), ("mydb", "public")):
            bad = mock.Mock(schema=schema_value)
            bad.name = name
            with self.subTest(name=name), self.assertRaises(AssertionError):
                _testenv.drop_own(bad)
            bad.drop.assert_not_called()


class ImportsTest(unittest.TestCase):
    def test_import_minitestdb_and_testing_never_import_pytest(self) -> None:
        code = "import sys, minitestdb, minitestdb.testing; sys.exit(1 if 'pytest' in sys.modules else 0)"
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.assertEqual(subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode, 0)

    def test_the_package_imports_itself_relatively(self) -> None:
        found = []
        package = os.path.join(ROOT, "minitestdb")
        for filename in sorted(os.listdir(package)):
            if filename.endswith(".py"):
                with open(os.path.join(package, filename), encoding="utf-8") as fh:
                    tree = ast.parse(fh.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        names = [node.module or ""]
                    else:
                        continue
                    found += [f"{filename}:{node.lineno}" for n in names if n == "minitestdb" or n.startswith("minitestdb.")]
        self.assertEqual(found, [])


if __name__ == "__main__":
    unittest.main()
