"""_testenv: paths, skip or fail, the cached server and template, the guard (no Docker: server_from_env is mocked)."""

from __future__ import annotations

import os
import unittest
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
from minitestdb._naming import clone_name, kept_name, owner_part, schema_name, temp_build_name, template_name
from minitestdb._server import Server
from minitestdb._templates import KeptDatabase
from minitestdb._testenv import assert_own_database
from tests.unit.support import doctests, without_cached_servers_or_settings

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
        without_cached_servers_or_settings(self)

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

    def test_a_server_is_made_once_per_environment(self) -> None:
        first, second = mock.Mock(spec=Server), mock.Mock(spec=Server)
        with mock.patch.object(_testenv, "server_from_env", side_effect=[first, second]) as from_env:
            self.assertIs(_testenv.server(), first)
            self.assertIs(_testenv.server(), first)
            self.assertEqual(from_env.call_count, 1)
            os.environ["MINITESTDB_SERVER"] = "other"
            self.assertIs(_testenv.server(), second)
        self.assertEqual(from_env.call_args_list, [mock.call(name="default"), mock.call(name="other")])

    def test_required_error_keeps_the_detail(self) -> None:
        os.environ["MINITESTDB_REQUIRED"] = "yes"
        error = DockerDaemonError("Cannot connect to the Docker daemon.", detail="stderr: refused")
        with mock.patch.object(_testenv, "server_from_env", side_effect=error), self.assertRaises(MiniTestDBError) as caught:
            _testenv.server()
        self.assertEqual(str(caught.exception), "Cannot connect to the Docker daemon; MINITESTDB_REQUIRED=1 is set, so a missing Docker engine is an error, not a skip.")
        self.assertEqual(caught.exception.detail, "stderr: refused")


