"""unittest support: a fresh database per test, cloned from a template built once.

::

    from minitestdb.testing import DatabaseTestCase

    class UsersTest(DatabaseTestCase):
        sql = ["migrations"]  # paths, globs, directories; relative to this file
        seed = ["seed.sql"]

        def test_insert(self) -> None:  # each test starts from the migrated, seeded template
            with self.database.connect() as conn:
                conn.query("insert into users (email) values ('new@example.com')")
                rows = conn.query("select count(*) from users where email = 'new@example.com'").rows
                self.assertEqual(rows, [("1",)])

Run with ``python -m unittest``; the paths do not depend on the current directory.  The server is
``TEST_DATABASE_URL`` if set, else the shared Docker server (``MINITESTDB_SERVER``,
default ``default``); it and the template are made once per process.  Each test
gets ``self.database`` (a :class:`~minitestdb.Database`), ``self.database_url``,
``self.database_host``, ``self.database_port`` and ``self.database_name``, dropped
after the test; a failed or erroring test's database is kept as
``mtdb_kept_<test>_<n>`` instead (at most ``MINITESTDB_KEEP_FAILED``, default 10,
per server; ``0`` keeps none), and its failure report ends with one line saying
how to open and drop it.  Without a Docker engine (and no ``TEST_DATABASE_URL``) the
classes skip with one reason; ``MINITESTDB_REQUIRED=1`` makes that an error.
A migration that fails is reported in full for the first class, in one line for
the others (``MINITESTDB_DEBUG=1`` adds minitestdb's traceback).
Only minitestdb's own clones and test schemas are ever dropped.
"""

from __future__ import annotations

import os
import sys
import unittest
from typing import Any, ClassVar, Sequence, Union

from . import _locks, _testenv
from ._env import read_env
from ._errors import MigrationError
from ._migrators import MigrateArg
from ._redact import redact
from ._server import Server
from ._templates import DEFAULT_POOL_SIZE, Database, Template
from ._testenv import assert_own_database

__all__ = ["DatabaseTestCase", "assert_own_database"]

PathItem = Union[str, "os.PathLike[str]"]
# unittest leaves this module's frames out of the tracebacks it prints, as it does its own:
# a broken migration is reported by its file, line and message (MINITESTDB_DEBUG=1 shows everything).
__unittest = True


class _FailureWatch:
    """Passes everything on to the real result and notes whether the test failed or erred (subtests included)."""

    def __init__(self, result: unittest.TestResult) -> None:
        self._result = result
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._result, name)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        self.failed = True
        self._result.addFailure(test, err)

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        self.failed = True
        self._result.addError(test, err)

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: Any) -> None:
        if err is not None:
            self.failed = True
        self._result.addSubTest(test, subtest, err)


def _add_to_report(result: unittest.TestResult, test: unittest.TestCase, text: str) -> None:
    """Redact this test's entries in *result*'s failures and errors, and end its last one with *text*; without such lists (pytest runs the case), stderr."""
    found: list[tuple[list[tuple[unittest.TestCase, str]], int]] = []
    for listed in (getattr(result, "failures", None), getattr(result, "errors", None)):
        if isinstance(listed, list):
            found += [(listed, i) for i, (case, _) in enumerate(listed) if case is test or getattr(case, "test_case", None) is test]
    for listed, i in found:
        listed[i] = (listed[i][0], redact(listed[i][1]))
    if not text:
        return
    if found:
        listed, i = found[-1]
        listed[i] = (listed[i][0], listed[i][1].rstrip("\n") + "\n" + text + "\n")
    else:
        print(text, file=sys.stderr)


def _defining_dir(cls: type, attribute: str) -> str:
    """The directory of the module of the class that set *attribute* (its paths are relative to it)."""
    for klass in cls.__mro__:
        if attribute in vars(klass):
            return _testenv.module_dir(klass.__module__)
    return _testenv.module_dir(cls.__module__)


