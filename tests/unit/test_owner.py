"""_owner: whether an owner process is alive, its start time, the counter, the exit registry and the at-fork reset."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
import unittest
import warnings
from unittest import mock

from minitestdb import _owner
from minitestdb._errors import CleanupError
from minitestdb._owner import at_fork_in_child, close_at_exit, forget_at_exit, hostname, next_count, owner_alive, owner_key, process_start_time

HAS_PROC = os.path.exists(f"/proc/{os.getpid()}/stat")


def reaped_pid() -> int:
    """The pid of a child that has exited and been waited for: no process has it (until the kernel reuses it)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def stat_line(comm: str, count: int) -> str:
    # Field 1 is the pid, field 2 "(comm)", then fields 3.. as "f3", "f4", ...: field 22 is the start time.
    return f"4242 ({comm}) " + " ".join(f"f{n}" for n in range(3, 3 + count)) + "\n"


class OwnerAliveTest(unittest.TestCase):
    def test_this_process_is_alive(self) -> None:
        self.assertTrue(owner_alive(os.getpid()))

    def test_a_reaped_child_is_dead(self) -> None:
        self.assertFalse(owner_alive(reaped_pid()))

    def test_no_owner_pid_counts_as_alive(self) -> None:
        for pid in (0, -1, -4242):
            with self.subTest(pid=pid), mock.patch.object(_owner.os, "kill") as kill:
                self.assertTrue(owner_alive(pid))
                self.assertTrue(owner_alive(pid, "123"))
            kill.assert_not_called()  # kill(0) or kill(-n) would signal a whole process group

    def test_a_process_we_may_not_signal_is_alive(self) -> None:
        with mock.patch.object(_owner.os, "kill", side_effect=PermissionError) as kill:
            self.assertTrue(owner_alive(4242))
        kill.assert_called_once_with(4242, 0)

    @unittest.skipUnless(HAS_PROC, "needs Linux /proc")
    def test_start_time_tells_a_reused_pid_apart(self) -> None:
        mine = process_start_time(os.getpid())
        self.assertIsNotNone(mine)
        self.assertTrue(owner_alive(os.getpid(), mine))
        self.assertFalse(owner_alive(os.getpid(), "1"))
        self.assertFalse(owner_alive(os.getpid(), (mine or "") + "0"))

    def test_an_unreadable_start_time_does_not_kill_an_owner(self) -> None:
        with mock.patch.object(_owner, "process_start_time", return_value=None):
            self.assertTrue(owner_alive(os.getpid(), "12345"))


class ProcessStartTimeTest(unittest.TestCase):
    @unittest.skipUnless(HAS_PROC, "needs Linux /proc")
    def test_this_process(self) -> None:
        first = process_start_time(os.getpid())
        assert first is not None
        self.assertTrue(first.isdigit(), first)
        self.assertEqual(process_start_time(os.getpid()), first)

    def test_no_such_process(self) -> None:
        self.assertIsNone(process_start_time(reaped_pid()))
        self.assertIsNone(process_start_time(2**22 + 12345))  # above Linux's pid_max

    def test_parsing_the_stat_line(self) -> None:
        # A command name may hold spaces and parentheses: fields are counted after the last ')'.
        cases = [
            (stat_line("python3", 50), "f22"),
            (stat_line("a b", 50), "f22"),
            (stat_line("x) (y) z", 50), "f22"),
            (stat_line("(", 20), "f22"),
            (stat_line("short", 19), None),
            ("", None),
        ]
        for data, expected in cases:
            with self.subTest(data=data[:30]), mock.patch("builtins.open", mock.mock_open(read_data=data)) as opened:
                self.assertEqual(process_start_time(4242), expected)
            opened.assert_called_once_with("/proc/4242/stat")


class CounterTest(unittest.TestCase):
    def test_increasing(self) -> None:
        values = [next_count() for _ in range(5)]
        self.assertEqual(values, list(range(values[0], values[0] + 5)))
        self.assertGreaterEqual(values[0], 1)

    def test_distinct_across_threads(self) -> None:
        per_thread, threads = 500, 8
        seen: list[list[int]] = [[] for _ in range(threads)]
        barrier = threading.Barrier(threads)

        def work(out: list[int]) -> None:
            barrier.wait()
            out.extend(next_count() for _ in range(per_thread))

        workers = [threading.Thread(target=work, args=(out,)) for out in seen]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        values = [v for out in seen for v in out]
        self.assertEqual(len(set(values)), per_thread * threads)
        self.assertEqual(max(values) - min(values) + 1, per_thread * threads)
        for out in seen:
            self.assertEqual(out, sorted(out))


