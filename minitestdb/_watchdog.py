"""The watchdog and container pruning: private servers never outlive their owner, even one killed with SIGKILL.

When a process starts its first private server, it launches one small detached
process (``python -m minitestdb _watchdog --pid OWNER``, standard library only,
no container and no docker socket mounted anywhere).  It polls until the owner
is gone, then removes every non-shared container labelled with the owner's pid
and host (``docker rm --force``, no stop first: like ``Server.close()``).  A normal exit, an exception or Ctrl-C are handled by the owner itself
(``atexit``); SIGTERM and SIGKILL skip ``atexit``, and this is what catches them.
:func:`prune_containers` removes what is left when both were gone (a reboot).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time

from ._container import LABEL, LABEL_OWNER_HOST, LABEL_OWNER_PID, LABEL_SHARED
from ._docker import DockerCLI
from ._errors import DockerDaemonError, DockerTimeoutError, MiniTestDBError, NoSuchContainerError
from ._owner import at_fork_in_child, hostname, owner_alive, process_start_time

__all__ = ["ensure_watchdog", "prune_containers", "remove_orphans", "watch"]

POLL_SECONDS = 0.5
#: How long the watchdog keeps trying when the Docker engine does not answer.
ENGINE_WAIT_SECONDS = 120.0

_started_lock = threading.Lock()
# Whether this process has started its watchdog (a forked child needs its own).
_started: list[bool] = []
at_fork_in_child(_started.clear)


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
    pid = os.getpid()
    with _started_lock:
        if _started:
            return
        _started.append(True)
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
            _started.clear()
        return
    _launchers.append(launcher)


# The launcher forks the real watchdog and exits at once; reap it so no zombie or
# "still running" warning is left behind.
_launchers: list[subprocess.Popen[bytes]] = []


@atexit.register
def _reap_launchers() -> None:
    for launcher in _launchers:
        launcher.poll()


def detach() -> None:
    """In the watchdog: fork, let the launcher exit, and go on in the child (POSIX)."""
    if hasattr(os, "fork") and os.fork() > 0:
        os._exit(0)


def prune_containers(*, docker: str | None = None) -> list[str]:
    """Remove private containers whose owner process (on this host) is gone.

    Never touches a shared server, a live owner's containers, or containers of
    other hosts (their owners cannot be checked from here).  Returns the names removed.
    """
    cli = DockerCLI(docker)
    host = hostname()
    removed = []
    infos = sorted(cli.inspect_many(cli.ps([f"{LABEL}=1"])), key=lambda i: (i.created or 0, i.name))
    for info in infos:
        pid = info.labels.get(LABEL_OWNER_PID, "")
        if info.shared or info.labels.get(LABEL_OWNER_HOST) != host or not pid.isdigit() or owner_alive(int(pid)):
            continue
        try:
            cli.rm(info.id)
        except NoSuchContainerError:
            continue
        removed.append(info.name)
    return removed
