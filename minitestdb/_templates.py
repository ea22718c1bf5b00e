"""Templates and clones: a migrated template database built once, a fresh clone per test.

The model (as in Go's pgtestdb): hash the migration files into a fingerprint;
build the template once across every process under an advisory lock, under a
temporary name, then rename it and mark it ``IS_TEMPLATE true ALLOW_CONNECTIONS
false``; give each test ``CREATE DATABASE ... TEMPLATE`` of it.  Admin statements
go through one long-lived wire-client connection per process and server.

Owners on a shared server: every admin connection holds this process's owner
lock (``_owner.owner_key``) before it runs anything, and the clones, schemas and
half-built templates it creates carry that key in their names.  The server
releases the lock when the process dies, however it dies, so ``prune`` on any
host drops what no live owner holds (:func:`orphaned` is the rule), and a
process that builds or finds a template drops its dead owners' clones, at most
once a minute across all processes.
"""

from __future__ import annotations

import atexit
import os
import queue
import re
import sys
import threading
import time
import weakref
from typing import AbstractSet, Callable, ClassVar, NamedTuple, Sequence

from ._admin_sql import (
    LOCK_NAMESPACE,
    advisory_lock_key,
    check_supported,
    clone_database_sql,
    comment_on_database_sql,
    copy_settings_sql,
    database_settings_sql,
    drop_database_sql,
    held_owner_keys_sql,
    minitestdb_databases_sql,
    owner_lock_seen_sql,
    owner_lock_sql,
    parse_owner_keys,
    prune_claim_sql,
    prune_release_sql,
    rename_database_sql,
    terminate_sessions_sql,
)
from ._endpoint import Endpoint, EndpointView
from ._env import DEFAULT_KEEP_FAILED
from ._errors import ConfigurationError, DatabaseConnectionError, MigrationError, MiniTestDBError, ServerError
from ._migrations import DEFAULT_MIGRATION_TIMEOUT, InputFile, PathLike, Progress, SchemaScript, apply_files, digest_files, dump_schema, fingerprint, resolve_inputs, schema_script
from ._migrators import Migrator, migrator_raised
from ._naming import clone_name, host_tag, kept_name, next_kept_number, owner_part, parse_name, schema_name, temp_build_name, template_group, template_name, template_source, unique_part
from ._owner import at_fork_in_child, hostname, next_count, owner_alive, owner_key
from ._pgconn import Connection, connect
from ._redact import redact
from ._wire import quote_ident, quote_literal, server_version_num

__all__ = [
    "DEFAULT_KEEP_FAILED",
    "DEFAULT_POOL_SIZE",
    "Database",
    "KeptDatabase",
    "Template",
    "build_template",
    "drop_database",
    "keep_database",
    "kept_comment",
    "kept_over_bound",
    "orphaned",
    "prune_databases",
    "template_comment",
]

DEFAULT_POOL_SIZE = 2
ADMIN_TIMEOUT = 60.0
_OBJECT_IN_USE = "55006"
_DUPLICATE_DATABASE = "42P04"
_INSUFFICIENT_PRIVILEGE = "42501"
#: A process that builds or finds a template scans its clones for dead owners at most this often, and one process per period across all.
PRUNE_PERIOD = 60.0
#: At most this many dead owners' clones dropped by one such scan: the caller waits for them (the next scan, or `prune`, takes the rest).
PRUNE_BATCH = 50


