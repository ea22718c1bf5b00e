"""pytest fixtures for minitestdb: a fresh database per test, cloned from a template built once.

Loaded automatically when minitestdb is installed (the ``pytest11`` entry point),
or with ``-p minitestdb.pytest_plugin``.  Tell it the migrations in ``pytest.ini``::

    [pytest]
    minitestdb_sql = migrations/
    minitestdb_seed = seed.sql

or, for a migration tool, the command (run in the ini file's directory, without
a shell) and what it reads::

    [pytest]
    minitestdb_migrate = alembic upgrade head
    minitestdb_inputs =
        alembic.ini
        migrations/

Paths are relative to the ini file.  ``--minitestdb-sql PATH``, ``--minitestdb-seed
PATH``, ``--minitestdb-migrate COMMAND`` and ``--minitestdb-inputs PATH`` override
them (relative to the current directory), and so does overriding the
session-scoped fixtures ``minitestdb_sql``, ``minitestdb_seed``, ``minitestdb_inputs``
(relative paths: the rootdir) or ``minitestdb_migrate`` (which may return a
function or a migrator such as ``minitestdb.alembic("alembic.ini")``).  Then::

    def test_signup(minitestdb_database):
        with minitestdb_database.connect() as conn:
            ...

Fixtures: ``minitestdb_server`` and ``minitestdb_template`` (session),
``minitestdb_database`` and ``minitestdb_url`` (per test).  Under pytest-xdist each
worker finds the template (one of them builds it, under an advisory lock) and
clones per test.  Without a Docker engine (and no ``TEST_DATABASE_URL``) the tests
skip with one reason; ``MINITESTDB_REQUIRED=1`` makes that an error.

A failed or erroring test's database is kept as ``mtdb_kept_<test>_<n>``
(at most 10 per server, the newest) and a ``minitestdb`` section under its
failure says how to open and drop it.  ``--minitestdb-keep-failed N`` (else
``MINITESTDB_KEEP_FAILED``, else the ini's ``minitestdb_keep_failed``) sets how
many; 0 keeps none.  A template that cannot be built is reported once (the
file, line and message, and what psql or the migrator said); the tests after
it get one line pointing there.  ``-v`` (or ``MINITESTDB_DEBUG=1``) shows
minitestdb's traceback too.
"""

from __future__ import annotations

import shlex
import unittest
from typing import Any, Generator, Iterator

import pytest

from . import _locks, _testenv
from ._env import read_env
from ._errors import MigrationError, MiniTestDBError
from ._migrators import MigrateArg
from ._redact import redact
from ._server import Server
from ._templates import Database, Template

__all__ = [
    "minitestdb_database",
    "minitestdb_inputs",
    "minitestdb_migrate",
    "minitestdb_seed",
    "minitestdb_server",
    "minitestdb_sql",
    "minitestdb_template",
    "minitestdb_url",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_makereport",
]

