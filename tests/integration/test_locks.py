"""Named locks on a real server: two pytest-xdist workers never overlap inside one, and a SIGKILLed holder lets go.

Every child gets this module's private server as TEST_DATABASE_URL (the lock's
default server) and no Docker (MINITESTDB_DOCKER points nowhere), so nothing
here depends on, or touches, the shared server.  Overlap is judged from the
order of lines appended (O_APPEND) to one log file, never from clocks.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import threading
import unittest

import minitestdb
from minitestdb._errors import LockTimeoutError
from minitestdb._locks import NAMED_LOCK_NAMESPACE
from minitestdb._owner import hostname
from tests.integration.support import NO_DOCKER, helpers_env, python_child, skip_or_fail, start_module_server, temp_dir

SERVER: minitestdb.Server  # this module's private server, from setUpModule


def setUpModule() -> None:
    global SERVER
    SERVER = start_module_server()


def tearDownModule() -> None:
    SERVER.close()


def child_env(**extra: str) -> dict[str, str]:
    """A child pointed at SERVER only: TEST_DATABASE_URL set, no Docker."""
    return helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER, **extra)


# The generated test file: six tests (xdist's load scheduling spreads them over two
# workers), each appending "enter"/"exit" lines around its critical section.
# Inside it, a test stays until the log shows two workers inside at once, or
# WINDOW seconds pass: with the lock that never happens, so each test keeps the
# lock for the whole window while the other worker tries to enter; without it
# the two workers meet as soon as both run.  Tests 1-2 use minitestdb.lock(),
# 3-4 the pytest marker (with a second name), 5-6 DatabaseTestCase.locks, all
# on the same lock "x".
WORKER_TESTS = '''
import os
import time

import pytest

import minitestdb
from minitestdb.testing import DatabaseTestCase
from tests.integration.test_locks import overlaps

LOG = os.environ["LOCK_LOG"]
USE_LOCK = os.environ["USE_LOCK"] == "1"
WINDOW = float(os.environ["WINDOW"])


def record(kind, token):
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{kind} {os.getpid()} {token}\\n".encode())
    finally:
        os.close(fd)


def overlapped():
    with open(LOG) as fh:
        return overlaps(fh.read().splitlines())


def critical(token):
    record("enter", token)
    deadline = time.time() + WINDOW
    while time.time() < deadline and not overlapped():
        time.sleep(0.02)
    record("exit", token)


def run_with_lock(token):
    if USE_LOCK:
        with minitestdb.lock("x"):
            critical(token)
    else:
        critical(token)


# The plugin's marker and DatabaseTestCase.locks (both through hold()), on the same lock "x".
lock_mark = pytest.mark.minitestdb_lock("x", "y") if USE_LOCK else (lambda function: function)


def test_1():
    run_with_lock("t1")


def test_2():
    run_with_lock("t2")


@lock_mark
def test_3():
    critical("t3")


@lock_mark
def test_4():
    critical("t4")


class LockedCase(DatabaseTestCase):
    sql = ["schema.sql"]
    locks = ("x",) if USE_LOCK else ()

    def test_5(self):
        critical("t5")

    def test_6(self):
        critical("t6")
'''


def overlaps(lines: list[str]) -> bool:
    """Whether the log shows two processes inside at once (the generated tests judge with this too)."""
    inside: set[str] = set()
    for line in lines:
        kind, pid, _token = line.split()
        if kind == "enter":
            if inside - {pid}:
                return True
            inside.add(pid)
        else:
            inside.discard(pid)
    return False


class OverlapJudgementTest(unittest.TestCase):
    def test_overlaps(self) -> None:
        self.assertFalse(overlaps(["enter 1 a", "exit 1 a", "enter 2 b", "exit 2 b"]))
        self.assertTrue(overlaps(["enter 1 a", "enter 2 b", "exit 2 b", "exit 1 a"]))
        self.assertTrue(overlaps(["enter 1 a", "exit 1 a", "enter 2 b", "enter 1 c", "exit 1 c", "exit 2 b"]))


class XdistWorkersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        for module in ("pytest", "xdist"):
            if importlib.util.find_spec(module) is None:
                skip_or_fail(f"{module} is not importable in {sys.executable} (pip install pytest pytest-xdist)")

    def run_workers(self, *, use_lock: bool, window: float) -> list[str]:
        tmp = temp_dir(self, "minitestdb-locks-")
        with open(os.path.join(tmp, "test_critical.py"), "w") as fh:
            fh.write(textwrap.dedent(WORKER_TESTS))
        with open(os.path.join(tmp, "schema.sql"), "w") as fh:
            fh.write("create table t (id int);\n")
        log = os.path.join(tmp, "log")
        env = child_env(LOCK_LOG=log, USE_LOCK="1" if use_lock else "0", WINDOW=str(window))
        argv = [sys.executable, "-m", "pytest", "-n", "2", "-p", "minitestdb.pytest_plugin", "-p", "no:cacheprovider", "-q", "test_critical.py"]
        proc = subprocess.run(argv, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertIn("6 passed", proc.stdout)
        with open(log) as fh:
            lines = fh.read().splitlines()
        self.assertEqual(len(lines), 12, lines)
        self.assertEqual(len({line.split()[1] for line in lines}), 2, f"both workers must have run tests: {lines}")
        return lines

    def test_two_workers_never_overlap_inside_the_lock(self) -> None:
        lines = self.run_workers(use_lock=True, window=0.5)
        self.assertFalse(overlaps(lines), lines)
        # Strictly enter/exit pairs of one test each.
        for enter, leave in zip(lines[::2], lines[1::2]):
            self.assertEqual((enter.split()[0], leave.split()[0]), ("enter", "exit"), lines)
            self.assertEqual(enter.split()[1:], leave.split()[1:], lines)
        with SERVER.connect() as conn:
            left = conn.query(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {NAMED_LOCK_NAMESPACE}").rows
        self.assertEqual(left, [("0",)], "the workers' sessions ended, so no named lock is left")

    def test_without_the_lock_they_do_overlap(self) -> None:
        # The proof above can fail: the same tests without the lock meet inside.
        lines = self.run_workers(use_lock=False, window=60)
        self.assertTrue(overlaps(lines), lines)


HOLDER = """
import sys, time
import minitestdb
with minitestdb.lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