class CachedTemplateTest(unittest.TestCase):
    def setUp(self) -> None:
        patcher = mock.patch.dict(_testenv._templates, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def server(self, port: int = 5999) -> mock.Mock:
        srv = mock.Mock(host="127.0.0.1", port=port, dbname="postgres")
        srv.template.side_effect = lambda *args, **kwargs: mock.Mock(name="template")
        return srv

    def test_the_same_inputs_give_the_same_template(self) -> None:
        srv = self.server()
        first = _testenv.template(srv, sql=("/p/m",), seed=["/p/s.sql"], name="users", pool=3)
        self.assertIs(_testenv.template(srv, sql=["/p/m"], seed=("/p/s.sql",), name="users", pool=3), first)
        srv.template.assert_called_once_with(["/p/m"], ["/p/s.sql"], migrate=None, inputs=[], cwd=None, name="users", pool=3)

    def test_any_other_input_or_server_builds_another(self) -> None:
        srv = self.server()
        base = _testenv.template(srv, sql=["/p/m"])
        others = [
            _testenv.template(srv, sql=["/p/other"]),
            _testenv.template(srv, sql=["/p/m"], seed=["/p/s.sql"]),
            _testenv.template(srv, sql=["/p/m"], name="x"),
            _testenv.template(srv, sql=["/p/m"], pool=0),
            _testenv.template(self.server(port=6000), sql=["/p/m"]),
            _testenv.template(srv, sql=["/p/m"], migrate=["alembic", "upgrade", "head"], inputs=["/p/alembic.ini"], cwd="/p"),
            _testenv.template(srv, sql=["/p/m"], migrate=["alembic", "upgrade", "head"], inputs=["/p/alembic.ini", "/p/versions"], cwd="/p"),
            _testenv.template(srv, sql=["/p/m"], migrate=["alembic", "upgrade", "head"], inputs=["/p/alembic.ini"], cwd="/q"),
        ]
        self.assertEqual(len({id(t) for t in [base, *others]}), 9)
        self.assertEqual(srv.template.call_args_list[0], mock.call(["/p/m"], [], migrate=None, inputs=[], cwd=None, name=None, pool=2))
        # An argv list is cached by its contents: the same command again finds the same template.
        again = _testenv.template(srv, sql=["/p/m"], migrate=["alembic", "upgrade", "head"], inputs=["/p/alembic.ini"], cwd="/p")
        self.assertIs(again, others[5])


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
        good = mock.Mock(schema=None, kept=False)
        good.name = clone_name("t", FP, owner=OWNER, suffix="6abc123")
        _testenv.drop_own(good)
        good.drop.assert_called_once_with(wait=False)
        schema = mock.Mock(schema=schema_name("t", owner=OWNER, suffix="7abc123"), kept=False)
        schema.name = schema.schema
        _testenv.drop_own(schema)
        schema.drop.assert_called_once_with(wait=False)
        for name, schema_value in (("postgres", None), (template_name(None, FP), None), ("mydb", "public")):
            bad = mock.Mock(schema=schema_value, kept=False)
            bad.name = name
            with self.subTest(name=name), self.assertRaises(AssertionError):
                _testenv.drop_own(bad)
            bad.drop.assert_not_called()
        kept = mock.Mock(schema=None, kept=True)
        kept.name = kept_name("test_x", 1)
        _testenv.drop_own(kept)
        kept.drop.assert_not_called()


class TemplateFailureTest(unittest.TestCase):
    """A template that fails is built once: the first caller gets the error, every later one a one-line pointer."""

    def setUp(self) -> None:
        for patcher in (mock.patch.dict(_testenv._templates, clear=True), mock.patch.dict(_testenv._failures, clear=True)):
            patcher.start()
            self.addCleanup(patcher.stop)

    def test_first_the_error_then_a_pointer_without_building_again(self) -> None:
        error = MigrationError("Migration /p/m/002.sql:2 failed: ERROR: boom; fix the file and run again.", file="/p/m/002.sql", line=2, server_message="ERROR: boom")
        srv = mock.Mock(host="127.0.0.1", port=5999, dbname="postgres")
        srv.template.side_effect = error
        with self.assertRaises(MigrationError) as first:
            _testenv.template(srv, sql=["/p/m"])
        self.assertIs(first.exception, error)
        for _ in range(3):
            with self.assertRaises(_testenv.EarlierTemplateFailure) as later:
                _testenv.template(srv, sql=["/p/m"])
            self.assertEqual(
                str(later.exception), "the template could not be built, /p/m/002.sql:2 failed (reported in full for the first test that needed it); fix it and run again."
            )
            self.assertEqual((later.exception.file, later.exception.line), ("/p/m/002.sql", 2))
            self.assertEqual(_testenv.migration_pointer(later.exception), "minitestdb: " + str(later.exception))
        srv.template.assert_called_once()
        # Other inputs are another template: built (and failing) on their own.
        with self.assertRaises(MigrationError) as other:
            _testenv.template(srv, sql=["/p/other"])
        self.assertIs(other.exception, error)

    def test_reports(self) -> None:
        message = "The migrator command `alembic upgrade head` exited with code 1; fix it and run again."
        migrator = MigrationError(message, migrator="command `alembic upgrade head`", detail="output tail:\nKeyError: 'x'\n")
        self.assertEqual(
            _testenv.migration_report(migrator, hint="pytest -v").splitlines(),
            ["minitestdb: The migrator command `alembic upgrade head` exited with code 1; fix it and run again.", "    output tail:", "    KeyError: 'x'", "(minitestdb's traceback: pytest -v)"],
        )
        self.assertEqual(
            _testenv.migration_pointer(migrator),
            "minitestdb: the template could not be built, the migrator command `alembic upgrade head` failed (reported in full for the first test that needed it); fix it and run again.",
        )
        self.assertIn(", a migration failed (", _testenv.migration_pointer(MigrationError("x")))
        self.assertNotIn("secret-pw", _testenv.migration_report(MigrationError("x", detail="postgresql://u:secret-pw@h/d"), hint="h"))


class KeepFailedTest(unittest.TestCase):
    URL = "postgresql://postgres:***@127.0.0.1:5432/mtdb_kept_test_signup_1"

    def test_bound_the_command_line_then_the_variable_then_the_ini_then_ten(self) -> None:
        for option, environ, ini, expected in (
            (None, {}, "", 10),
            (None, {}, "3", 3),
            (None, {"MINITESTDB_KEEP_FAILED": "0"}, "3", 0),
            ("5", {"MINITESTDB_KEEP_FAILED": "0"}, "3", 5),
            ("no", {"MINITESTDB_KEEP_FAILED": "7"}, "", 0),
            ("", {"MINITESTDB_KEEP_FAILED": " "}, "yes", 10),
        ):
            with self.subTest(option=option, environ=environ, ini=ini):
                self.assertEqual(_testenv.keep_failed_bound(option, environ, ini), expected)
        bad = (("x", {}, "", "--minitestdb-keep-failed"), (None, {"MINITESTDB_KEEP_FAILED": "-2"}, "", "MINITESTDB_KEEP_FAILED"), (None, {}, "lots", "minitestdb_keep_failed"))
        for option, environ, ini, where in bad:
            with self.subTest(where=where), self.assertRaisesRegex(ConfigurationError, f"^{where}="):
                _testenv.keep_failed_bound(option, environ, ini)

    def test_the_report_is_one_line_with_the_masked_url_and_both_commands(self) -> None:
        kept = KeptDatabase("mtdb_kept_test_signup_1", self.URL, (), ())
        shared = _testenv.kept_report(kept, server_name="ci", bound=10)
        self.assertEqual(
            shared,
            "minitestdb kept this test's database mtdb_kept_test_signup_1 (postgresql://postgres:***@127.0.0.1:5432/mtdb_kept_test_signup_1): "
            "open it with `python -m minitestdb psql --server ci -d mtdb_kept_test_signup_1`, drop it with `python -m minitestdb drop --server ci mtdb_kept_test_signup_1`.",
        )
        from_url = _testenv.kept_report(kept, server_name=None, bound=10)
        self.assertIn(
            "open it with `python -m minitestdb psql -d mtdb_kept_test_signup_1`, drop it with `python -m minitestdb drop mtdb_kept_test_signup_1` (with the same TEST_DATABASE_URL set).",
            from_url,
        )
        self.assertNotIn("\n", shared + from_url)

    def test_a_second_line_names_what_the_bound_dropped_or_left(self) -> None:
        kept = KeptDatabase("mtdb_kept_t_9", self.URL, ("mtdb_kept_a_1", "mtdb_kept_b_1"), ("mtdb_kept_c_1",))
        self.assertEqual(
            _testenv.kept_report(kept, server_name="ci", bound=3).splitlines()[1],
            "minitestdb dropped the oldest kept databases mtdb_kept_a_1, mtdb_kept_b_1 and left mtdb_kept_c_1 (in use): a server keeps the newest 3 (MINITESTDB_KEEP_FAILED sets how many).",
        )

    def database(self, **attributes: object) -> mock.Mock:
        values: dict[str, object] = {"schema": None, "dropped": False, "kept": False, "name": "mtdb_test_signup_01234567_abcd1_1ab"}
        values.update(attributes)
        database = mock.Mock()
        for key, value in values.items():
            setattr(database, key, value)
        return database

    def test_keep_failed_keeps_and_reports_or_says_nothing(self) -> None:
        shared = mock.Mock(owned=False, container_id="c0ffee", spec=Server)
        shared.name = "ci"
        from_url = mock.Mock(owned=False, container_id="", spec=Server)
        private = mock.Mock(owned=True, container_id="beef", spec=Server)
        kept = KeptDatabase("mtdb_kept_test_signup_1", self.URL, (), ())
        with mock.patch.object(_testenv, "keep_database", return_value=kept) as keep:
            self.assertIn("--server ci -d mtdb_kept_test_signup_1", _testenv.keep_failed(self.database(), shared, label="test_signup", test="t.py::test_signup", bound=10))
            keep.assert_called_once_with(mock.ANY, label="test_signup", test="t.py::test_signup", bound=10)
            self.assertIn("psql -d mtdb_kept_test_signup_1", _testenv.keep_failed(self.database(), from_url, label="x", test="x", bound=10))
            keep.reset_mock()
            for database, srv, bound in ((self.database(), shared, 0), (self.database(schema="test_s"), shared, 10), (self.database(), private, 10), (self.database(dropped=True), shared, 10)):
                self.assertEqual(_testenv.keep_failed(database, srv, label="x", test="x", bound=bound), "")
            keep.assert_not_called()
        with mock.patch.object(_testenv, "keep_database", side_effect=MiniTestDBError("The server went away.")):
            self.assertEqual(
                _testenv.keep_failed(self.database(), shared, label="x", test="x", bound=10),
                "minitestdb could not keep this test's database mtdb_test_signup_01234567_abcd1_1ab (The server went away.); it is dropped as usual.",
            )


load_tests = doctests(_testenv)


if __name__ == "__main__":
    unittest.main()