# The test's database and its server, for the report hook; and the broken templates reported in full so far.
_DATABASE = pytest.StashKey["tuple[Database, Server]"]()
_REPORTED = pytest.StashKey["list[MigrationError]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("minitestdb", "minitestdb: a fresh PostgreSQL database per test")
    group.addoption("--minitestdb-sql", action="append", default=None, metavar="PATH", help="migration file, glob or directory (repeatable; overrides the minitestdb_sql ini option)")
    group.addoption("--minitestdb-seed", action="append", default=None, metavar="PATH", help="seed file, glob or directory, applied after the migrations (repeatable)")
    parser.addini("minitestdb_sql", type="linelist", default=[], help="minitestdb: migration files, globs or directories, relative to the ini file")
    parser.addini("minitestdb_seed", type="linelist", default=[], help="minitestdb: seed files, globs or directories, relative to the ini file")
    group.addoption("--minitestdb-migrate", default=None, metavar="COMMAND", help="a migrate command run after the sql files, e.g. 'alembic upgrade head' (split like a shell would; run without one)")
    group.addoption("--minitestdb-inputs", action="append", default=None, metavar="PATH", help="files, globs or directories the migrate command reads (repeatable)")
    parser.addini("minitestdb_migrate", type="string", default="", help="minitestdb: a migrate command, run in the ini file's directory (e.g. alembic upgrade head)")
    parser.addini("minitestdb_inputs", type="linelist", default=[], help="minitestdb: what the migrate command reads, relative to the ini file")
    group.addoption(
        "--minitestdb-keep-failed", default=None, metavar="N",
        help="keep the databases of failed tests, at most N per server (0: none; default: $MINITESTDB_KEEP_FAILED, else the minitestdb_keep_failed ini option, else 10)",
    )
    parser.addini("minitestdb_keep_failed", type="string", default="", help="minitestdb: how many failed tests' databases a server keeps (0: none; default 10)")


def _ini_dir(config: pytest.Config) -> str:
    return str(config.inipath.parent if config.inipath else config.rootpath)


def _inputs(config: pytest.Config, kind: str) -> list[str]:
    """The command line's paths (relative to the invocation directory), else the ini file's (relative to it)."""
    given: list[str] | None = config.getoption(f"--minitestdb-{kind}")
    if given:
        return _testenv.resolve_paths(given, str(config.invocation_params.dir))
    lines: list[str] = config.getini(f"minitestdb_{kind}")
    return _testenv.resolve_paths(lines, _ini_dir(config))


def _migrate_command(config: pytest.Config) -> tuple[list[str] | None, str]:
    """The migrate command and the directory it runs in: the command line's (invocation directory), else the ini file's."""
    given: str | None = config.getoption("--minitestdb-migrate")
    if given:
        return shlex.split(given), str(config.invocation_params.dir)
    line: str = config.getini("minitestdb_migrate")
    return (shlex.split(line) if line.strip() else None), _ini_dir(config)


@pytest.fixture(scope="session")
def minitestdb_sql(pytestconfig: pytest.Config) -> list[str]:
    """The migration inputs; override this (session-scoped) fixture to set them in code."""
    return _inputs(pytestconfig, "sql")


@pytest.fixture(scope="session")
def minitestdb_seed(pytestconfig: pytest.Config) -> list[str]:
    """The seed inputs, applied after the migrations; override like ``minitestdb_sql``."""
    return _inputs(pytestconfig, "seed")


@pytest.fixture(scope="session")
def minitestdb_migrate(pytestconfig: pytest.Config) -> MigrateArg | None:
    """What runs between the sql and seed files: the migrate command, or override this fixture to return a function or a migrator (``minitestdb.alembic(...)``)."""
    return _migrate_command(pytestconfig)[0]


@pytest.fixture(scope="session")
def minitestdb_inputs(pytestconfig: pytest.Config) -> list[str]:
    """What the migrator reads (it decides when to rebuild); override like ``minitestdb_sql``."""
    return _inputs(pytestconfig, "inputs")


@pytest.fixture(scope="session")
def minitestdb_server() -> Server:
    """``TEST_DATABASE_URL``, else the shared Docker server; skips the tests when there is no engine."""
    try:
        return _testenv.server()
    except unittest.SkipTest as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def minitestdb_template(  # noqa: PLR0917 - pytest hands fixtures over by name
    pytestconfig: pytest.Config, minitestdb_server: Server, minitestdb_sql: list[str], minitestdb_seed: list[str], minitestdb_migrate: MigrateArg | None, minitestdb_inputs: list[str]
) -> Template:
    """The template of the migrations, the migrator and the seeds, found or built once (across xdist workers too)."""
    base = str(pytestconfig.rootpath)
    return _testenv.template(
        minitestdb_server,
        sql=_testenv.resolve_paths(minitestdb_sql, base),
        seed=_testenv.resolve_paths(minitestdb_seed, base),
        migrate=minitestdb_migrate,
        inputs=_testenv.resolve_paths(minitestdb_inputs, base),
        cwd=_migrate_command(pytestconfig)[1],
    )


@pytest.fixture
def minitestdb_database(request: pytest.FixtureRequest, minitestdb_template: Template, minitestdb_server: Server) -> Iterator[Database]:
    """A fresh clone of the template for this test, dropped after it (kept when the test failed)."""
    database = minitestdb_template.clone(getattr(request.node, "originalname", None) or request.node.name)
    request.node.stash[_DATABASE] = (database, minitestdb_server)
    try:
        yield database
    finally:
        _testenv.drop_own(database)  # a no-op once the report hook kept it


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "minitestdb_lock(*names): hold these minitestdb named locks for the whole test (across xdist workers and machines sharing the server)")


