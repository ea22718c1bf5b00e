"""What the unittest and pytest helpers share: which server, which template, skip or fail, the guard.

One server and one template per set of inputs are made per process and cached
here, so every test class (or pytest-xdist worker) asks once.  When no Docker
engine answers and ``TEST_DATABASE_URL`` is unset, the tests skip with one
reason, unless ``MINITESTDB_REQUIRED=1`` (or ``MINITESTDB_REQUIRE_DOCKER=1``)
makes that an error.  Any other failure (a bad URL, a migration that fails) is
always an error.  This module never imports pytest.

A failed test's database is kept (:func:`keep_failed`) under a name that
shows the test, at most ``MINITESTDB_KEEP_FAILED`` (default 10) per server,
and the report says so in one line (:func:`kept_report`).  A template that
cannot be built is reported in full once (:func:`migration_report`); the
tests after it get a one-line pointer (:func:`migration_pointer`).
"""

from __future__ import annotations

import os
import sys
import threading
import unittest
from typing import Mapping, Sequence, Tuple, Union

from ._env import DEFAULT_KEEP_FAILED, parse_keep_failed, read_env
from ._errors import DockerDaemonError, DockerNotFoundError, DockerPermissionError, MigrationError, MiniTestDBError
from ._hints import ON_TEST_DATABASE_URL, command_hint
from ._migrators import MigrateArg
from ._naming import parse_name
from ._redact import redact
from ._server import Server
from ._server_from_env import server_from_env
from ._templates import DEFAULT_POOL_SIZE, Database, KeptDatabase, Template, keep_database

__all__ = [
    "NO_ENGINE_ERRORS",
    "EarlierTemplateFailure",
    "assert_own_database",
    "drop_own",
    "is_required",
    "keep_failed",
    "keep_failed_bound",
    "kept_report",
    "migration_pointer",
    "migration_report",
    "module_dir",
    "resolve_paths",
    "server",
    "skip_reason",
    "template",
]

#: The errors that mean "no Docker engine here" (a skip), as opposed to a real failure.
NO_ENGINE_ERRORS = (DockerNotFoundError, DockerDaemonError, DockerPermissionError)

PathItem = Union[str, "os.PathLike[str]"]
_ServerKey = Tuple[str, ...]
_lock = threading.RLock()
_servers: dict[_ServerKey, Server | BaseException] = {}
_templates: dict[tuple[object, ...], Template] = {}
# Templates that could not be built, by the same key: the tests after the first get a pointer.
_failures: dict[tuple[object, ...], MigrationError] = {}


class EarlierTemplateFailure(MigrationError):
    """The template failed to build earlier in this run (reported in full then): raised, in one line, for every later test or class."""


# --- pure decisions -----------------------------------------------------------------


def is_required(environ: Mapping[str, str] | None = None) -> bool:
    """True when MINITESTDB_REQUIRED or MINITESTDB_REQUIRE_DOCKER is set to 1 (or true/yes/on)."""
    return read_env(environ).required


def skip_reason(exc: BaseException, environ: Mapping[str, str] | None = None) -> str | None:
    """The one skip reason when *exc* means "no Docker engine and no TEST_DATABASE_URL", else None.

    None means the error must be raised: it is not a missing engine, or a
    TEST_DATABASE_URL was given, or the run is required
    (MINITESTDB_REQUIRED=1 / MINITESTDB_REQUIRE_DOCKER=1).
    """
    env = read_env(environ)
    if not isinstance(exc, NO_ENGINE_ERRORS) or env.test_database_url or env.required:
        return None
    return f"minitestdb: no Docker engine, database tests skipped: {str(exc).rstrip('.')}; or set TEST_DATABASE_URL (MINITESTDB_REQUIRED=1 makes this an error)."


