"""Who owns what: this process's identity, whether an owner is still alive, the one at-fork reset.

Containers carry their owner's pid and host in labels, databases and schemas in
their names; the watchdog, ``prune`` and the registries of open servers and
clones all judge owners through this module.  On a server, an owner is also its
:func:`owner_key`: the key of the lock its admin connections hold (see
``_templates``), which any host can look up.  A forked child is a new owner:
:func:`at_fork_in_child` callbacks make it forget its parent's servers, clones,
connections and key (without closing them: they are the parent's).
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
from typing import Callable, Protocol

from ._errors import MiniTestDBError

__all__ = [
    "at_fork_in_child",
    "close_at_exit",
    "forget_at_exit",
    "hostname",
    "next_count",
    "owner_alive",
    "owner_key",
    "process_start_time",
]


def hostname() -> str:
    """This machine's host name, as container labels record it (``os.uname``: no socket module needed)."""
    return os.uname().nodename


_counter = itertools.count(1)
_counter_lock = threading.Lock()


def next_count() -> int:
    """1, 2, 3... within this process (thread-safe): makes the names one process creates distinct."""
    with _counter_lock:
        return next(_counter)


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of *pid* (Linux ``/proc``), so a reused pid is not taken for its owner."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            data = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def owner_alive(pid: int, start_time: str | None = None) -> bool:
    """Whether process *pid* (on this host) still runs; with *start_time*, whether it is the same process.

    A pid of 0 or less means "no owner process" (kept on purpose) and counts as alive.
    """
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start_time is not None:
        now = process_start_time(pid)
        if now is not None and now != start_time:
            return False
    return True


_KEY: dict[str, int] = {}


def owner_key() -> int:
    """This process's owner key: random, unsigned 32-bit, the same in every thread; a forked child draws its own.

    Random rather than derived from host and pid: pids repeat across hosts and
    containers, and two live owners sharing a key would only delay pruning.
    """
    # setdefault is atomic: two threads asking at once both get the first key stored.
    return _KEY.setdefault("key", int.from_bytes(os.urandom(4), "big"))


_fork_callbacks: list[Callable[[], None]] = []


def at_fork_in_child(callback: Callable[[], None]) -> None:
    """Run *callback* in a forked child, so it forgets what belongs to its parent."""
    _fork_callbacks.append(callback)


def _after_fork_in_child() -> None:
    for callback in _fork_callbacks:
        callback()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

at_fork_in_child(_KEY.clear)


class _Closable(Protocol):
    def close(self) -> None: ...


# What this process owns and removes at exit (private servers); a forked child
# forgets its parent's: they are not its to remove.
_TO_CLOSE: set[_Closable] = set()
at_fork_in_child(_TO_CLOSE.clear)


def close_at_exit(thing: _Closable) -> None:
    """Call ``thing.close()`` when the interpreter exits, unless :func:`forget_at_exit` comes first."""
    _TO_CLOSE.add(thing)


def forget_at_exit(thing: _Closable) -> None:
    _TO_CLOSE.discard(thing)


@atexit.register
def _close_at_exit() -> None:
    for thing in list(_TO_CLOSE):
        try:
            thing.close()
        except MiniTestDBError as exc:
            print(f"minitestdb: {exc}", file=sys.stderr)
