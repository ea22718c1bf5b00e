"""Named locks across processes and machines: a session-level advisory lock on the tests' server.

Some tests touch one global resource (a worker loop, a queue, a fixed port) and
must not overlap, even across pytest-xdist workers or machines that share a
server::

    with minitestdb.lock("global-worker-loop"):
        ...

The lock is ``pg_advisory_lock(NAMED_LOCK_NAMESPACE, lock_key(name))`` taken on
a connection of its own (not the admin connection templates share), in the
server's own database (advisory locks belong to one database).  It is released
when the block ends, or when the process dies: the server then sees the session
end and drops its locks.

* Which server: *server*, else *endpoint*, else the one tests use
  (``TEST_DATABASE_URL``, else the shared server; see ``_testenv.server``).
* Waiting: silent, except one line on stderr after :data:`NOTICE_AFTER`
  seconds (and then every :data:`NOTICE_EVERY`), naming who holds the lock.
  After *timeout* seconds (default :data:`DEFAULT_TIMEOUT`; None waits for ever)
  :class:`LockTimeoutError` says which lock and who holds it.
* Re-entrant per thread: a thread that holds ``lock("a")`` on a server and
  enters it again only counts up, so nesting (a marker's lock and the same
  ``with lock("a")`` in the test body) cannot deadlock itself.  Another thread
  of the same process waits like another process does.
* Several names: :func:`hold` takes them in sorted order (what the pytest marker
  and ``DatabaseTestCase.locks`` use), so two tests needing {a, b} never wait
  for each other crosswise.  A crosswise wait that still happens (nested
  ``lock`` calls in opposite orders) is found by PostgreSQL and raised as
  :class:`LockDeadlockError` in one of the two.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple, Sequence, Tuple, Union

from ._endpoint import Endpoint
from ._errors import ConfigurationError, DatabaseConnectionError, LockDeadlockError, LockTimeoutError, ServerError
from ._owner import at_fork_in_child, hostname

if TYPE_CHECKING:
    from ._pgconn import Connection
    from ._server import Server

__all__ = [
    "DEFAULT_TIMEOUT",
    "NAMED_LOCK_NAMESPACE",
    "NOTICE_AFTER",
    "NOTICE_EVERY",
    "Holder",
    "NamedLock",
    "application_name",
    "deadlock_message",
    "hold",
    "holder_sql",
    "lock",
    "lock_key",
    "lock_names",
    "parse_holder",
    "timeout_message",
    "waiting_message",
]

#: First key of every named lock ("mtlk"): not LOCK_NAMESPACE ("mtdb"), which template builds use.
NAMED_LOCK_NAMESPACE = 0x6D746C6B
#: How long :func:`lock` waits by default before LockTimeoutError: long enough for any one test.
DEFAULT_TIMEOUT = 600.0
#: Seconds of waiting before the first "waiting for the lock" line, and between later ones.
NOTICE_AFTER = 10.0
NOTICE_EVERY = 60.0

# PostgreSQL keeps 63 bytes of application_name, and only printable ASCII.
_APPLICATION_NAME_BYTES = 63
_HOST_CHARS = 24
_APPLICATION_NAME = re.compile(r"^minitestdb-lock pid (?P<pid>\d+) on (?P<host>\S+): ")
_LOCK_NOT_AVAILABLE = "55P03"
_DEADLOCK_DETECTED = "40P01"
# Added to the server-side wait (lock_timeout) to bound the client's read of the answer.
_QUERY_MARGIN = 30.0
_CONNECT_TIMEOUT = 10.0

Names = Union[str, Iterable[str]]


# --- pure: keys, names, messages -----------------------------------------------------------


def lock_key(name: str) -> int:
    """The second advisory-lock key of the named lock *name*: the first 32 bits of its UTF-8 SHA-256, as a signed int4.

    The same in every process, on every machine and Python version.

    >>> lock_key("global-worker-loop")
    1945610852
    """
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big", signed=True)


def lock_names(*groups: Names | None) -> list[str]:
    """The distinct lock names in *groups*, sorted (the order :func:`hold` takes them in).

    Each group is one name or an iterable of names (marker arguments, a
    ``locks`` attribute); a bare string is one name, never its letters.  A name
    must be a non-empty string; anything else is a ConfigurationError.

    >>> lock_names("queue", ("port-8080", "queue"), None, [])
    ['port-8080', 'queue']
    """
    found: set[str] = set()
    for group in groups:
        if group is None:
            continue
        items: Iterable[object] = (group,) if isinstance(group, str) else group
        for item in items:
            if not isinstance(item, str) or not item:
                raise ConfigurationError(f"A minitestdb lock name must be a non-empty string, not {item!r}: write e.g. @pytest.mark.minitestdb_lock(\"queue\") or locks = (\"queue\",).")
            found.add(item)
    return sorted(found)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"A minitestdb lock name must be a non-empty string, not {name!r}: e.g. minitestdb.lock(\"global-worker-loop\").")
    return name


def _check_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigurationError(f"The lock timeout {timeout!r} must be a positive number of seconds, or None to wait for ever.")
    return float(timeout)


def application_name(name: str, pid: int, host: str) -> str:
    """The ``application_name`` of the session holding *name*: who holds it first, so truncation only cuts the name.

    >>> application_name("global-worker-loop", 4242, "ci-runner-7")
    'minitestdb-lock pid 4242 on ci-runner-7: global-worker-loop'
    >>> len(application_name("x" * 100, 4242, "h")), application_name("caf\\u00e9", 1, "h")
    (63, 'minitestdb-lock pid 1 on h: caf?')
    """
    host = re.sub(r"\s", "_", host)[:_HOST_CHARS] or "?"
    text = f"minitestdb-lock pid {pid} on {host}: {name}"
    text = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return text[:_APPLICATION_NAME_BYTES]


class Holder(NamedTuple):
    """The session holding a named lock, as ``pg_locks`` and ``pg_stat_activity`` show it."""

    backend_pid: int
    application_name: str
    client_addr: str

    def describe(self) -> str:
        """Who holds it, for a person: the process and host when it is a minitestdb lock, else the session.

        >>> Holder(77, "minitestdb-lock pid 4242 on ci-7: queue", "172.17.0.1").describe()
        'process 4242 on ci-7'
        >>> Holder(77, "psql", "").describe()
        "PostgreSQL backend 77 ('psql')"
        """
        found = _APPLICATION_NAME.match(self.application_name)
        if found:
            return f"process {found['pid']} on {found['host']}"
        shown = f" ({self.application_name!r})" if self.application_name else ""
        return f"PostgreSQL backend {self.backend_pid}{shown}"


def holder_sql(key: int) -> str:
    """The query that finds who holds the named lock with this *key* in the current database (pid, application_name, client address).

    ``pg_locks`` shows the two int4 keys as unsigned oids (``classid``, ``objid``) with ``objsubid`` 2.
    """
    return (
        "SELECT l.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), '') "  # noqa: S608 -- only integers are interpolated
        "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        f"WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {NAMED_LOCK_NAMESPACE} AND l.objid = {key & 0xFFFFFFFF} AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.pid <> pg_backend_pid() "
        "ORDER BY l.pid LIMIT 1"
    )


def parse_holder(rows: Sequence[Sequence[str | None]]) -> Holder | None:
    """The Holder from :func:`holder_sql`'s rows, or None when nobody holds it (any more) or it cannot be seen.

    >>> parse_holder([("77", "psql", "10.0.0.2")])
    Holder(backend_pid=77, application_name='psql', client_addr='10.0.0.2')
    >>> parse_holder([]) is None
    True
    """
    if not rows or rows[0][0] is None:
        return None
    pid, app, addr = (*rows[0], None, None)[:3]
    return Holder(int(pid or 0), app or "", addr or "")


def _held_by(holder: Holder | None) -> str:
    return f"held by {holder.describe()}" if holder else "held by another session"


def timeout_message(name: str, timeout: float, holder: Holder | None) -> str:
    """The one sentence of a LockTimeoutError.

    >>> timeout_message("queue", 30, Holder(77, "minitestdb-lock pid 4242 on ci-7: queue", ""))
    "Timed out after 30 s waiting for the minitestdb lock 'queue', held by process 4242 on ci-7; end that process (or its test), or pass a longer timeout."
    """
    return f"Timed out after {timeout:g} s waiting for the minitestdb lock {name!r}, {_held_by(holder)}; end that process (or its test), or pass a longer timeout."


def waiting_message(name: str, waited: float, holder: Holder | None) -> str:
    """The line printed while a lock is long in coming.

    >>> waiting_message("queue", 10.2, None)
    "minitestdb: waiting 10 s for the lock 'queue', held by another session..."
    """
    return f"minitestdb: waiting {waited:.0f} s for the lock {name!r}, {_held_by(holder)}..."


def deadlock_message(name: str, holder: Holder | None) -> str:
    """The one sentence of a LockDeadlockError.

    >>> deadlock_message("b", None)
    "Waiting for the minitestdb lock 'b' would never end: it is held by another session, which waits for a lock this thread holds; take locks in one order, e.g. all in one marker, which sorts them."
    """
    return (
        f"Waiting for the minitestdb lock {name!r} would never end: it is {_held_by(holder)}, which waits for a lock this thread holds; "
        "take locks in one order, e.g. all in one marker, which sorts them."
    )


# --- the sessions this process holds ----------------------------------------------------------

_Key = Tuple[int, str, int, str, str]  # thread, host, port, dbname, lock name


class _Session:
    __slots__ = ("conn", "count")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.count = 1


_registry_lock = threading.Lock()
_held: dict[_Key, _Session] = {}


def _forget_all() -> None:
    # A forked child shares its parent's sockets: the locks are the parent's, never the child's to use or release.
    _held.clear()


at_fork_in_child(_forget_all)


def _registry_key(endpoint: Endpoint, name: str) -> _Key:
    return (threading.get_ident(), endpoint.host, endpoint.port, endpoint.dbname, name)


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _holder(conn: Connection, key: int) -> Holder | None:
    try:
        return parse_holder(conn.query(holder_sql(key)).rows)
    except ServerError:
        return None


def _wait_for(
    conn: Connection,
    name: str,
    timeout: float | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    say: Callable[[str], None] = _say,
) -> None:
    """Take the named lock *name* on *conn*: at once if free, else waiting in slices so the wait can be reported and bounded.

    Each slice is one blocking ``pg_advisory_lock`` under ``lock_timeout``, so
    waiters queue in the server in order, and a waiter whose process died is
    gone within one slice.
    """
    key = lock_key(name)
    args = f"{NAMED_LOCK_NAMESPACE}, {key}"
    if conn.query(f"SELECT pg_try_advisory_lock({args})").rows == [("t",)]:
        return
    began = clock()
    notice_at = began + NOTICE_AFTER
    while True:
        now = clock()
        if timeout is not None and now - began >= timeout:
            raise LockTimeoutError(timeout_message(name, timeout, _holder(conn, key)))
        until = notice_at if timeout is None else min(notice_at, began + timeout)
        wait = max(until - now, 0.001)
        conn.query(f"SET lock_timeout = {max(1, int(wait * 1000))}")
        try:
            conn.query(f"SELECT pg_advisory_lock({args})", timeout=wait + _QUERY_MARGIN)
            return
        except ServerError as exc:
            if exc.sqlstate == _DEADLOCK_DETECTED:
                raise LockDeadlockError(deadlock_message(name, _holder(conn, key))) from None
            if exc.sqlstate != _LOCK_NOT_AVAILABLE:
                raise
        now = clock()
        if now >= notice_at:
            say(waiting_message(name, now - began, _holder(conn, key)))
            notice_at = now + NOTICE_EVERY


class NamedLock:
    """The named lock *name* on a server: a context manager (``with``), or :meth:`acquire` and :meth:`release`.

    Made by :func:`lock`; nothing is connected until it is entered.
    """

    def __init__(self, name: str, *, server: Server | None = None, endpoint: Endpoint | None = None, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        if server is not None and endpoint is not None:
            raise ConfigurationError("Pass minitestdb.lock() a server or an endpoint, not both.")
        self.name = _check_name(name)
        self.timeout = _check_timeout(timeout)
        self._server = server
        self._endpoint = endpoint
        self._entered: list[_Key] = []

    def __repr__(self) -> str:
        state = "held" if self._entered else "not held"
        return f"<NamedLock {self.name!r} {state}>"

    @property
    def endpoint(self) -> Endpoint:
        """Where the lock lives: the given endpoint or server's, else the server tests use."""
        if self._endpoint is None:
            if self._server is None:
                from . import _testenv  # the test helpers' cached server; loaded only when needed

                self._server = _testenv.server()
            self._endpoint = self._server.endpoint
        return self._endpoint

    @property
    def held(self) -> bool:
        """Whether this object has been entered (and not yet left)."""
        return bool(self._entered)

    def acquire(self) -> None:
        """Wait for the lock (up to the timeout) and take it; entering again from the same thread only counts up."""
        endpoint = self.endpoint
        key = _registry_key(endpoint, self.name)
        with _registry_lock:
            session = _held.get(key)
            if session is not None:
                session.count += 1
                self._entered.append(key)
                return
        from ._pgconn import connect

        conn = connect(
            endpoint,
            timeout=_CONNECT_TIMEOUT,
            application_name=application_name(self.name, os.getpid(), hostname()),
            settings={"statement_timeout": "0"},
        )
        try:
            _wait_for(conn, self.name, self.timeout)
        except BaseException:
            conn.close()
            raise
        with _registry_lock:
            _held[key] = _Session(conn)
        self._entered.append(key)

    def release(self) -> None:
        """Let go once; the last release of a thread's lock unlocks it and closes its session."""
        if not self._entered:
            raise RuntimeError(f"The minitestdb lock {self.name!r} is not held by this object, so it cannot be released.")
        key = self._entered.pop()
        with _registry_lock:
            session = _held.get(key)
            if session is None:
                return  # forgotten in a forked child: the parent's to release
            session.count -= 1
            if session.count > 0:
                return
            del _held[key]
        try:
            session.conn.query(f"SELECT pg_advisory_unlock({NAMED_LOCK_NAMESPACE}, {lock_key(self.name)})")
        except (DatabaseConnectionError, ServerError):
            pass  # a lost session has released its locks already; closing below ends it anyway
        finally:
            session.conn.close()

    def __enter__(self) -> NamedLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def lock(name: str, *, server: Server | None = None, endpoint: Endpoint | None = None, timeout: float | None = DEFAULT_TIMEOUT) -> NamedLock:
    """The named lock *name*, held across processes and machines that use the same server: ``with minitestdb.lock("queue"): ...``.

    *server* (or *endpoint*) says where; by default the server tests use
    (``TEST_DATABASE_URL``, else the shared server).  Waits at most *timeout*
    seconds (None: for ever), then raises LockTimeoutError naming the holder.
    """
    return NamedLock(name, server=server, endpoint=endpoint, timeout=timeout)


def hold(names: Names | None, server: Server | None = None, *, timeout: float | None = DEFAULT_TIMEOUT) -> contextlib.ExitStack:
    """Take every lock in *names* (sorted, each once) and return the ExitStack whose ``close()`` releases them all.

    For the test helpers: the pytest marker ``@pytest.mark.minitestdb_lock("a", "b")``
    and ``DatabaseTestCase.locks = ("a", "b")``.  No names: an empty stack, and
    no server is asked for.  If one lock fails, those already taken are released.
    """
    ordered = lock_names(names)
    stack = contextlib.ExitStack()
    try:
        for name in ordered:
            stack.enter_context(lock(name, server=server, timeout=timeout))
    except BaseException:
        stack.close()
        raise
    return stack