def keep_failed_bound(option: str | None = None, environ: Mapping[str, str] | None = None, ini: str = "") -> int:
    """How many failed tests' databases to keep per server: the command line's *option*, else MINITESTDB_KEEP_FAILED, else the *ini* value, else 10.

    0 keeps none.  A value not understood raises ConfigurationError naming where it came from.
    """
    for text, where in ((option or "", "--minitestdb-keep-failed"), (read_env(environ).keep_failed_text, "MINITESTDB_KEEP_FAILED"), (ini, "minitestdb_keep_failed")):
        bound = parse_keep_failed(text, where)
        if bound is not None:
            return bound
    return DEFAULT_KEEP_FAILED


def kept_report(kept: KeptDatabase, *, server_name: str | None, bound: int) -> str:
    """What a failed test's report says about its kept database: one line, plus one when older kept databases were dropped (or left: in use).

    *server_name* is the shared server's name, None for TEST_DATABASE_URL's
    server (the commands then use that variable, as the tests did).
    """
    name = kept.name
    where = f"open it with {command_hint('psql', '-d', name, server=server_name)}, drop it with {command_hint('drop', name, server=server_name)}"
    where += f" ({ON_TEST_DATABASE_URL})." if server_name is None else "."
    lines = [f"minitestdb kept this test's database {name} ({redact(kept.redacted_url)}): {where}"]
    if kept.dropped or kept.in_use:
        parts = [f"dropped the oldest kept databases {', '.join(kept.dropped)}"] if kept.dropped else []
        parts += [f"left {', '.join(kept.in_use)} (in use)"] if kept.in_use else []
        lines.append(f"minitestdb {' and '.join(parts)}: a server keeps the newest {bound} (MINITESTDB_KEEP_FAILED sets how many).")
    return "\n".join(lines)


def _where(exc: MigrationError) -> str:
    if exc.file:
        return f"{exc.file}:{exc.line}" if exc.line else exc.file
    return f"the migrator {exc.migrator}" if exc.migrator else "a migration"


def migration_report(exc: MigrationError, *, hint: str) -> str:
    """The one full report of a template that could not be built: what failed (file, line, message), then what psql or the migrator said.

    *hint* says how to see minitestdb's own traceback (pytest ``-v``, or MINITESTDB_DEBUG=1).

    >>> exc = MigrationError("Migration m/002.sql:2 failed: ERROR: boom; fix the file and run again.", file="m/002.sql", line=2, detail="psql exit code 3\\npsql:m/002.sql:2: ERROR:  boom")
    >>> print(migration_report(exc, hint="pytest -v"))
    minitestdb: Migration m/002.sql:2 failed: ERROR: boom; fix the file and run again.
        psql exit code 3
        psql:m/002.sql:2: ERROR:  boom
    (minitestdb's traceback: pytest -v)
    """
    detail = [f"    {line}" for line in exc.detail.splitlines() if line.strip()]
    return "\n".join([f"minitestdb: {exc}", *detail, f"(minitestdb's traceback: {hint})"])


def migration_pointer(exc: MigrationError) -> str:
    """The one line every test after the first gets for a template that could not be built.

    >>> print(migration_pointer(MigrationError("x", file="m/002.sql", line=2)))
    minitestdb: the template could not be built, m/002.sql:2 failed (reported in full for the first test that needed it); fix it and run again.
    """
    if isinstance(exc, EarlierTemplateFailure):
        return f"minitestdb: {exc}"
    return f"minitestdb: the template could not be built, {_where(exc)} failed (reported in full for the first test that needed it); fix it and run again."


def resolve_paths(items: PathItem | Sequence[PathItem] | None, base: str) -> list[str]:
    """Paths, globs and directories made absolute: relative ones are taken from *base*, ``~`` expanded."""
    if items is None:
        return []
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    return [os.path.normpath(os.path.join(base, os.path.expanduser(os.fspath(item)))) for item in items]


