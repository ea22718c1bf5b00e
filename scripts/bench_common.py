"""What every benchmark script shares: statistics, formatting, timed child processes, the schema.

- ``Stat`` (median, min, max of several runs), ``pct`` and the ``fmt_*`` helpers that
  print durations, ranges, ratios and memory the way the report reads them;
- ``run_child``: run a new process and time it from spawn to its ``READY`` line and
  to its exit (the protocol of every measured child program), and ``run`` for
  untimed commands;
- ``write_schema``: the 30-table migration set used by ``bench.py`` and ``bench_clone.py``;
- the names and paths the benchmark modules agree on (the checkout, the host's
  PostgreSQL binaries, the names of the shared servers).

Standard library only; no measurement happens here.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout
PG_BIN = "/usr/lib/postgresql/15/bin"  # the host's PostgreSQL, for the local-binary peers
COLD_NAME = "bench-cold"  # the server `python -m minitestdb up` starts and removes in each cold run
WARM_NAME = "bench-warm"  # the server kept running for warm attach, the per-test databases and memory
DASH = "\u2013"  # en dash, for ranges
TIMES = "\u00d7"  # multiplication sign, for ratios
TEST_BODY_SECONDS = 0.03  # each simulated test runs this long (not counted): the pool refills meanwhile


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- statistics and formatting ------------------------------------------------------------


class Stat:
    """The median of several runs, with min and max."""

    def __init__(self, values: Sequence[float]) -> None:
        if not values:
            raise ValueError("no values")
        self.values = list(values)
        self.median = statistics.median(self.values)
        self.lo = min(self.values)
        self.hi = max(self.values)
        self.n = len(self.values)


def pct(values: Sequence[float], q: float) -> float:
    """The *q* quantile (0..1) of *values*, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fmt_s(seconds: float) -> str:
    """A duration, in the unit a person reads best."""
    ms = seconds * 1000
    if ms >= 1000:
        return f"{seconds:.2f} s"
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def fmt_range(stat: Stat, fmt: Callable[[float], str] = fmt_s) -> str:
    return f"{fmt(stat.lo)} {DASH} {fmt(stat.hi)}"


def fmt_ratio(value: float, base: float) -> str:
    if base <= 0:
        return "n/a"
    return f"{value / base:.2f}{TIMES}"


def fmt_mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


# --- processes ----------------------------------------------------------------------------


class ChildResult:
    def __init__(self, ready: float, total: float, ready_info: Dict[str, Any], result: Dict[str, Any], stdout: List[str]) -> None:
        self.ready = ready  # seconds from spawn to the READY line (or to exit when there is none)
        self.total = total  # seconds from spawn to exit
        self.ready_info = ready_info
        self.result = result
        self.stdout = stdout


class ChildFailed(RuntimeError):
    pass


def run_child(argv: Sequence[str], *, env: Dict[str, str], timeout: float = 300.0, cwd: str | None = None, pids: List[int] | None = None) -> ChildResult:
    """Run *argv*; time it from spawn to its ``READY`` line and to its exit.

    A child prints ``READY {json}`` once its first query succeeded and
    ``RESULT {json}`` at the end; other stdout lines are kept.  stderr goes to a
    file, shown when the child fails.
    """
    with tempfile.TemporaryFile(mode="w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env, text=True, cwd=cwd, start_new_session=True)
        if pids is not None:
            pids.append(proc.pid)  # its private containers carry this pid: found again at clean-up
        timer = threading.Timer(timeout, _kill_group, args=(proc,))
        timer.start()
        ready_at: float | None = None
        ready_info: Dict[str, Any] = {}
        result: Dict[str, Any] = {}
        lines: List[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("READY") and ready_at is None:
                    ready_at = time.perf_counter() - began
                    rest = line[len("READY"):].strip()
                    ready_info = json.loads(rest) if rest else {}
                elif line.startswith("RESULT "):
                    result = json.loads(line[len("RESULT "):])
                    break  # a detached grandchild may hold stdout open: stop reading here
                else:
                    lines.append(line.rstrip("\n"))
            code = proc.wait()
            total = time.perf_counter() - began
        finally:
            timer.cancel()
            if proc.poll() is None:
                _kill_group(proc)
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if code != 0:
            err.seek(0)
            tail = err.read()[-3000:]
            raise ChildFailed(f"{shlex.join(argv[:6])}... exited with {code}:\n{tail}")
    return ChildResult(ready_at if ready_at is not None else total, total, ready_info, result, lines)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass


def run(argv: Sequence[str], *, env: Dict[str, str] | None = None, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an untimed command and capture its output."""
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=timeout, check=check, stdin=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the schema ---------------------------------------------------------------------------


def write_schema(directory: str, tables: int = 30, rows: int = 100) -> List[str]:
    """30 migration files: a table with two indexes and 100 rows each (used by bench.py and bench_clone.py)."""
    marker = uuid.uuid4().hex  # a fresh fingerprint for every run
    paths = []
    for i in range(tables):
        path = os.path.join(directory, f"{i:03d}_table_{i}.sql")
        with open(path, "w") as fh:
            fh.write(
                textwrap.dedent(f"""
                -- {marker}
                create table t{i} (id serial primary key, name text not null, value int, created timestamptz default now());
                create index t{i}_name on t{i} (name);
                create index t{i}_value on t{i} (value);
                insert into t{i} (name, value) select 'row ' || g, g from generate_series(1, {rows}) g;
                """)
            )
        paths.append(path)
    return paths