class _Admin:
    """One long-lived admin connection per process and server, shared by threads under a lock.

    Each connection takes the process's owner lock before anything else (so
    before any clone recording the key exists), again after a reconnect.
    """

    _instances: ClassVar[dict[Endpoint, _Admin]] = {}
    _instances_lock = threading.Lock()

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.lock = threading.RLock()
        self._conn: Connection | None = None
        # The owner key this connection holds and pg_locks shows; None: the names it makes carry no key.
        self._key: int | None = None
        # The prune claims this connection holds: template fingerprint -> the minute claimed.
        self._claims: dict[str, int] = {}

    @classmethod
    def of(cls, endpoint: Endpoint) -> _Admin:
        with cls._instances_lock:
            admin = cls._instances.get(endpoint)
            if admin is None:
                admin = cls._instances[endpoint] = cls(endpoint)
            return admin

    @classmethod
    def forget_all(cls) -> None:
        with cls._instances_lock:
            cls._instances.clear()

    def connection(self) -> Connection:
        with self.lock:
            if self._conn is None or self._conn.closed:
                conn = connect(self.endpoint, timeout=ADMIN_TIMEOUT, application_name="minitestdb-admin")
                try:
                    self._key = self._hold_owner_key(conn)
                except BaseException:
                    conn.close()
                    raise
                self._conn, self._claims = conn, {}
            return self._conn

    def _hold_owner_key(self, conn: Connection) -> int | None:
        """Take this process's owner lock on *conn*; the key if pg_locks shows it held by *conn*, else None (said once)."""
        key = owner_key()
        try:
            taken = conn.query(owner_lock_sql(key)).rows
            seen = conn.query(owner_lock_seen_sql(key)).rows
        except ServerError as exc:
            seen, why = [], f"reading pg_locks failed ({exc})"
        else:
            why = "pg_locks does not show it (a pooler in transaction mode?)" if taken and taken[0][-1] == "t" else "another session holds it exclusively"
        if seen == [("1",)]:
            return key
        _say_once(
            f"minitestdb: the server at {self.endpoint.address} cannot witness this process's owner lock: {why}; "
            "its clones carry no owner key, so only `prune` on this host judges them, by pid."
        )
        return None

    def owner_key(self) -> int | None:
        """The owner key the names this connection creates carry (held by it), or None."""
        with self.lock:
            self.connection()
            return self._key

    def held_owner_keys(self) -> frozenset[int] | None:
        """Every owner key some session on the server holds; None when the server's locks cannot be read (this process's own key is the check)."""
        with self.lock:
            mine = self.owner_key()
            if mine is None:
                return None
            try:
                held = parse_owner_keys(self.query(held_owner_keys_sql()))
            except ServerError:
                return None
            return held if mine in held else None

    def claim_prune(self, fp: str, minute: int) -> bool:
        """Whether this connection won the scan of *fp*'s clones for *minute* (it keeps the claim; an older one is let go)."""
        with self.lock:
            self.connection()
            if self._claims.get(fp) == minute:
                return True
            if self.query(prune_claim_sql(fp, minute)) != [("t",)]:
                return False
            older = self._claims.get(fp)
            if older is not None:
                self.query(prune_release_sql(fp, older))
            self._claims[fp] = minute
            return True

    def query(self, sql: str) -> list[tuple[str | None, ...]]:
        with self.lock:
            try:
                return self.connection().query(sql).rows
            except DatabaseConnectionError:
                # The server restarted or the connection died: the next call reconnects.
                self.close()
                raise

    def server_version(self) -> int:
        """The server's ``server_version_num``; ConfigurationError for a server older than minitestdb supports."""
        with self.lock:
            version = server_version_num(self.connection().parameters.get("server_version", "0"))
        check_supported(version, self.endpoint.address)
        return version

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _owner(pid: int | None = None, *, key: int | None = None) -> str:
    return owner_part(hostname(), os.getpid() if pid is None else pid, key)


def _unique() -> str:
    return unique_part(next_count(), os.urandom(3).hex())


# Databases this process created and has not dropped: dropped at exit.
_LIVE: weakref.WeakSet[Database] = weakref.WeakSet()
_WORKERS: weakref.WeakSet[_Worker] = weakref.WeakSet()
# A forked child shares the parent's sockets and has none of its threads:
# it forgets them (without closing: they are the parent's) and starts afresh.
at_fork_in_child(_LIVE.clear)
at_fork_in_child(_WORKERS.clear)
at_fork_in_child(_Admin.forget_all)


@atexit.register
def _cleanup_at_exit() -> None:
    for worker in list(_WORKERS):
        worker.stop()
    for database in list(_LIVE):
        try:
            database.drop()
        except MiniTestDBError:
            pass


class Database(EndpointView):
    """A fresh database (a clone of a template) or schema (the schema mode) for one test.

    ``.url`` is what the code under test connects to; :meth:`drop` removes it
    (also at exit), :meth:`reset` returns it to its just-created state.
    """

    def __init__(self, template: Template, name: str, *, schema: str | None = None) -> None:
        self.template = template
        self.name = name
        self.schema = schema
        #: Where the test connects: the clone, or (schema mode) the server's database with search_path set.
        self.endpoint = template.endpoint.replace(options=f"-c search_path={schema}") if schema else template.endpoint.replace(dbname=name)
        self.dropped = False
        #: True once :func:`keep_database` renamed it to a ``mtdb_kept_`` name: a failed test's database, left for a person.
        self.kept = False
        _LIVE.add(self)

    @property
    def options(self) -> str:
        return self.endpoint.options

    def connect(self, *, timeout: float = 10.0) -> Connection:
        return connect(self.endpoint, timeout=timeout)

    def drop(self, *, wait: bool = True) -> None:
        """Drop the database (terminating its leftover connections) or schema. Idempotent.

        With ``wait=False`` the drop is queued to the template's background
        worker, so the caller (a test's teardown) does not wait for it; it is
        done before the next pooled clone is made, and at exit at the latest.
        """
        if self.dropped:
            return
        self.dropped = True
        _LIVE.discard(self)
        kind = "schema" if self.schema else "clone"
        statements = self.template._drop_statements(kind, self.schema or self.name)
        if not wait:
            self.template._drop_later(statements, kind)
            return
        for sql in statements:
            self.template._admin.query(sql)

    def close(self) -> None:
        """Same as :meth:`drop`."""
        self.drop()

    def keep(self) -> None:
        """Keep the database after this process exits (it is not dropped at exit)."""
        _LIVE.discard(self)

    def reset(self) -> None:
        """Return to the just-created state: drop and re-create under the same name."""
        self.drop()
        if self.schema:
            self.template._create_schema(self.schema)
        else:
            self.template._create_clone(self.template._admin, self.name)
        self.dropped = False
        _LIVE.add(self)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.drop()

    def __repr__(self) -> str:
        return f"<minitestdb.Database {self.redacted_url}{' dropped' if self.dropped else ' kept' if self.kept else ''}>"


