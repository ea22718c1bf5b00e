"""What the unittest and pytest helpers share: which server, which template, skip or fail, the guard.

One server and one template per set of inputs are made per process and cached
here, so every test class (or pytest-xdist worker) asks once.  When no Docker
engine answers and ``TEST_DATABASE_URL`` is unset, the tests skip with one
reason, unless ``MINITESTDB_REQUIRED=1`` (or ``MINITESTDB_REQUIRE_DOCKER=1``)
makes that an error.  Any other failure (a bad URL, a migration that fails) is
always an error.  This module never imports pytest.
"""

from __future__ import annotations

import os
import sys
import threading
import unittest
from typing import Mapping, Sequence, Tuple, Union

from ._env import read_env
from ._errors import DockerDaemonError, DockerNotFoundError, DockerPermissionError, MiniTestDBError
from ._migrators import MigrateArg
from ._naming import parse_name
from ._server import Server
from ._server_from_env import server_from_env
from ._templates import DEFAULT_POOL_SIZE, Database, Template

__all__ = [
    "NO_ENGINE_ERRORS",
    "assert_own_database",
    "drop_own",
    "is_required",
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
    """Drop a test's database (or schema) after checking with :func:`assert_own_database` that it is one."""
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
        found = _templates.get(key)
        if found is None:
            built = srv.template(list(sql), list(seed), migrate=migrate, inputs=list(inputs), cwd=cwd, name=name, pool=pool)
            found = _templates[key] = built
        return found