@pytest.fixture(autouse=True)
def _minitestdb_locks(request: pytest.FixtureRequest) -> Iterator[None]:
    """The named locks of the test's ``@pytest.mark.minitestdb_lock(...)`` marks, held from its set-up to the end of its teardown."""
    names = _locks.lock_names(*(mark.args for mark in request.node.iter_markers("minitestdb_lock")))
    if not names:
        yield
        return
    held = _locks.hold(names, request.getfixturevalue("minitestdb_server"))
    try:
        yield
    finally:
        held.close()


@pytest.fixture
def minitestdb_url(minitestdb_database: Database) -> str:
    """The URL of this test's fresh database (password included; its ``repr``, which pytest prints, masks it)."""
    return minitestdb_database.url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Keep a failed test's database and say so under its failure; report a broken template in full once, then in one line."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # pluggy's result of the inner hooks
    if not report.failed:
        return
    # pytest's assertion diffs show strings as they are (not their repr): mask every password in the report.
    report.longrepr = _redacted(report.longrepr, set())
    report.sections[:] = [(title, redact(content)) for title, content in report.sections]
    if call.when not in ("setup", "call"):
        return
    if call.when == "setup" and call.excinfo is not None and isinstance(call.excinfo.value, MigrationError):
        _shorten_migration_report(item, report, call.excinfo.value)
    found = item.stash.get(_DATABASE, None)
    if found is None:
        return
    database, server = found
    try:
        bound = _testenv.keep_failed_bound(item.config.getoption("--minitestdb-keep-failed"), None, item.config.getini("minitestdb_keep_failed"))
    except MiniTestDBError as exc:
        report.sections.append(("minitestdb", f"minitestdb kept nothing: {exc}"))
        return
    text = _testenv.keep_failed(database, server, label=item.name, test=item.nodeid, bound=bound)
    if text:
        report.sections.append(("minitestdb", text))


def _redacted(value: Any, seen: set[int]) -> Any:
    """*value* with passwords masked in every string it holds: strings, lists, tuples and pytest's own report objects (changed in place)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (int, float, bytes)) or id(value) in seen:
        return value
    seen.add(id(value))
    if isinstance(value, list):
        value[:] = [_redacted(item, seen) for item in value]
    elif type(value) is tuple:
        return tuple(_redacted(item, seen) for item in value)
    elif isinstance(value, dict):
        for key in list(value):
            value[key] = _redacted(value[key], seen)
    elif type(value).__module__.startswith("_pytest.") and hasattr(value, "__dict__"):
        for name, item in list(vars(value).items()):
            new = _redacted(item, seen)
            if new is not item:
                object.__setattr__(value, name, new)  # some are frozen dataclasses
    return value


def _shorten_migration_report(item: pytest.Item, report: pytest.TestReport, exc: MigrationError) -> None:
    """The first test a broken template fails gets its file, line, message and psql's (or the migrator's) output; later tests one line; ``-v`` or MINITESTDB_DEBUG=1 keep the traceback."""
    reported = item.config.stash.setdefault(_REPORTED, [])
    if any(seen is exc for seen in reported) or isinstance(exc, _testenv.EarlierTemplateFailure):
        report.longrepr = _testenv.migration_pointer(exc)
        return
    reported.append(exc)
    if item.config.getoption("verbose") > 0 or read_env().debug:
        return
    report.longrepr = _testenv.migration_report(exc, hint="pytest -v, or MINITESTDB_DEBUG=1")
