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
after the test.  Without a Docker engine (and no ``TEST_DATABASE_URL``) the
classes skip with one reason; ``MINITESTDB_REQUIRED=1`` makes that an error.
Only minitestdb's own clones and test schemas are ever dropped.
"""

from __future__ import annotations

import os
import unittest
from typing import ClassVar, Sequence, Union

from . import _testenv
from ._migrators import MigrateArg
from ._server import Server
from ._templates import DEFAULT_POOL_SIZE, Database, Template
from ._testenv import assert_own_database

__all__ = ["DatabaseTestCase", "assert_own_database"]

PathItem = Union[str, "os.PathLike[str]"]


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
    ready in the background; 0 turns it off).
    """

    sql: ClassVar[Sequence[PathItem]] = ()
    seed: ClassVar[Sequence[PathItem]] = ()
    migrate: ClassVar[MigrateArg | None] = None
    inputs: ClassVar[Sequence[PathItem]] = ()
    template_name: ClassVar[str | None] = None
    schema_mode: ClassVar[bool] = False
    pool: ClassVar[int] = DEFAULT_POOL_SIZE

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

    def setUp(self) -> None:
        super().setUp()
        if not hasattr(type(self), "template"):
            raise RuntimeError(f"{type(self).__name__}.setUpClass did not run DatabaseTestCase.setUpClass: call super().setUpClass().")
        template, label = type(self).template, self._testMethodName
        database = template.schema(label) if self.schema_mode else template.clone(label)
        self.addCleanup(_testenv.drop_own, database)
        self.database = database
        self.database_url = database.url
        self.database_host = database.host
        self.database_port = database.port
        self.database_name = database.dbname