def module_dir(module_name: str) -> str:
    """The directory of the module *module_name* (the current directory if it has no file)."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path else os.getcwd()


def assert_own_database(name: str, *, kind: str | None = None) -> None:
    """Raise AssertionError unless *name* is a minitestdb clone or test schema (the only things tests drop).

    *kind* (``"clone"`` or ``"schema"``) narrows it to one of the two.  Templates,
    half-built templates and every other name are refused.
    """
    parsed = parse_name(name)
    allowed = (kind,) if kind else ("clone", "schema")
    if parsed is None or parsed.kind not in allowed:
        found = "not a minitestdb name" if parsed is None else f"a minitestdb {parsed.kind}"
        raise AssertionError(f"Refusing to drop {name!r}: it is {found}, and tests only drop their own {' or '.join(allowed)}s.")


def drop_own(database: Database) -> None:
    """Drop a test's database (or schema) after checking with :func:`assert_own_database` that it is one; a kept one stays."""
    if database.kept:
        return
    if database.schema:
        assert_own_database(database.schema, kind="schema")
    else:
        assert_own_database(database.name, kind="clone")
    # The template's worker drops it while the next test runs (flushed at exit).
    database.drop(wait=False)


# --- the cached server and templates ----------------------------------------------------


def server() -> Server:
    """The server tests use: ``TEST_DATABASE_URL``, else the shared server (``MINITESTDB_SERVER``, default ``default``).

    Made once per process (a failure is remembered too).  Raises
    ``unittest.SkipTest`` with one reason when no engine answers and the run is
    not required; every other failure is raised as it is.
    """
    env = read_env()
    key = env.key()
    with _lock:
        found = _servers.get(key)
        if found is None:
            try:
                found = server_from_env(name=env.server)
            except MiniTestDBError as exc:
                found = exc
            _servers[key] = found
    if isinstance(found, Server):
        return found
    reason = skip_reason(found)
    if reason is not None:
        raise unittest.SkipTest(reason)
    if isinstance(found, NO_ENGINE_ERRORS) and env.required:
        raise MiniTestDBError(f"{str(found).rstrip('.')}; {env.required_by}=1 is set, so a missing Docker engine is an error, not a skip.", detail=found.detail) from found
    raise found


def template(
    srv: Server,
    *,
    sql: Sequence[str] = (),
    seed: Sequence[str] = (),
    migrate: MigrateArg | None = None,
    inputs: Sequence[str] = (),
    cwd: str | None = None,
    name: str | None = None,
    pool: int = DEFAULT_POOL_SIZE,
) -> Template:
    """The template for these (absolute) inputs on *srv*: found or built once per process and cached.

    An argv *migrate* runs in *cwd*; its *inputs* are absolute paths.
    """
    migrate_key = tuple(migrate) if isinstance(migrate, (list, tuple)) else migrate
    key = (read_env().key(), srv.host, srv.port, srv.dbname, tuple(sql), tuple(seed), migrate_key, tuple(inputs), cwd, name, pool)
    with _lock:
        failed = _failures.get(key)
        if failed is not None:
            raise EarlierTemplateFailure(migration_pointer(failed)[len("minitestdb: ") :], file=failed.file, line=failed.line, server_message=failed.server_message, migrator=failed.migrator)
        found = _templates.get(key)
        if found is None:
            try:
                built = srv.template(list(sql), list(seed), migrate=migrate, inputs=list(inputs), cwd=cwd, name=name, pool=pool)
            except MigrationError as exc:
                _failures[key] = exc
                raise
            found = _templates[key] = built
        return found


# --- keeping a failed test's database -------------------------------------------------


def keep_failed(database: Database, srv: Server, *, label: str, test: str, bound: int) -> str:
    """Keep the database of the failed test *test* (see :func:`~minitestdb._templates.keep_database`); the report's text, ``""`` when nothing was kept.

    Nothing is kept with *bound* 0, in the schema mode, on a private server (it
    is removed at exit with everything on it), or once the database is gone.
    A failure to keep is reported in the same place and never hides the test's own failure.
    """
    if bound <= 0 or database.schema or database.dropped or database.kept or srv.owned:
        return ""
    try:
        kept = keep_database(database, label=label, test=test, bound=bound)
    except MiniTestDBError as exc:
        return f"minitestdb could not keep this test's database {database.name} ({exc}); it is dropped as usual."
    return kept_report(kept, server_name=srv.name if srv.container_id else None, bound=bound)