class Closable:
    def __init__(self, error: BaseException | None = None) -> None:
        self.closed = 0
        self.error = error

    def close(self) -> None:
        self.closed += 1
        if self.error is not None:
            raise self.error


class ExitRegistryTest(unittest.TestCase):
    def test_close_and_forget(self) -> None:
        kept, forgotten = Closable(), Closable()
        with mock.patch.object(_owner, "_TO_CLOSE", set()):
            close_at_exit(kept)
            close_at_exit(forgotten)
            close_at_exit(kept)  # twice: closed once
            forget_at_exit(forgotten)
            forget_at_exit(Closable())  # never registered: no error
            _owner._close_at_exit()
        self.assertEqual((kept.closed, forgotten.closed), (1, 0))

    def test_a_failing_close_is_one_line_and_the_others_still_close(self) -> None:
        failing = Closable(CleanupError("The container c could not be removed; remove it with `docker rm --force c`."))
        others = [Closable(), Closable()]
        stderr = io.StringIO()
        with mock.patch.object(_owner, "_TO_CLOSE", set()), contextlib.redirect_stderr(stderr):
            for thing in (failing, *others):
                close_at_exit(thing)
            _owner._close_at_exit()
        self.assertEqual([o.closed for o in others], [1, 1])
        self.assertEqual(stderr.getvalue(), "minitestdb: The container c could not be removed; remove it with `docker rm --force c`.\n")

    def test_other_errors_are_not_swallowed(self) -> None:
        with mock.patch.object(_owner, "_TO_CLOSE", {Closable(ValueError("bug"))}), self.assertRaises(ValueError):
            _owner._close_at_exit()

    def test_hostname_is_the_nodename(self) -> None:
        self.assertEqual(hostname(), os.uname().nodename)
        self.assertTrue(hostname())


class OwnerKeyTest(unittest.TestCase):
    def test_one_unsigned_32_bit_key_for_every_thread_of_the_process(self) -> None:
        key = owner_key()
        self.assertTrue(0 <= key < 2**32)
        seen: list[int] = []
        threads = [threading.Thread(target=lambda: seen.append(owner_key())) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(seen, [key] * 8)

    def test_drawn_at_random_once(self) -> None:
        with mock.patch.dict(_owner._KEY, clear=True), mock.patch.object(_owner.os, "urandom", return_value=b"\xff\xff\xff\xfe") as urandom:
            self.assertEqual((owner_key(), owner_key()), (2**32 - 2, 2**32 - 2))
        self.assertEqual(urandom.call_count, 2)  # drawn each call, kept once: setdefault is what makes it atomic

    @unittest.skipUnless(hasattr(os, "fork") and hasattr(os, "register_at_fork"), "needs os.fork")
    def test_a_forked_child_draws_its_own(self) -> None:
        parent = owner_key()
        read, write = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            try:
                os.write(write, str(owner_key()).encode())
            finally:
                os._exit(0)
        os.close(write)
        child = int(os.read(read, 64))
        os.close(read)
        os.waitpid(pid, 0)
        self.assertNotEqual(child, parent)  # equal by chance once in 2**32 runs
        self.assertEqual(owner_key(), parent)


@unittest.skipUnless(hasattr(os, "fork") and hasattr(os, "register_at_fork"), "needs os.fork")
class AtForkTest(unittest.TestCase):
    def test_a_forked_child_forgets_what_its_parent_owns(self) -> None:
        thing = Closable()
        close_at_exit(thing)
        self.addCleanup(forget_at_exit, thing)
        ran: list[int] = []

        def callback() -> None:
            ran.append(os.getpid())

        at_fork_in_child(callback)
        self.addCleanup(_owner._fork_callbacks.remove, callback)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads running
            pid = os.fork()
        if pid == 0:
            code = 3
            try:
                # 1: the registry was not cleared; 2: our callback did not run in this process.
                code = 1 if _owner._TO_CLOSE else 2 if ran != [os.getpid()] else 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertTrue(os.WIFEXITED(status), status)
        self.assertEqual(os.WEXITSTATUS(status), 0)
        # The parent keeps its own: the callback did not run here, the thing is still registered.
        self.assertEqual(ran, [])
        self.assertIn(thing, _owner._TO_CLOSE)
        self.assertEqual(thing.closed, 0)


if __name__ == "__main__":
    unittest.main()
