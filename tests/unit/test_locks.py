"""_locks: the key of a name, sorted acquisition, the messages, and the wait loop against a scripted session (no server, no clock)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import unittest
from typing import Any
from unittest import mock

import minitestdb
from minitestdb import _locks
from minitestdb._admin_sql import LOCK_NAMESPACE
from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError, LockDeadlockError, LockTimeoutError, MiniTestDBError, ServerError, server_error_from_fields
from minitestdb._locks import (
    DEFAULT_TIMEOUT,
    NAMED_LOCK_NAMESPACE,
    NOTICE_AFTER,
    NOTICE_EVERY,
    Holder,
    application_name,
    deadlock_message,
    hold,
    holder_sql,
    lock,
    lock_key,
    lock_names,
    parse_holder,
    timeout_message,
    waiting_message,
)
from tests.unit.support import doctests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INT4 = (-(2**31), 2**31 - 1)
ENDPOINT = Endpoint(host="127.0.0.1", port=5432, user="postgres", password="pw-Zx81-secret", dbname="postgres")
OURS = "minitestdb-lock pid 4242 on ci-7: queue"


def error(sqlstate: str, message: str) -> ServerError:
    return server_error_from_fields({"S": "ERROR", "C": sqlstate, "M": message})


class KeyTest(unittest.TestCase):
    def test_exact_keys_the_same_everywhere(self) -> None:
        # The first 4 bytes of sha256(utf-8), big-endian, signed: any process, machine or Python version agrees.
        cases = {
            "global-worker-loop": 1945610852,  # sha256 73f7aa64...
            "a": -896040686,
            "x": 762385986,
            "queue": 11602383,
            "caf\u00e9": -2062582332,
        }
        for name, key in cases.items():
            with self.subTest(name=name):
                self.assertEqual(lock_key(name), key)

    def test_keys_are_int4(self) -> None:
        for name in ("a", "b", "global-worker-loop", "x" * 1000, "\u00e9\u00e8"):
            self.assertTrue(INT4[0] <= lock_key(name) <= INT4[1], name)

    def test_a_key_space_of_its_own(self) -> None:
        self.assertNotEqual(NAMED_LOCK_NAMESPACE, LOCK_NAMESPACE)
        self.assertTrue(0 < NAMED_LOCK_NAMESPACE <= INT4[1])
        self.assertEqual(NAMED_LOCK_NAMESPACE.to_bytes(4, "big"), b"mtlk")


class NamesTest(unittest.TestCase):
    def test_distinct_and_sorted(self) -> None:
        self.assertEqual(lock_names(("queue", "port-8080"), "queue", None, [], ["b", "a"]), ["a", "b", "port-8080", "queue"])

    def test_a_string_is_one_name_not_its_letters(self) -> None:
        self.assertEqual(lock_names("queue"), ["queue"])

    def test_no_names(self) -> None:
        self.assertEqual(lock_names(), [])
        self.assertEqual(lock_names(None, ()), [])

    def test_bad_names_are_a_configuration_error(self) -> None:
        for bad in ([""], [1], [None], [b"queue"], [("a", "b")]):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError) as ctx:
                lock_names(bad)  # type: ignore[arg-type]
            self.assertIn("must be a non-empty string", str(ctx.exception))

    def test_lock_checks_its_arguments_before_connecting(self) -> None:
        for kwargs, text in (
            ({"name": ""}, "must be a non-empty string"),
            ({"name": 3}, "must be a non-empty string"),
            ({"name": "q", "timeout": 0}, "positive number of seconds"),
            ({"name": "q", "timeout": True}, "positive number of seconds"),
            ({"name": "q", "timeout": "5"}, "positive number of seconds"),
            ({"name": "q", "server": object(), "endpoint": ENDPOINT}, "not both"),
        ):
            with self.subTest(kwargs=kwargs), self.assertRaises(ConfigurationError) as ctx:
                lock(**kwargs)
            self.assertIn(text, str(ctx.exception))
        self.assertIsNone(lock("q", endpoint=ENDPOINT, timeout=None).timeout)
        self.assertEqual(lock("q", endpoint=ENDPOINT).timeout, _locks.DEFAULT_TIMEOUT)


class MessagesTest(unittest.TestCase):
    def test_application_name_says_who_first(self) -> None:
        self.assertEqual(application_name("global-worker-loop", 4242, "ci-runner-7"), "minitestdb-lock pid 4242 on ci-runner-7: global-worker-loop")
        long = application_name("n" * 200, 4242, "h" * 100)
        self.assertEqual(len(long.encode()), 63)
        self.assertTrue(long.startswith("minitestdb-lock pid 4242 on " + "h" * 24 + ": n"))
        self.assertEqual(application_name("caf\u00e9\n", 1, "my host"), "minitestdb-lock pid 1 on my_host: caf??")

    def test_holder_from_our_application_name_or_the_session(self) -> None:
        self.assertEqual(Holder(77, application_name("queue", 4242, "ci-7"), "").describe(), "process 4242 on ci-7")
        self.assertEqual(Holder(77, "psql", "10.0.0.2").describe(), "PostgreSQL backend 77 ('psql')")
        self.assertEqual(Holder(77, "", "").describe(), "PostgreSQL backend 77")

    def test_parse_holder(self) -> None:
        self.assertEqual(parse_holder([("77", OURS, "172.17.0.1")]), Holder(77, OURS, "172.17.0.1"))
        self.assertEqual(parse_holder([("77", None, None)]), Holder(77, "", ""))
        self.assertIsNone(parse_holder([]))
        self.assertIsNone(parse_holder([(None, None, None)]))

    def test_holder_sql_matches_pg_locks_unsigned_oids(self) -> None:
        sql = holder_sql(lock_key("a"))  # negative: pg_locks shows it as an unsigned oid
        self.assertIn(f"l.classid = {NAMED_LOCK_NAMESPACE} AND l.objid = {2**32 - 896040686} AND l.objsubid = 2", sql)
        self.assertIn("l.granted", sql)
        self.assertIn("current_database()", sql)
        self.assertIn(f"l.objid = {lock_key('x')} ", holder_sql(lock_key("x")))

    def test_timeout_message_is_one_sentence_naming_lock_and_holder(self) -> None:
        self.assertEqual(
            timeout_message("queue", 30, Holder(77, OURS, "")),
            "Timed out after 30 s waiting for the minitestdb lock 'queue', held by process 4242 on ci-7; end that process (or its test), or pass a longer timeout.",
        )
        self.assertEqual(
            timeout_message("queue", 2.5, None),
            "Timed out after 2.5 s waiting for the minitestdb lock 'queue', held by another session; end that process (or its test), or pass a longer timeout.",
        )

    def test_waiting_and_deadlock_messages(self) -> None:
        self.assertEqual(waiting_message("queue", 10.4, Holder(77, OURS, "")), "minitestdb: waiting 10 s for the lock 'queue', held by process 4242 on ci-7...")
        self.assertEqual(
            deadlock_message("b", Holder(77, "psql", "")),
            "Waiting for the minitestdb lock 'b' would never end: it is held by PostgreSQL backend 77 ('psql'), which waits for a lock this thread holds; "
            "take locks in one order, e.g. all in one marker, which sorts them.",
        )

    def test_errors_are_minitestdb_errors_and_timeouts(self) -> None:
        self.assertTrue(issubclass(LockTimeoutError, MiniTestDBError))
        self.assertTrue(issubclass(LockTimeoutError, TimeoutError))
        self.assertTrue(issubclass(LockDeadlockError, MiniTestDBError))


class _Result:
    def __init__(self, rows: list[tuple[str | None, ...]]) -> None:
        self.rows = rows


class FakeSession:
    """A session whose lock is busy for *busy_for* simulated seconds: each blocking try under lock_timeout advances the clock."""

    def __init__(self, *, busy_for: float = 0.0, holder: tuple[str, str, str] | None = ("77", OURS, ""), fail: ServerError | None = None) -> None:
        self.now = 1000.0
        self.busy_until = self.now + busy_for
        self.holder = holder
        self.fail = fail
        self.lock_timeout_ms = 0
        self.sql: list[str] = []
        self.closed = False

    def clock(self) -> float:
        return self.now

    def query(self, sql: str, *, timeout: float | None = None) -> _Result:
        self.sql.append(sql)
        if sql.startswith("SELECT pg_try_advisory_lock("):
            return _Result([("t" if self.now >= self.busy_until else "f",)])
        if sql.startswith("SET lock_timeout = "):
            self.lock_timeout_ms = int(sql.rsplit(" ", 1)[1])
            return _Result([])
        if sql.startswith("SELECT pg_advisory_lock("):
            assert timeout is not None and timeout > self.lock_timeout_ms / 1000, "the client waits longer than the server"
            if self.fail is not None:
                raise self.fail
            if self.busy_until - self.now <= self.lock_timeout_ms / 1000:
                self.now = max(self.now, self.busy_until)
                return _Result([("",)])
            self.now += self.lock_timeout_ms / 1000
            raise error("55P03", "canceling statement due to lock timeout")
        if sql.startswith("SELECT pg_advisory_unlock("):
            return _Result([("t",)])
        if "FROM pg_locks" in sql:
            return _Result([self.holder] if self.holder else [])
        raise AssertionError(f"unexpected SQL {sql!r}")

    def close(self) -> None:
        self.closed = True


class WaitTest(unittest.TestCase):
    def wait(self, session: FakeSession, timeout: float | None) -> list[str]:
        said: list[str] = []
        _locks._wait_for(session, "queue", timeout, clock=session.clock, say=said.append)  # type: ignore[arg-type]
        return said

    def test_a_free_lock_is_one_try(self) -> None:
        session = FakeSession()
        self.assertEqual(self.wait(session, 5), [])
        self.assertEqual(session.sql, [f"SELECT pg_try_advisory_lock({NAMED_LOCK_NAMESPACE}, {lock_key('queue')})"])

    def test_a_short_wait_says_nothing(self) -> None:
        session = FakeSession(busy_for=NOTICE_AFTER / 2)
        self.assertEqual(self.wait(session, None), [])
        self.assertIn(f"SELECT pg_advisory_lock({NAMED_LOCK_NAMESPACE}, {lock_key('queue')})", session.sql)

    def test_a_long_wait_says_so_once_then_every_so_often_naming_the_holder(self) -> None:
        session = FakeSession(busy_for=NOTICE_AFTER + 2 * NOTICE_EVERY + 1)
        said = self.wait(session, None)
        self.assertEqual(said, [
            "minitestdb: waiting 10 s for the lock 'queue', held by process 4242 on ci-7...",
            "minitestdb: waiting 70 s for the lock 'queue', held by process 4242 on ci-7...",
            "minitestdb: waiting 130 s for the lock 'queue', held by process 4242 on ci-7...",
        ])

    def test_the_timeout_names_the_lock_and_its_holder(self) -> None:
        session = FakeSession(busy_for=1e9)
        with self.assertRaises(LockTimeoutError) as ctx:
            self.wait(session, 4)
        self.assertEqual(str(ctx.exception), timeout_message("queue", 4, Holder(77, OURS, "")))
        self.assertEqual(session.now, 1004.0)  # waited exactly the timeout, in the server

    def test_the_timeout_when_the_holder_cannot_be_seen(self) -> None:
        session = FakeSession(busy_for=1e9, holder=None)
        with self.assertRaises(LockTimeoutError) as ctx:
            self.wait(session, 25)
        self.assertIn("held by another session", str(ctx.exception))

    def test_granted_just_before_the_timeout(self) -> None:
        session = FakeSession(busy_for=3.5)
        self.assertEqual(self.wait(session, 4), [])

    def test_a_deadlock_is_its_own_error(self) -> None:
        session = FakeSession(busy_for=1, fail=error("40P01", "deadlock detected"))
        with self.assertRaises(LockDeadlockError) as ctx:
            self.wait(session, None)
        self.assertIn("'queue' would never end", str(ctx.exception))

    def test_other_server_errors_pass_through(self) -> None:
        session = FakeSession(busy_for=1, fail=error("57014", "canceling statement due to user request"))
        with self.assertRaises(ServerError) as ctx:
            self.wait(session, None)
        self.assertEqual(ctx.exception.sqlstate, "57014")


class SessionsTest(unittest.TestCase):
    """Acquire and release with connect() replaced by fake sessions: one session per thread and name, re-entrant."""

    def setUp(self) -> None:
        self.sessions: list[FakeSession] = []
        self.connect_kwargs: list[dict[str, Any]] = []

        def connect(endpoint: Endpoint, **kwargs: Any) -> FakeSession:
            self.connect_kwargs.append(kwargs)
            session = FakeSession()
            self.sessions.append(session)
            return session

        patcher = mock.patch("minitestdb._pgconn.connect", connect)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(_locks._held.clear)

    def test_one_session_per_lock_released_by_unlock_and_close(self) -> None:
        with lock("queue", endpoint=ENDPOINT) as held:
            self.assertTrue(held.held)
            self.assertEqual(len(self.sessions), 1)
            self.assertFalse(self.sessions[0].closed)
        self.assertFalse(held.held)
        self.assertTrue(self.sessions[0].closed)
        self.assertEqual(self.sessions[0].sql[-1], f"SELECT pg_advisory_unlock({NAMED_LOCK_NAMESPACE}, {lock_key('queue')})")
        kwargs = self.connect_kwargs[0]
        self.assertEqual(kwargs["application_name"], application_name("queue", os.getpid(), _locks.hostname()))
        self.assertEqual(kwargs["settings"], {"statement_timeout": "0"})

    def test_nested_in_one_thread_counts_up_instead_of_deadlocking(self) -> None:
        outer = lock("queue", endpoint=ENDPOINT)
        with outer:
            with lock("queue", endpoint=ENDPOINT), outer:
                self.assertEqual(len(self.sessions), 1)
            self.assertFalse(self.sessions[0].closed)
        self.assertTrue(self.sessions[0].closed)
        self.assertEqual(_locks._held, {})

    def test_another_thread_or_name_or_server_gets_its_own_session(self) -> None:
        other_server = ENDPOINT.replace(dbname="other")
        with lock("queue", endpoint=ENDPOINT), lock("port", endpoint=ENDPOINT), lock("queue", endpoint=other_server):
            thread = threading.Thread(target=lambda: lock("queue", endpoint=ENDPOINT).__enter__())
            thread.start()
            thread.join()
            self.assertEqual(len(self.sessions), 4)

    def test_a_failed_wait_closes_its_session(self) -> None:
        with mock.patch.object(_locks, "_wait_for", side_effect=LockTimeoutError("timed out")), self.assertRaises(LockTimeoutError):
            lock("queue", endpoint=ENDPOINT).acquire()
        self.assertTrue(self.sessions[0].closed)
        self.assertEqual(_locks._held, {})

    def test_releasing_what_is_not_held_is_an_error(self) -> None:
        with self.assertRaises(RuntimeError):
            lock("queue", endpoint=ENDPOINT).release()

    def test_a_forked_child_forgets_its_parent_s_locks(self) -> None:
        held = lock("queue", endpoint=ENDPOINT)
        held.acquire()
        _locks._forget_all()  # what at_fork_in_child runs in the child
        held.release()
        self.assertFalse(self.sessions[0].closed)
        self.assertEqual(self.sessions[0].sql[-1:], [f"SELECT pg_try_advisory_lock({NAMED_LOCK_NAMESPACE}, {lock_key('queue')})"])

    def test_the_tests_server_by_default(self) -> None:
        server = mock.Mock(endpoint=ENDPOINT)
        with mock.patch("minitestdb._testenv.server", return_value=server) as tests_server, lock("queue"):
            pass
        tests_server.assert_called_once_with()


class ServerLockTest(unittest.TestCase):
    def test_server_lock_is_lock_on_that_server_with_the_same_default_timeout(self) -> None:
        import inspect

        from minitestdb._server import Server

        server = Server.from_url("postgresql://u:pw@127.0.0.1:5999/db", check=False)
        named = server.lock("queue")
        self.assertEqual((named.name, named.endpoint, named.timeout, named.held), ("queue", server.endpoint, DEFAULT_TIMEOUT, False))
        self.assertEqual(inspect.signature(Server.lock).parameters["timeout"].default, DEFAULT_TIMEOUT)


class HoldTest(unittest.TestCase):
    def setUp(self) -> None:
        self.events: list[str] = []
        self.fail_on = ""

        class Recorder:
            def __init__(inner, name: str, **kwargs: Any) -> None:
                inner.name = name
                self.kwargs = kwargs

            def __enter__(inner) -> None:
                if inner.name == self.fail_on:
                    raise LockTimeoutError(f"timed out on {inner.name}")
                self.events.append(f"+{inner.name}")

            def __exit__(inner, *exc: object) -> None:
                self.events.append(f"-{inner.name}")

        patcher = mock.patch.object(_locks, "lock", Recorder)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_acquired_sorted_once_each_released_in_reverse(self) -> None:
        server = object()
        stack = hold(["queue", "b-port", "queue", "a-loop"], server, timeout=7)  # type: ignore[arg-type]
        self.assertEqual(self.events, ["+a-loop", "+b-port", "+queue"])
        self.assertEqual(self.kwargs, {"server": server, "timeout": 7})
        stack.close()
        self.assertEqual(self.events, ["+a-loop", "+b-port", "+queue", "-queue", "-b-port", "-a-loop"])

    def test_a_bare_string_is_one_name(self) -> None:
        hold("queue").close()
        self.assertEqual(self.events, ["+queue", "-queue"])

    def test_no_names_take_nothing(self) -> None:
        with hold(()), hold(None):
            pass
        self.assertEqual(self.events, [])

    def test_a_failure_releases_those_already_taken(self) -> None:
        self.fail_on = "c"
        with self.assertRaises(LockTimeoutError):
            hold(["d", "c", "a", "b"])
        self.assertEqual(self.events, ["+a", "+b", "-b", "-a"])


class ExportTest(unittest.TestCase):
    def test_minitestdb_lock_is_this_lock(self) -> None:
        self.assertIs(minitestdb.lock, _locks.lock)
        self.assertIn("lock", minitestdb.__all__)

    def test_import_minitestdb_does_not_load_the_locks(self) -> None:
        code = "import sys, minitestdb; sys.exit(1 if 'minitestdb._locks' in sys.modules else 0)"
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.assertEqual(subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode, 0)


load_tests = doctests(_locks)


if __name__ == "__main__":
    unittest.main()
