"""The watchdog: private servers never outlive their owner, even one killed with SIGKILL.

When a process starts its first private server, it launches one small detached
process (``python -m minitestdb _watchdog --pid OWNER``, standard library only,
no container and no docker socket mounted anywhere).  It polls until the owner
is gone, then removes every non-shared container labelled with the owner's pid
and host.  A normal exit, an exception or Ctrl-C are handled by the owner itself
(``atexit``); SIGTERM and SIGKILL skip ``atexit``, and this is what catches them.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time

from ._container import LABEL, LABEL_OWNER_HOST, LABEL_OWNER_PID, LABEL_SHARED, hostname
from ._docker import DockerCLI
from ._errors import DockerDaemonError, DockerTimeoutError, MiniTestDBError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from subprocess import Popen

__all__ = ["ensure_watchdog", "owner_alive", "process_start_time", "remove_orphans", "watch"]

POLL_SECONDS = 0.5
#: How long the watchdog keeps trying when the Docker engine does not answer.
ENGINE_WAIT_SECONDS = 120.0

_started_lock = threading.Lock()
# The pid the watchdog was started for (a forked child needs its own).
_started_for: dict[str, int] = {}


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of *pid* (Linux), so a reused pid is not taken for its owner."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            data = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def owner_alive(pid: int, start_time: str | None = None) -> bool:
    """Whether process *pid* still runs (and, when *start_time* is known, is the same process)."""
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


def remove_orphans(docker: DockerCLI, pid: int, host: str | None = None) -> list[str]:
    """Remove the private containers of owner *pid* on *host*; return their ids."""
    host = host or hostname()
    ids = docker.ps([f"{LABEL}=1", f"{LABEL_OWNER_PID}={pid}", f"{LABEL_OWNER_HOST}={host}", f"{LABEL_SHARED}=0"])
    removed = []
    for container in ids:
        try:
            docker.rm(container)
            removed.append(container)
        except MiniTestDBError:
            pass
    return removed


def watch(pid: int, start_time: str | None, docker_binary: str | None = None) -> int:
    """Wait for *pid* to go away, then remove its containers (the body of ``_watchdog``)."""
    while owner_alive(pid, start_time):
        time.sleep(POLL_SECONDS)
    docker = DockerCLI(docker_binary)
    # A create in flight when the owner died lands a moment later: look twice.
    # While the engine is away (restarting), keep trying for a while.
    deadline = time.monotonic() + ENGINE_WAIT_SECONDS
    passes = 0
    while passes < 2:
        try:
            remove_orphans(docker, pid)
            passes += 1
        except (DockerDaemonError, DockerTimeoutError):
            if time.monotonic() > deadline:
                return 1
        except MiniTestDBError:
            passes += 1
        time.sleep(1.0)
    return 0


def _package_root() -> str:
    """The directory to put on sys.path so that this package imports under its own name.

    Works for a vendored copy too (``myproj._vendor.minitestdb``): go up one level
    per dotted part of the package name.
    """
    path = os.path.dirname(os.path.abspath(__file__))
    for _ in range((__package__ or "minitestdb").count(".") + 1):
        path = os.path.dirname(path)
    return path


def ensure_watchdog(docker_binary: str) -> None:
    """Start this process's watchdog once (a no-op after the first call)."""
    import subprocess

    pid = os.getpid()
    with _started_lock:
        if _started_for.get("pid") == pid:
            return
        _started_for["pid"] = pid
    env = dict(os.environ)
    root = _package_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    argv = [sys.executable, "-m", __package__ or "minitestdb", "_watchdog", "--pid", str(pid), "--docker", docker_binary]
    start_time = process_start_time(pid)
    if start_time:
        argv += ["--start-time", start_time]
    try:
        launcher = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # outlives the owner's process group (Ctrl-C, kill -- -PGID)
            close_fds=True,
        )
    except OSError:
        # No watchdog: atexit still covers normal exits; prune covers the rest.
        with _started_lock:
            _started_for.clear()
        return
    _launchers.append(launcher)


# The launcher forks the real watchdog and exits at once; reap it so no zombie or
# "still running" warning is left behind.
_launchers: list[Popen[bytes]] = []


@atexit.register
def _reap_launchers() -> None:
    for launcher in _launchers:
        launcher.poll()


def detach() -> None:
    """In the watchdog: fork, let the launcher exit, and go on in the child (POSIX)."""
    if hasattr(os, "fork") and os.fork() > 0:
        os._exit(0)