class _Worker:
    """A background thread per template: drops what tests are done with, and keeps *size* clones ready.

    Drops come first, so a test never waits for the previous test's teardown,
    and a pooled clone is handed over without waiting for anything.
    """

    def __init__(self, template: Template, size: int, kind: str = "clone") -> None:
        self.template = template
        self.size = size
        #: What it keeps ready: ``clone`` (databases) or ``schema`` (replays of the captured schema).
        self.kind = kind
        self.ready: queue.Queue[str] = queue.Queue()
        self.drops: queue.Queue[list[str]] = queue.Queue()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._admin = _Admin(template.endpoint)  # its own connection (holding the process's owner key too): it must not block the caller's
        self.error: BaseException | None = None
        self.pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name=f"minitestdb-worker-{template.name}", daemon=True)
        _WORKERS.add(self)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    statements = self.drops.get_nowait()
                except queue.Empty:
                    pass
                else:
                    try:
                        for sql in statements:
                            self._admin.query(sql)
                    finally:
                        self.drops.task_done()
                    continue
                if self.ready.qsize() < self.size:
                    name = self.template._make_pooled(self.kind, self._admin)
                    if name is None:
                        self.size = 0  # nothing to make ahead: only drops from now on
                    else:
                        self.ready.put(name)
                    continue
                self._wake.wait(1.0)
                self._wake.clear()
        except BaseException as exc:  # noqa: BLE001 - reported to the caller through take()
            self.error = exc

    def take(self) -> str | None:
        try:
            name = self.ready.get_nowait()
        except queue.Empty:
            name = None
        self._wake.set()
        return name

    def drop_later(self, statements: list[str]) -> None:
        self.drops.put(statements)
        self._wake.set()

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued drop is done (or the thread has died)."""
        deadline = time.monotonic() + timeout
        while self.drops.unfinished_tasks and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)

    def stop(self) -> None:
        """Finish the queued drops, stop the thread, and drop the clones (or schemas) nobody took."""
        self.flush()
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=30)
        leftovers: list[list[str]] = []
        while True:
            try:
                leftovers.append(self.drops.get_nowait())
            except queue.Empty:
                break
        while True:
            try:
                leftovers.append(self.template._drop_statements(self.kind, self.ready.get_nowait()))
            except queue.Empty:
                break
        for statements in leftovers:
            try:
                for sql in statements:
                    self._admin.query(sql)
            except MiniTestDBError:
                pass
        self._admin.close()


class Template:
    """A migrated template database; :meth:`clone` gives each test its own copy."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        container: str | None,
        docker_binary: str,
        name: str,
        fingerprint: str,
        sql: Sequence[InputFile],
        seed: Sequence[InputFile],
        migrator: Migrator | None = None,
        settings: Sequence[tuple[str, str]] = (),
        built: bool,
        server_version: int,
        pool_size: int,
        build_seconds: float,
    ) -> None:
        #: The server's own database: admin statements and the schema mode go there.
        self.endpoint = endpoint
        self.container = container
        self.docker_binary = docker_binary
        self.name = name
        self.fingerprint = fingerprint
        self.sql = list(sql)
        self.seed = list(seed)
        #: What ran between the sql and the seed files, if anything.
        self.migrator = migrator
        #: The template's per-database settings (role or '', ``name=value``), given to every clone.
        self.settings = list(settings)
        #: True when this process built the template, False when it found it.
        self.built = built
        self.server_version = server_version
        self.pool_size = pool_size
        self.build_seconds = build_seconds
        #: The background workers by kind: ``clone`` (the pool) and ``schema`` (the schema mode's).
        self._workers: dict[str, _Worker] = {}
        self._worker_lock = threading.Lock()
        # The schema mode: what the migrations made in the first schema, replayed into the next ones.
        # None until a schema was migrated; False when it cannot be captured or replayed (they re-run the migrations).
        self._schema_script: SchemaScript | bool | None = None
        self._schema_lock = threading.Lock()

    @property
    def _admin(self) -> _Admin:
        # Looked up on each use, so that a forked child gets its own connection.
        return _Admin.of(self.endpoint)

    def __repr__(self) -> str:
        return f"<minitestdb.Template {self.name} on {self.endpoint.address}>"

    def _create_clone(self, admin: _Admin, name: str) -> None:
        admin.query(clone_database_sql(name, self.name, self.server_version))
        for statement in copy_settings_sql(name, self.settings):
            admin.query(statement)

    def _new_clone_name(self, label: str | None, *, pid: int | None = None, admin: _Admin | None = None) -> str:
        """A name for a clone *admin* (default: the process's) creates: with this process's owner key, which that connection holds.

        A *pid* of another owner (0: none, a clone kept by the CLI) gives a name without key, judged by the host-local rule.
        """
        key = (admin or self._admin).owner_key() if pid is None else None
        return clone_name(label, self.fingerprint, owner=_owner(pid, key=key), suffix=_unique())

    def start_pool(self) -> None:
        """Start filling the pool in the background (a no-op with ``pool=0`` or when running)."""
        if self.pool_size > 0:
            self._background("clone")

    def _background(self, kind: str) -> _Worker:
        """The worker that keeps *kind* (``clone`` or ``schema``) ready and drops what tests are done with.

        The schema worker keeps replays ready only once the schema is captured (a
        process's first schema is migrated, and without a capture every schema is):
        until then it only drops.  A schema-mode run so never makes a clone.
        """
        with self._worker_lock:
            worker = self._workers.get(kind)
            if worker is None or worker.pid != os.getpid():
                size = self.pool_size if kind == "clone" or isinstance(self._schema_script, SchemaScript) else 0
                worker = self._workers[kind] = _Worker(self, size, kind)
        if worker.error is not None:
            error, worker.error = worker.error, None
            with self._worker_lock:
                self._workers.pop(kind, None)
            raise error
        return worker

    def _make_pooled(self, kind: str, admin: _Admin) -> str | None:
        """Make one clone (or replayed schema) for the pool on *admin*, the worker's connection; returns its name.

        None when there is no capture to replay (any more: see :meth:`_replay_schema`).
        """
        if kind == "schema":
            schema = schema_name("pool", owner=_owner(key=admin.owner_key()), suffix=_unique())
            return schema if self._replay_schema(admin, schema) else None
        name = self._new_clone_name("pool", admin=admin)
        self._create_clone(admin, name)
        return name

    def _drop_statements(self, kind: str, name: str) -> list[str]:
        return [f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE"] if kind == "schema" else drop_database_sql(name, self.server_version)

    def _pooled(self) -> str | None:
        if self.pool_size <= 0:
            return None
        return self._background("clone").take()

    def _drop_later(self, statements: list[str], kind: str = "clone") -> None:
        self._background(kind).drop_later(statements)

    def clone(self, name: str | None = None) -> Database:
        """A new database copied from the template; *name* (say, the test's id) labels it.

        Served from the pool when one is ready, else created now.
        """
        pooled = self._pooled()
        if pooled is not None:
            return Database(self, pooled)
        db_name = self._new_clone_name(name)
        self._create_clone(self._admin, db_name)
        return Database(self, db_name)

    def _clone_exact(self, name: str) -> Database:
        """A clone under exactly *name* (Django's parallel workers find theirs as ``<clone>_<n>``)."""
        self._create_clone(self._admin, name)
        return Database(self, name)

    def keep_clone(self, name: str | None = None) -> Database:
        """A clone with no owner process (for the CLI): kept until dropped, never pruned as orphaned."""
        db_name = self._new_clone_name(name, pid=0)
        self._create_clone(self._admin, db_name)
        database = Database(self, db_name)
        _LIVE.discard(database)
        return database

    def _replay_schema(self, admin: _Admin, schema: str) -> bool:
        """Create *schema* on *admin* by replaying the captured script in one round trip; False when there is none.

        A replay that fails turns replays off (said once): each schema is migrated from then on.
        """
        script = self._schema_script
        if not isinstance(script, SchemaScript):
            return False
        try:
            admin.query(script.render(schema))  # one implicit transaction: nothing is left when it fails
        except ServerError as exc:
            self._no_schema_script(f"replaying the captured schema failed ({exc})")
            return False
        return True

    def _create_schema(self, schema: str) -> None:
        """Create *schema* holding what the migrations make: replayed in one round trip once captured, else migrated."""
        if self._replay_schema(self._admin, schema):
            return
        self._admin.query(f"CREATE SCHEMA {quote_ident(schema)}")
        try:
            endpoint = self.endpoint.replace(options=f"-c search_path={schema}")
            _migrate(endpoint, sql=self.sql, migrator=self.migrator, seed=self.seed, container=self.container, docker_binary=self.docker_binary, timeout=DEFAULT_MIGRATION_TIMEOUT)
            if self._schema_script is None:
                self._capture_schema(schema)
        except BaseException:
            self._admin.query(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
            raise

    def _capture_schema(self, schema: str) -> None:
        """Keep what the migrations just made in *schema* (untouched yet) as a script for the next schemas."""
        with self._schema_lock:
            if self._schema_script is not None:
                return
            try:
                dump = dump_schema(self.endpoint, schema, container=self.container, docker_binary=self.docker_binary)
            except MigrationError:
                # Once more: pg_dump reads the whole catalog, and another schema dropped meanwhile can fail it.
                try:
                    dump = dump_schema(self.endpoint, schema, container=self.container, docker_binary=self.docker_binary)
                except MigrationError as exc:
                    self._no_schema_script(f"pg_dump could not capture the migrated schema: {exc}")
                    return
            script = schema_script(dump, schema)
            if script is None:
                self._no_schema_script("the dump of the migrated schema holds psql meta-commands")
                return
            self._schema_script = script

    def _no_schema_script(self, reason: str) -> None:
        self._schema_script = False
        _say_once(f"minitestdb: the schema mode re-runs the migrations for each schema of {self.name}: {redact(reason)}")

    def schema(self, name: str | None = None) -> Database:
        """A fresh schema ``test_<id>`` in the server's database, migrated; its URL sets search_path.

        For servers where creating databases is not allowed or too slow.  The
        first schema of a process is migrated; pg_dump then captures what the
        migrations made in it, and each next schema gets a replay of that in one
        round trip (without pg_dump, on the host or in the server's container,
        every schema is migrated).  So the migrations must not name a schema of
        their own.
        """
        if self.pool_size > 0 and isinstance(self._schema_script, SchemaScript):
            pooled = self._background("schema").take()
            if pooled is not None:
                return Database(self, pooled, schema=pooled)
        schema = schema_name(name, owner=_owner(key=self._admin.owner_key()), suffix=_unique())
        self._create_schema(schema)
        if self.pool_size > 0 and isinstance(self._schema_script, SchemaScript):
            self._background("schema")  # captured: replays are made ahead from now on
        return Database(self, schema, schema=schema)

    def flush(self) -> None:
        """Wait until the drops queued by ``drop(wait=False)`` are done."""
        with self._worker_lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.flush()

    def close(self) -> None:
        """Finish queued drops, stop the pool and drop its unused clones and schemas (also done at exit)."""
        with self._worker_lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()


_SAID: set[str] = set()


def _say_once(line: str) -> None:
    """Print *line* to stderr, once per process."""
    if line in _SAID:
        return
    _SAID.add(line)
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _migrate(
    endpoint: Endpoint, *, sql: Sequence[InputFile], migrator: Migrator | None, seed: Sequence[InputFile], container: str | None, docker_binary: str, timeout: float, progress: Progress = None
) -> None:
    """Build a template's content at *endpoint*: the sql files, then the migrator, then the seed files (each step told to *progress*)."""
    if migrator is None:
        apply_files(endpoint, [*sql, *seed], container=container, docker_binary=docker_binary, timeout=timeout, progress=progress)
        return
    apply_files(endpoint, sql, container=container, docker_binary=docker_binary, timeout=timeout, progress=progress)
    if progress is not None:
        progress(f"running {migrator.describe()}")
    try:
        migrator.migrate(endpoint)
    except MigrationError:
        raise
    except Exception as exc:  # a migrator of the user's own that raised something else
        raise migrator_raised(migrator.describe(), exc) from exc
    apply_files(endpoint, seed, container=container, docker_binary=docker_binary, timeout=timeout, progress=progress)


# --- what a database's comment says (pure) ------------------------------------------------


def template_comment(built: int, source: str) -> str:
    """The comment a template gets: when it was built and where it comes from (``prune`` reads both).

    >>> template_comment(1700000000, "dir:/p/app"), template_comment(5, "")
    ('minitestdb template built=1700000000 source=dir:/p/app', 'minitestdb template built=5')
    """
    return f"minitestdb template built={built}" + (f" source={source}" if source else "")


def parse_template_comment(comment: str) -> tuple[int, str]:
    """(built, source) from a template's comment; (0, "") for what it lacks (templates of older versions have no source).

    >>> parse_template_comment("minitestdb template built=17 source=dir:/p/my app"), parse_template_comment("")
    ((17, 'dir:/p/my app'), (0, ''))
    """
    match = re.match(r"^minitestdb template built=(\d+)(?: source=(.*))?$", comment or "", re.DOTALL)
    return (int(match.group(1)), match.group(2) or "") if match else (0, "")


def kept_comment(test: str, at: float) -> str:
    """The comment a kept database gets: when (seconds since the epoch) and which test.

    >>> kept_comment("tests/test_x.py::test_signup", 1700000000.25)
    'minitestdb kept at=1700000000.250 test=tests/test_x.py::test_signup'
    """
    return f"minitestdb kept at={at:.3f} test={redact(test)}"


def kept_at(comment: str) -> float:
    """When a database was kept, from its comment (0 when the comment says nothing: it counts as the oldest).

    >>> kept_at("minitestdb kept at=1700000000.250 test=t"), kept_at("")
    (1700000000.25, 0.0)
    """
    match = re.match(r"^minitestdb kept at=([0-9]+(?:\.[0-9]+)?)", comment or "")
    return float(match.group(1)) if match else 0.0


def orphaned(name: str, *, here: str, held: AbstractSet[int] | None, alive: Callable[[int], bool]) -> bool:
    """Whether *name* is a clone, schema or half-built template whose owner is gone: ``prune``'s rule, over the facts it gathered.

    A name with an owner key is judged by *held*, the keys some session on the
    server holds: whatever host the owner runs on, it is alive while its lock
    is.  A name without a key (made before owner keys, or by an owner whose lock
    the server could not show), or any name when the server's locks cannot be
    read (*held* None), is judged only on its own host (*here*, a host tag), by
    pid (*alive*); pid 0 means no owner process (kept on purpose).  Whether a
    session uses the database is checked apart.

    >>> alive = lambda pid: pid in (0, 7)
    >>> [orphaned(name, here="1a2b", held={36}, alive=alive) for name in (
    ...     "mtdb_x_01234567_ffff7_k10_1c0ffee",  # key held: another host's live owner
    ...     "mtdb_x_01234567_1a2b7_k11_1c0ffee",  # key not held: dead, though its pid 7 runs here
    ...     "mtdb_x_01234567_1a2b8_1c0ffee",      # no key, this host, pid 8 gone
    ...     "mtdb_x_01234567_ffff8_1c0ffee",      # no key, another host: cannot tell
    ...     "mtdb_tpl_x_0123456789abcdef01234567", "postgres")]
    [False, True, True, False, False, False]
    >>> orphaned("mtdb_x_01234567_1a2b7_k11_1c0ffee", here="1a2b", held=None, alive=alive)
    False
    """
    parsed = parse_name(name)
    if parsed is None or parsed.kind not in ("clone", "temp", "schema"):
        return False
    if parsed.key is not None and held is not None:
        return parsed.key not in held
    return parsed.host == here and not alive(parsed.pid)


def kept_over_bound(kept: Sequence[tuple[str, str, int]], bound: int) -> list[str]:
    """Which kept databases go so that at most *bound* remain: all but the newest, oldest first.

    *kept* holds (name, comment, oid); newest means the latest ``at=`` in the
    comment, then the highest oid.

    >>> kept_over_bound([("a", "minitestdb kept at=3", 1), ("b", "minitestdb kept at=1", 2), ("c", "", 3)], 1)
    ['c', 'b']
    """
    ordered = sorted(kept, key=lambda row: (kept_at(row[1]), row[2]), reverse=True)
    return [name for name, _comment, _oid in reversed(ordered[max(0, bound) :])]


def build_template(
    endpoint: Endpoint,
    *,
    container: str | None,
    docker_binary: str,
    sql: PathLike | Sequence[PathLike] | None = None,
    seed: PathLike | Sequence[PathLike] | None = None,
    migrator: Migrator | None = None,
    name: str | None = None,
    pool: int = DEFAULT_POOL_SIZE,
    timeout: float = DEFAULT_MIGRATION_TIMEOUT,
    progress: Progress = None,
) -> Template:
    """Find the template for these inputs on the server at *endpoint*, or build it exactly once across processes.

    It is built from the *sql* files, then the *migrator*, then the *seed* files;
    *container* (the server's, if it has one) runs psql when the host has none.
    *progress*, when given, is told each step of a build as it starts
    (``applying migrations/002_orders.sql``, ``running alembic upgrade head ...``);
    nothing when the template is found.
    """
    if pool < 0:
        raise ConfigurationError(f"The pool size must be 0 (off) or more, not {pool}.")
    sql_files = resolve_inputs(sql)
    seed_files = resolve_inputs(seed)
    admin = _Admin.of(endpoint)
    version = admin.server_version()
    steps = digest_files("sql", sql_files) + ([("migrator", "", migrator.fingerprint())] if migrator else []) + digest_files("seed", seed_files)
    fp = fingerprint(steps, server_version=version, role=endpoint.user)
    tpl = template_name(name, fp)
    began = time.monotonic()

    def make(built: bool) -> Template:
        settings = [(role or "", setting or "") for role, setting in admin.query(database_settings_sql(tpl))]
        template = Template(
            endpoint, container=container, docker_binary=docker_binary, name=tpl, fingerprint=fp, sql=sql_files, seed=seed_files, migrator=migrator,
            settings=settings, built=built, server_version=version, pool_size=pool, build_seconds=time.monotonic() - began,
        )
        template.start_pool()
        return template

    def find_or_build() -> Template:
        exists = f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(tpl)}"
        if admin.query(exists):
            return make(False)
        # Advisory locks belong to the session: hold the admin lock so no other thread
        # of this process runs statements in between on the same connection.
        lock_key = advisory_lock_key(fp)
        with admin.lock:
            admin.query(f"SELECT pg_advisory_lock({LOCK_NAMESPACE}, {lock_key})")
            try:
                if admin.query(exists):
                    return make(False)
                temp = temp_build_name(fp, owner=_owner(key=admin.owner_key()), suffix=os.urandom(3).hex())
                admin.query(f"CREATE DATABASE {quote_ident(temp)}")
                try:
                    _migrate(
                        endpoint.replace(dbname=temp), sql=sql_files, migrator=migrator, seed=seed_files, container=container, docker_binary=docker_binary, timeout=timeout, progress=progress
                    )
                    # psql has exited, but make sure no session is left before the rename.
                    admin.query(terminate_sessions_sql(temp))
                    admin.query(f"ALTER DATABASE {quote_ident(temp)} RENAME TO {quote_ident(tpl)}")
                except BaseException:
                    for statement in drop_database_sql(temp, version):
                        try:
                            admin.query(statement)
                        except MiniTestDBError:
                            pass
                    raise
                admin.query(f"ALTER DATABASE {quote_ident(tpl)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
                admin.query(comment_on_database_sql(tpl, template_comment(int(time.time()), _source(name, sql_files, seed_files, migrator))))
                return make(True)
            finally:
                try:
                    admin.query(f"SELECT pg_advisory_unlock({LOCK_NAMESPACE}, {lock_key})")
                except DatabaseConnectionError:
                    pass  # a lost session has released its locks already

    template = find_or_build()
    # Outside the build lock: a fleet that never runs `prune` still does not grow without bound.
    _prune_clones_of(admin, fp)
    return template


def _source(label: str | None, sql: Sequence[InputFile], seed: Sequence[InputFile], migrator: Migrator | None) -> str:
    """Where a template comes from (see :func:`template_source`): its label, else the directories of its files and the migrator's working directory."""
    directories = [os.path.dirname(os.path.abspath(entry.path)) for entry in (*sql, *seed)]
    cwd = getattr(migrator, "cwd", None)
    if isinstance(cwd, str) and cwd:
        directories.append(os.path.abspath(cwd))
    return template_source(label, directories)


class KeptDatabase(NamedTuple):
    """What :func:`keep_database` did: the kept name and masked URL, and the older kept databases it dropped (or left: in use) to stay within the bound."""

    name: str
    redacted_url: str
    dropped: tuple[str, ...]
    in_use: tuple[str, ...]


_KEPT_ROWS = (
    "SELECT d.datname, coalesce(shobj_description(d.oid, 'pg_database'), ''), d.oid::text, "
    "(SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname) "
    "FROM pg_database d WHERE d.datname LIKE 'mtdb\\_kept\\_%'"
)


def keep_database(database: Database, *, label: str, test: str, bound: int = DEFAULT_KEEP_FAILED, now: float | None = None) -> KeptDatabase:
    """Keep a failed test's clone for a person to look at: rename it ``mtdb_kept_<label>_<n>``, record *test* and the time in its comment.

    The test's leftover sessions (an engine or a connection still open) are
    ended first.  Then at most *bound* kept databases stay on the server: the
    oldest others are dropped, except one somebody is connected to.  The
    database is no longer dropped at exit (``prune_databases(kept=True)`` or
    ``minitestdb drop`` removes it).
    """
    if database.schema:
        raise ConfigurationError("The schema mode keeps no failed test's schema: only a cloned database can be kept.")
    if database.dropped or database.kept:
        raise ConfigurationError(f"The database {database.name} is {'dropped' if database.dropped else 'kept'} already.")
    admin = database.template._admin
    old = database.name
    rows = admin.query(_KEPT_ROWS)
    number = next_kept_number(label, [row[0] or "" for row in rows])
    for attempt in range(20):
        new = kept_name(label, number)
        admin.query(terminate_sessions_sql(old))
        try:
            admin.query(rename_database_sql(old, new))
        except ServerError as exc:
            if exc.sqlstate == _DUPLICATE_DATABASE:  # another process kept a test of the same name just now
                number += 1
                continue
            if exc.sqlstate == _OBJECT_IN_USE:  # a session came back between the two statements
                time.sleep(0.05 * (attempt + 1))
                continue
            raise
        break
    else:
        raise MiniTestDBError(f"The database {old} of a failed test could not be renamed to keep it (sessions kept coming back); it is dropped at exit as usual.")
    _LIVE.discard(database)
    database.name, database.endpoint, database.kept = new, database.endpoint.replace(dbname=new), True
    admin.query(comment_on_database_sql(new, kept_comment(test, time.time() if now is None else now)))
    rows = admin.query(_KEPT_ROWS)
    kept = [(name, comment or "", int(oid or 0)) for name, comment, oid, _sessions in rows if name and name != new and _is_kept(name)]
    sessions = {name: count for name, _comment, _oid, count in rows}
    dropped: list[str] = []
    in_use: list[str] = []
    for name in kept_over_bound(kept, max(0, bound - 1)):
        if sessions.get(name) != "0":
            in_use.append(name)
            continue
        admin.query(f"DROP DATABASE IF EXISTS {quote_ident(name)}")
        dropped.append(name)
    return KeptDatabase(new, database.redacted_url, tuple(dropped), tuple(in_use))


def _is_kept(name: str) -> bool:
    parsed = parse_name(name)
    return parsed is not None and parsed.kind == "kept"


def drop_database(endpoint: Endpoint, name: str) -> None:
    """Drop the database *name* on the server at *endpoint*, terminating its sessions (for ``minitestdb drop``)."""
    admin = _Admin.of(endpoint)
    for sql in drop_database_sql(name, admin.server_version()):
        admin.query(sql)


def _drop_orphan(admin: _Admin, name: str) -> bool:
    """Drop a dead owner's database unless somebody is connected to it now (no FORCE: a session that came after the check keeps it).

    False when it stays: in use, or owned by another role (not ours to drop: on a
    shared server, each role prunes its own).
    """
    try:
        admin.query(f"DROP DATABASE IF EXISTS {quote_ident(name)}")
    except ServerError as exc:
        if exc.sqlstate in (_OBJECT_IN_USE, _INSUFFICIENT_PRIVILEGE):
            return False
        raise
    return True


def _held_owner_keys(admin: _Admin) -> frozenset[int] | None:
    held = admin.held_owner_keys()
    if held is None:
        _say_once(f"minitestdb: the server at {admin.endpoint.address} does not show owner locks (pg_locks), so prune judges owners on this host only, by pid.")
    return held


# Per process: (server, template fingerprint) -> the last minute this process tried to scan it.
_SCANNED: dict[tuple[Endpoint, str], int] = {}


def _prune_clones_of(admin: _Admin, fp: str, *, now: float | None = None) -> list[str]:
    """Drop dead owners' unused clones (and half-built builds) of the template *fp*: a few, at most once a minute across processes.

    Called when a process builds or finds the template.  The first process of a
    minute to claim the scan (a session lock in its own key space) does it; the
    others, and this process again within the minute, skip it: a thousand
    workers starting together cost a thousand cheap claims and one scan.
    Returns what it dropped; upkeep never fails the caller.
    """
    minute = int((time.time() if now is None else now) // PRUNE_PERIOD)
    if _SCANNED.get((admin.endpoint, fp)) == minute:
        return []
    _SCANNED[(admin.endpoint, fp)] = minute
    dropped: list[str] = []
    try:
        if not admin.claim_prune(fp, minute):
            return []
        rows = admin.query(minitestdb_databases_sql(fp))
        held = admin.held_owner_keys()  # read after the rows: an owner alive when its clone was listed holds its key now
        here = host_tag(hostname())
        doomed = [name for name, _comment, backends in rows if name and backends == "0" and orphaned(name, here=here, held=held, alive=owner_alive)]
        for name in doomed[:PRUNE_BATCH]:
            if _drop_orphan(admin, name):
                dropped.append(name)
    except MiniTestDBError:
        pass  # upkeep: `prune`, or the next scan, gets to what is left
    return dropped


def prune_databases(endpoint: Endpoint, *, keep_templates: int = 2, kept: bool = False) -> list[str]:
    """Drop what dead processes left: clones, half-built templates and schemas whose owner
    is gone (see :func:`orphaned`: an owner key no session holds, on any host; without a key,
    an owner on this host whose pid is gone) and that nobody is connected to, and all but the newest
    *keep_templates* templates of each source (their label, else the directory of
    their inputs; by name for templates built before sources were recorded).
    With *kept*, every kept database of a failed test too (without, they stay).
    Never drops a database in use.  Returns what it dropped.
    """
    admin = _Admin.of(endpoint)
    admin.server_version()
    rows = admin.query(minitestdb_databases_sql())
    schemas = admin.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'test\\_%'")
    # Read after the names: an owner that was alive when its database or schema was listed holds its key now.
    held = _held_owner_keys(admin)
    here = host_tag(hostname())
    dropped: list[str] = []
    templates: dict[str, list[tuple[int, str]]] = {}
    for datname, comment, backends in rows:
        parsed = parse_name(datname or "")
        if datname is None or parsed is None:
            continue
        if parsed.kind == "template":
            built, source = parse_template_comment(comment or "")
            templates.setdefault(template_group(datname, source), []).append((built, datname))
            continue
        if parsed.kind == "kept":
            if kept and backends == "0" and _drop_orphan(admin, datname):
                dropped.append(datname)
            continue
        if backends == "0" and orphaned(datname, here=here, held=held, alive=owner_alive) and _drop_orphan(admin, datname):
            dropped.append(datname)
    for builds in templates.values():
        builds.sort(key=lambda build: build[0])  # stable: builds of the same second stay in creation (oid) order
        for _built, datname in builds[: max(0, len(builds) - keep_templates)]:
            in_use = admin.query(f"SELECT count(*) FROM pg_stat_activity WHERE datname = {quote_literal(datname)}")
            if in_use and in_use[0][0] != "0":
                continue
            admin.query(f"ALTER DATABASE {quote_ident(datname)} WITH IS_TEMPLATE false")
            admin.query(f"DROP DATABASE IF EXISTS {quote_ident(datname)}")
            dropped.append(datname)
    for (nspname,) in schemas:
        if nspname is None or not orphaned(nspname, here=here, held=held, alive=owner_alive):
            continue
        try:
            admin.query(f"DROP SCHEMA IF EXISTS {quote_ident(nspname)} CASCADE")
        except ServerError as exc:
            if exc.sqlstate != _INSUFFICIENT_PRIVILEGE:  # another role's: not ours to drop
                raise
            continue
        dropped.append(nspname)
    return dropped