class KilledHolderTest(unittest.TestCase):
    def test_a_sigkilled_holder_releases_the_lock(self) -> None:
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, "killed-holder"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(), stdin=subprocess.DEVNULL)
        self.addCleanup(holder.communicate, timeout=30)  # waits, and closes its pipes
        self.addCleanup(holder.kill)
        assert holder.stdout is not None
        line = holder.stdout.readline()
        self.assertEqual(line, "held\n", holder.stderr.read() if holder.stderr and not line else line)

        # Held: another process cannot have it, and is told who holds it.
        with self.assertRaises(LockTimeoutError) as ctx, minitestdb.lock("killed-holder", server=SERVER, timeout=1):
            pass
        self.assertIn(f"'killed-holder', held by process {holder.pid} on {hostname()}", str(ctx.exception))

        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        self.assertEqual(holder.returncode, -signal.SIGKILL)
        # The server sees the session end and drops its lock: granted well within the (generous) timeout.
        with minitestdb.lock("killed-holder", server=SERVER, timeout=30) as held:
            self.assertTrue(held.held)


class InProcessTest(unittest.TestCase):
    def test_nesting_in_one_thread_does_not_wait_for_itself(self) -> None:
        with minitestdb.lock("nested", server=SERVER, timeout=5), minitestdb.lock("nested", server=SERVER, timeout=5):
            pass
        with minitestdb.lock("nested", server=SERVER, timeout=5):
            pass

    def test_another_thread_waits_like_another_process(self) -> None:
        errors: list[BaseException] = []

        def other() -> None:
            try:
                with minitestdb.lock("threads", server=SERVER, timeout=1):
                    pass
            except LockTimeoutError as exc:
                errors.append(exc)

        with minitestdb.lock("threads", server=SERVER):
            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
        self.assertEqual(len(errors), 1)
        self.assertIn(f"held by process {os.getpid()} on {hostname()}", str(errors[0]))

    def test_the_default_server_is_test_database_url(self) -> None:
        script = "import minitestdb\nwith minitestdb.lock('by-url') as held:\n    print(held.endpoint.port)\n"
        proc = python_child(script, env=child_env())
        self.assertEqual((proc.returncode, proc.stdout.strip()), (0, str(SERVER.port)), proc.stderr)


if __name__ == "__main__":
    unittest.main()