class DatabaseTestCase(unittest.TestCase):
    """A TestCase whose every test runs against its own fresh database.

    Class attributes: ``sql`` and ``seed`` (migration and seed inputs, relative to
    the file of the class that sets them), ``migrate`` (an argv list run in that
    file's directory, a function taking the URL, or a migrator such as
    ``minitestdb.alembic(...)``) with its ``inputs`` (relative to that file too),
    ``template_name`` (a label for the
    template database), ``schema_mode`` (a fresh schema per test via
    :meth:`Template.schema` instead of a database clone) and ``pool`` (clones kept
    ready in the background; 0 turns it off) and ``locks`` (names of
    :func:`minitestdb.lock` locks each test holds, so tests sharing one global
    resource never overlap, across processes and machines too).
    """

    sql: ClassVar[Sequence[PathItem]] = ()
    seed: ClassVar[Sequence[PathItem]] = ()
    migrate: ClassVar[MigrateArg | None] = None
    inputs: ClassVar[Sequence[PathItem]] = ()
    template_name: ClassVar[str | None] = None
    schema_mode: ClassVar[bool] = False
    pool: ClassVar[int] = DEFAULT_POOL_SIZE
    locks: ClassVar[Sequence[str]] = ()

    #: Set by setUpClass: the server and the template every test of the class clones.
    server: ClassVar[Server]
    template: ClassVar[Template]

    database: Database
    database_url: str
    database_host: str
    database_port: int
    database_name: str

    @classmethod
    def setUpClass(cls) -> None:
        # Nothing to clean per class: the shared server stays up, templates are
        # kept for the next run, and their pools are stopped at exit by minitestdb.
        super().setUpClass()
        cls.server = _testenv.server()  # raises unittest.SkipTest when there is no engine
        try:
            cls.template = _testenv.template(
                cls.server,
                sql=_testenv.resolve_paths(cls.sql, _defining_dir(cls, "sql")),
                seed=_testenv.resolve_paths(cls.seed, _defining_dir(cls, "seed")),
                migrate=cls.migrate,  # a function set in the class body comes back unbound from the class
                inputs=_testenv.resolve_paths(cls.inputs, _defining_dir(cls, "inputs")),
                cwd=_defining_dir(cls, "migrate") if cls.migrate is not None else None,
                name=cls.template_name,
                pool=0 if cls.schema_mode else cls.pool,
            )
        except MigrationError as exc:
            if read_env().debug:
                raise
            if isinstance(exc, _testenv.EarlierTemplateFailure):
                raise exc.with_traceback(None) from None
            # The first class: what failed and what psql or the migrator said, without minitestdb's frames.
            short = MigrationError(
                _testenv.migration_report(exc, hint="MINITESTDB_DEBUG=1")[len("minitestdb: ") :],
                file=exc.file, line=exc.line, server_message=exc.server_message, migrator=exc.migrator, exit_code=exc.exit_code, output=exc.output, detail=exc.detail,
            )
            raise short from None

    def run(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        """Run the test, then drop its database, or keep it when the test failed or erred and end the failure's report with one line saying so."""
        if result is None:
            result = self.defaultTestResult()
            start, stop = getattr(result, "startTestRun", None), getattr(result, "stopTestRun", None)
            if start is not None:
                start()
            try:
                return self.run(result)
            finally:
                if stop is not None:
                    stop()
        watch = _FailureWatch(result)
        try:
            super().run(watch)  # type: ignore[arg-type]  # a stand-in passing everything on
        finally:
            _add_to_report(result, self, self._finish_database(failed=watch.failed))
        return result

    def debug(self) -> None:
        """Run the test without a result (exceptions propagate); its database is dropped afterwards."""
        try:
            super().debug()
        finally:
            self._finish_database(failed=False)

    def _finish_database(self, *, failed: bool) -> str:
        """Keep the database of a failed test (the report's text) or drop it."""
        database: Database | None = self.__dict__.pop("_database_to_finish", None)
        if database is None:
            return ""
        text = ""
        if failed:
            text = _testenv.keep_failed(database, type(self).server, label=self._testMethodName, test=self.id(), bound=_testenv.keep_failed_bound())
        _testenv.drop_own(database)
        return text

    def setUp(self) -> None:
        super().setUp()
        if not hasattr(type(self), "template"):
            raise RuntimeError(f"{type(self).__name__}.setUpClass did not run DatabaseTestCase.setUpClass: call super().setUpClass().")
        # Held until the test's cleanups are done: registered first, released last.
        self.addCleanup(_locks.hold(self.locks, type(self).server).close)
        template, label = type(self).template, self._testMethodName
        database = template.schema(label) if self.schema_mode else template.clone(label)
        # Dropped (or kept, when the test failed) in run(), once unittest has said whether it failed.
        self._database_to_finish = database
        self.database = database
        self.database_url = database.url
        self.database_host = database.host
        self.database_port = database.port
        self.database_name = database.dbname
