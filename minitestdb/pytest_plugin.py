"""pytest fixtures for minitestdb: a fresh database per test, cloned from a template built once.

Loaded automatically when minitestdb is installed (the ``pytest11`` entry point),
or with ``-p minitestdb.pytest_plugin``.  Tell it the migrations in ``pytest.ini``::

    [pytest]
    minitestdb_sql = migrations/
    minitestdb_seed = seed.sql

(relative to the ini file), or with ``--minitestdb-sql PATH`` / ``--minitestdb-seed PATH``
(relative to the current directory, repeatable), or by overriding the session-scoped
``minitestdb_sql`` / ``minitestdb_seed`` fixtures (relative paths: the rootdir).  Then::

    def test_signup(minitestdb_database):
        with minitestdb_database.connect() as conn:
            ...

Fixtures: ``minitestdb_server`` and ``minitestdb_template`` (session),
``minitestdb_database`` and ``minitestdb_url`` (per test).  Under pytest-xdist each
worker finds the template (one of them builds it, under an advisory lock) and
clones per test.  Without a Docker engine (and no ``TEST_DATABASE_URL``) the tests
skip with one reason; ``MINITESTDB_REQUIRED=1`` makes that an error.
"""

from __future__ import annotations

import unittest
from typing import Iterator

import pytest

from . import _testenv
from ._server import Server
from ._templates import Database, Template

__all__ = [
    "minitestdb_database",
    "minitestdb_seed",
    "minitestdb_server",
    "minitestdb_sql",
    "minitestdb_template",
    "minitestdb_url",
    "pytest_addoption",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("minitestdb", "minitestdb: a fresh PostgreSQL database per test")
    group.addoption("--minitestdb-sql", action="append", default=None, metavar="PATH", help="migration file, glob or directory (repeatable; overrides the minitestdb_sql ini option)")
    group.addoption("--minitestdb-seed", action="append", default=None, metavar="PATH", help="seed file, glob or directory, applied after the migrations (repeatable)")
    parser.addini("minitestdb_sql", type="linelist", default=[], help="minitestdb: migration files, globs or directories, relative to the ini file")
    parser.addini("minitestdb_seed", type="linelist", default=[], help="minitestdb: seed files, globs or directories, relative to the ini file")


def _inputs(config: pytest.Config, kind: str) -> list[str]:
    """The command line's paths (relative to the invocation directory), else the ini file's (relative to it)."""
    given: list[str] | None = config.getoption(f"--minitestdb-{kind}")
    if given:
        return _testenv.resolve_paths(given, str(config.invocation_params.dir))
    base = config.inipath.parent if config.inipath else config.rootpath
    lines: list[str] = config.getini(f"minitestdb_{kind}")
    return _testenv.resolve_paths(lines, str(base))


@pytest.fixture(scope="session")
def minitestdb_sql(pytestconfig: pytest.Config) -> list[str]:
    """The migration inputs; override this (session-scoped) fixture to set them in code."""
    return _inputs(pytestconfig, "sql")


@pytest.fixture(scope="session")
def minitestdb_seed(pytestconfig: pytest.Config) -> list[str]:
    """The seed inputs, applied after the migrations; override like ``minitestdb_sql``."""
    return _inputs(pytestconfig, "seed")


@pytest.fixture(scope="session")
def minitestdb_server() -> Server:
    """``TEST_DATABASE_URL``, else the shared Docker server; skips the tests when there is no engine."""
    try:
        return _testenv.server()
    except unittest.SkipTest as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def minitestdb_template(pytestconfig: pytest.Config, minitestdb_server: Server, minitestdb_sql: list[str], minitestdb_seed: list[str]) -> Template:
    """The template of the migrations and seeds, found or built once (across xdist workers too)."""
    base = str(pytestconfig.rootpath)
    return _testenv.template(minitestdb_server, sql=_testenv.resolve_paths(minitestdb_sql, base), seed=_testenv.resolve_paths(minitestdb_seed, base))


@pytest.fixture
def minitestdb_database(request: pytest.FixtureRequest, minitestdb_template: Template) -> Iterator[Database]:
    """A fresh clone of the template for this test, dropped after it."""
    database = minitestdb_template.clone(getattr(request.node, "originalname", None) or request.node.name)
    try:
        yield database
    finally:
        _testenv.drop_own(database)


@pytest.fixture
def minitestdb_url(minitestdb_database: Database) -> str:
    """The URL of this test's fresh database (password included)."""
    return minitestdb_database.url
