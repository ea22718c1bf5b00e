"""Benchmark minitestdb against its peers on this machine, in one run.

    MINITESTDB_IMAGE=minitestdb/postgres-test:15 python scripts/bench.py [--quick]

Measures, on the same image, the same schema and the same machine, in one run:

1. cold start (a new process until its first ``select 1`` on a new server, image
   present): minitestdb ``start()`` and ``python -m minitestdb up``, against
   testcontainers-python's ``PostgresContainer``, pytest-postgresql's
   ``PostgreSQLExecutor`` (the host's ``pg_ctl``) and ``testing.postgresql``;
2. warm attach: ``python -m minitestdb up`` while the server already runs;
3. an isolated, migrated database per test (100 tests, 30 tables): minitestdb's
   clone (no pool), clone from the pool and schema mode, pytest-postgresql's
   ``DatabaseJanitor`` with its template database, and re-running the migrations
   with ``psql -f`` into a new database per test;
4. the import time of ``minitestdb`` and the peak memory of test processes.

Every figure is the median of several runs with their min and max, and every
comparison is a ratio against minitestdb measured in the same run.  Writes
``docs/benchmarks.md`` and ``docs/benchmarks.svg`` (plain SVG, no plotting library).

The peers live in a throwaway venv that this script creates (``--venv``, default
``/tmp/minitestdb-bench-venv``, reused when present); they are never dependencies
of minitestdb.  Each peer measurement is a new process of that venv's python;
minitestdb's run with this interpreter and the repository on PYTHONPATH.  Run as
root, the local-binary peers (PostgreSQL refuses to run as root) run under
``runuser`` as a throwaway user that this script creates and removes.  Everything
started is removed at the end: the ``bench-cold`` and ``bench-warm`` servers,
testcontainers' containers (found by a label of this run), the local clusters and
their temporary directories.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import os
import platform
import pwd
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IMAGE = "minitestdb/postgres-test:15"
DEFAULT_VENV = "/tmp/minitestdb-bench-venv"  # noqa: S108 - a throwaway venv, reused between runs
PG_BIN = "/usr/lib/postgresql/15/bin"
BENCH_USER = "mtdbbench"
COLD_NAME = "bench-cold"
WARM_NAME = "bench-warm"
PEER_REQUIREMENTS = ["testcontainers[postgres]>=4,<5", "pytest-postgresql", "testing.postgresql", "psycopg[binary]", "pg8000"]
PEER_DISTS = ["testcontainers", "pytest-postgresql", "testing.postgresql", "psycopg", "pg8000", "docker", "mirakuru"]
DASH = "\u2013"  # en dash, for ranges
TIMES = "\u00d7"  # multiplication sign, for ratios
TEST_BODY_SECONDS = 0.03  # each simulated test runs this long (not counted): the pool refills meanwhile

TARGETS = {
    "cold_vs_tc": 0.5,  # cold start at most half of testcontainers'
    "cold_abs": 1.5,  # seconds, median
    "warm": 0.25,  # seconds
    "vs_migrations": 10.0,
    "vs_janitor": 2.0,
    "pool_ms": 2.0,
    "import_ms": 30.0,
}


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
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=timeout, check=check, stdin=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the child programs -------------------------------------------------------------------

# Every child takes its configuration as one JSON argument, prints READY after its
# first successful query and RESULT with its own peak RSS at the end.

MTDB_START = """\
import time
t0 = time.perf_counter()
import json, sys
import minitestdb
t1 = time.perf_counter()
with minitestdb.start() as server:
    t2 = time.perf_counter()
    with server.connect() as conn:
        conn.query("select 1")
    t3 = time.perf_counter()
    d = server.diagnostics
    info = {"import": t1 - t0, "start": t2 - t1, "query": t3 - t2, "container": server.container_id}
    info.update(durations=d.durations, attempts=d.readiness_attempts)
    print("READY " + json.dumps(info), flush=True)
print("RESULT " + json.dumps({"rss_kb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])}), flush=True)
"""

TC_START = """\
import time
t0 = time.perf_counter()
import json, sys
try:
    from testcontainers.community.postgres import PostgresContainer
except ImportError:
    from testcontainers.postgres import PostgresContainer
import psycopg
t1 = time.perf_counter()
cfg = json.loads(sys.argv[1])
container = PostgresContainer(cfg["image"], driver=None, labels={"minitestdb-bench": cfg["token"]})
container.start()
try:
    t2 = time.perf_counter()
    with psycopg.connect(container.get_connection_url()) as conn:
        conn.execute("select 1").fetchone()
    t3 = time.perf_counter()
    print("READY " + json.dumps({"import": t1 - t0, "start": t2 - t1, "query": t3 - t2, "container": container.get_wrapped_container().id}), flush=True)
finally:
    container.stop()
print("RESULT " + json.dumps({"rss_kb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])}), flush=True)
"""

PP_START = """\
import time
t0 = time.perf_counter()
import json, os, shutil, sys, tempfile
from pytest_postgresql.executors import PostgreSQLExecutor
import psycopg
t1 = time.perf_counter()
cfg = json.loads(sys.argv[1])
tmp = tempfile.mkdtemp(prefix="pytest-postgresql-")
executor = PostgreSQLExecutor(
    executable=cfg["pg_ctl"], host="127.0.0.1", port=cfg["port"], datadir=os.path.join(tmp, "data"),
    unixsocketdir=tmp, logfile=os.path.join(tmp, "postgresql.log"), startparams="-w", dbname="tests",
)
executor.start()
try:
    executor.wait_for_postgres()
    t2 = time.perf_counter()
    # wait_for_postgres can return while the server still says "starting up"
    # (57P03): retry the first query as a user of the fixture would have to.
    for attempt in range(200):
        try:
            with psycopg.connect(host="127.0.0.1", port=cfg["port"], user=executor.user, dbname="postgres") as conn:
                conn.execute("select 1").fetchone()
            break
        except psycopg.OperationalError as exc:
            if "starting up" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.025)
    t3 = time.perf_counter()
    print("READY " + json.dumps({"import": t1 - t0, "start": t2 - t1, "query": t3 - t2}), flush=True)
finally:
    executor.stop()
    shutil.rmtree(tmp, ignore_errors=True)
print("RESULT " + json.dumps({"rss_kb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])}), flush=True)
"""

TP_START = """\
import time
t0 = time.perf_counter()
import json, sys
import testing.postgresql
import pg8000
t1 = time.perf_counter()
pg = testing.postgresql.Postgresql()
try:
    t2 = time.perf_counter()
    conn = pg8000.connect(**pg.dsn())
    cur = conn.cursor()
    cur.execute("select 1")
    cur.fetchone()
    conn.close()
    t3 = time.perf_counter()
    print("READY " + json.dumps({"import": t1 - t0, "start": t2 - t1, "query": t3 - t2}), flush=True)
finally:
    pg.stop()
print("RESULT " + json.dumps({"rss_kb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])}), flush=True)
"""

JANITOR = """\
import json, sys, time
from pathlib import Path
from pytest_postgresql.janitor import DatabaseJanitor
cfg = json.loads(sys.argv[1])
kw = dict(user=cfg["user"], host=cfg["host"], port=cfg["port"], password=cfg["password"])
out = {}
if cfg["mode"] == "template":
    began = time.perf_counter()
    janitor = DatabaseJanitor(dbname=cfg["template"], as_template=True, **kw)
    janitor.init()
    for path in cfg["files"]:
        janitor.load(Path(path))
    out["build"] = time.perf_counter() - began
else:
    acquire, release = [], []
    for i in range(cfg["tests"]):
        janitor = DatabaseJanitor(dbname=f"{cfg['prefix']}_{i}", template_dbname=cfg["template"], **kw)
        t0 = time.perf_counter()
        janitor.init()
        t1 = time.perf_counter()
        time.sleep(cfg["body"])
        t2 = time.perf_counter()
        janitor.drop()
        t3 = time.perf_counter()
        acquire.append(t1 - t0)
        release.append(t3 - t2)
    out.update(acquire=acquire, release=release)
out["rss_kb"] = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print("RESULT " + json.dumps(out), flush=True)
"""

MTDB_ATTACH_CLONE = """\
import json, sys
import minitestdb
cfg = json.loads(sys.argv[1])
server = minitestdb.up(cfg["name"])
template = server.template(sql=cfg["sql"], name="bench")
with template.clone("memory") as db:
    with db.connect() as conn:
        conn.query("select count(*) from t0")
template.close()
server.close()
print("RESULT " + json.dumps({"rss_kb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])}), flush=True)
"""

RSS_ONLY = 'print("RESULT {\\"rss_kb\\": %s}" % open("/proc/self/status").read().split("VmHWM:")[1].split()[0])'


# --- the environment ----------------------------------------------------------------------


class Env:
    """Interpreters, the bench user, the temporary directory and what to clean up."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.image: str = args.image
        self.python = sys.executable
        self.venv = args.venv
        self.venv_python = os.path.join(self.venv, "bin", "python")
        self.is_root = os.geteuid() == 0
        self.user: str | None = None
        self.created_user = False
        self.token = uuid.uuid4().hex[:12]
        self.tmp = tempfile.mkdtemp(prefix="minitestdb-bench-")
        self.peer_tmp = os.path.join(self.tmp, "peers")  # TMPDIR of the local-binary peers
        os.makedirs(self.peer_tmp)
        self.private_owner_pids: List[int] = []
        self.pycache = os.path.join(self.tmp, "pycache")

    def warm_bytecode(self) -> None:
        """Compile minitestdb and the stdlib modules it uses into the bytecode cache (untimed)."""
        run([self.python, "-m", "compileall", "-q", os.path.join(ROOT, "minitestdb")], env=self.mtdb_env(), check=False, timeout=300)
        modules = "minitestdb, minitestdb._templates, minitestdb._cli, minitestdb._pgconn, minitestdb._scram, minitestdb._psql, minitestdb._watchdog"
        for flags in ([], ["-S"]):
            run([self.python, *flags, "-c", f"import {modules}, argparse, hashlib, hmac, unicodedata, stringprep, json, queue, weakref, shutil, tempfile"],
                env=self.mtdb_env(), timeout=300)
        run([self.python, "-m", "minitestdb", "--help"], env=self.mtdb_env(), timeout=120)
        run([self.venv_python, "-c", f"import {modules}"], env=self.mtdb_env(), timeout=300)

    # environments for children
    def mtdb_env(self, *, bytecode: bool = True) -> Dict[str, str]:
        env = dict(os.environ)
        if bytecode:
            # Run from compiled bytecode, as an installed package does (pip compiles it) and as the
            # peers do; kept outside the checkout, which stays clean even with PYTHONDONTWRITEBYTECODE.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = self.pycache
        env["MINITESTDB_IMAGE"] = self.image
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.pop("TEST_DATABASE_URL", None)
        return env

    def peer_env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env["TESTCONTAINERS_RYUK_DISABLED"] = "true"  # the reaper image cannot be pulled here
        env["PATH"] = PG_BIN + os.pathsep + env.get("PATH", "")
        env["TMPDIR"] = self.peer_tmp
        return env

    def as_user(self, argv: Sequence[str]) -> List[str]:
        """Run *argv* as the unprivileged bench user when this script runs as root."""
        if self.user:
            return ["runuser", "-u", self.user, "--", *argv]
        return list(argv)

    # set-up
    def prepare_user(self) -> None:
        if not self.is_root:
            return
        try:
            pwd.getpwnam(BENCH_USER)
        except KeyError:
            say(f"creating the throwaway user {BENCH_USER} (PostgreSQL refuses to run as root)")
            run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", BENCH_USER])
            self.created_user = True
        self.user = BENCH_USER
        entry = pwd.getpwnam(BENCH_USER)
        for path in (self.tmp, self.peer_tmp):
            os.chmod(path, 0o755)  # noqa: S103 - the unprivileged bench user must reach its TMPDIR inside
        os.chown(self.peer_tmp, entry.pw_uid, entry.pw_gid)

    def _usable_by_user(self, python: str) -> bool:
        if not self.user:
            return True
        return run(self.as_user([python, "-c", "pass"]), check=False).returncode == 0

    def prepare_venv(self) -> None:
        if not os.path.exists(self.venv_python):
            base = getattr(sys, "_base_executable", sys.executable)
            if not self._usable_by_user(base):
                # e.g. a pyenv interpreter under /root: the bench user cannot run it.
                base = shutil.which("python3", path="/usr/bin") or base
            say(f"creating the peers' venv {self.venv} from {base}")
            run([base, "-m", "venv", self.venv], timeout=300)
        check = "import testcontainers, pytest_postgresql, testing.postgresql, psycopg, pg8000"
        if run([self.venv_python, "-c", check], check=False).returncode != 0:
            say("installing the peers into the venv (testcontainers, pytest-postgresql, testing.postgresql, psycopg, pg8000)")
            log = os.path.join(self.venv, "pip-install.log")
            with open(log, "w") as fh:
                code = subprocess.call([self.venv_python, "-m", "pip", "install", "--disable-pip-version-check", *PEER_REQUIREMENTS], stdout=fh, stderr=subprocess.STDOUT)
            if code != 0:
                raise SystemExit(f"bench: pip install into {self.venv} failed; see {log}")
        if not self._usable_by_user(self.venv_python):
            raise SystemExit(f"bench: {self.venv_python} cannot be run by the user {self.user}; remove {self.venv} and run again")

    # clean-up
    def cleanup(self) -> List[str]:
        problems: List[str] = []
        for name in (COLD_NAME, WARM_NAME):
            proc = run([self.python, "-m", "minitestdb", "down", "--name", name], env=self.mtdb_env(), check=False, timeout=120)
            if proc.returncode != 0:
                problems.append(f"down --name {name}: {proc.stderr.strip()}")
        for pid in self.private_owner_pids:
            problems += remove_containers(["--filter", "label=minitestdb=1", "--filter", f"label=minitestdb.owner-pid={pid}"], f"start() of pid {pid}")
        problems += remove_containers(["--filter", f"label=minitestdb-bench={self.token}"], "testcontainers")
        # Local clusters: stop any postmaster left under our temporary directory.
        for dirpath, _dirs, files in os.walk(self.tmp):
            if "postmaster.pid" in files:
                problems.append(f"a local cluster was left running in {dirpath}: stopping it")
                run(self.as_user([os.path.join(PG_BIN, "pg_ctl"), "stop", "-D", dirpath, "-m", "immediate"]), check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.created_user:
            run(["userdel", BENCH_USER], check=False)
        return problems


def remove_containers(filters: Sequence[str], what: str) -> List[str]:
    ids = run(["docker", "ps", "-aq", *filters], check=False).stdout.split()
    if ids:
        run(["docker", "rm", "--force", *ids], check=False)
        return [f"{len(ids)} container(s) of {what} were left and have been removed"]
    return []


# --- the schema ---------------------------------------------------------------------------


def write_schema(directory: str, tables: int = 30, rows: int = 100) -> List[str]:
    """30 migration files: a table with two indexes and 100 rows each (as in bench_clone.py)."""
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


# --- 1. cold start ------------------------------------------------------------------------


CHART_LABELS = {
    "mtdb_start": "minitestdb start()",
    "mtdb_up": "minitestdb up (CLI)",
    "tc": "testcontainers",
    "pp": "pytest-postgresql (host pg_ctl)",
    "tp": "testing.postgresql (host binaries)",
    "clone": "minitestdb clone(), no pool",
    "clone_wait": "minitestdb clone(), drop waited",
    "pool": "minitestdb clone() from the pool",
    "schema": "minitestdb schema()",
    "janitor": "pytest-postgresql janitor",
    "migrate": "re-run migrations (psql -f)",
}

COLD_TOOLS = [
    ("mtdb_start", "minitestdb `start()`"),
    ("mtdb_up", "minitestdb `python -m minitestdb up`"),
    ("tc", "testcontainers `PostgresContainer`"),
    ("pp", "pytest-postgresql `PostgreSQLExecutor` (host pg_ctl)"),
    ("tp", "testing.postgresql `Postgresql()` (host binaries)"),
]


def cold_once(env: Env, tool: str) -> ChildResult:
    if tool == "mtdb_start":
        return run_child([env.python, "-c", MTDB_START], env=env.mtdb_env(), cwd=env.tmp, pids=env.private_owner_pids)
    if tool == "mtdb_up":
        cli = [env.python, "-m", "minitestdb"]
        run([*cli, "down", "--name", COLD_NAME], env=env.mtdb_env(), check=False)
        res = run_child([*cli, "up", "--name", COLD_NAME], env=env.mtdb_env(), cwd=env.tmp)
        url = res.stdout[-1].strip()
        check = run(["psql", "-X", "-q", "-A", "-t", url, "-c", "select 1"], check=False)
        if check.stdout.strip() != "1":
            raise ChildFailed(f"psql on the server of `up` failed: {check.stderr.strip()}")
        run([*cli, "down", "--name", COLD_NAME], env=env.mtdb_env(), check=False)
        return res
    if tool == "tc":
        cfg = json.dumps({"image": env.image, "token": env.token})
        return run_child([env.venv_python, "-c", TC_START, cfg], env=env.peer_env(), cwd=env.tmp)
    if tool == "pp":
        cfg = json.dumps({"pg_ctl": os.path.join(PG_BIN, "pg_ctl"), "port": free_port()})
        return run_child(env.as_user([env.venv_python, "-c", PP_START, cfg]), env=env.peer_env(), cwd=env.peer_tmp)
    if tool == "tp":
        return run_child(env.as_user([env.venv_python, "-c", TP_START]), env=env.peer_env(), cwd=env.peer_tmp)
    raise ValueError(tool)


def bench_cold(env: Env, repeats: int) -> Dict[str, List[ChildResult]]:
    results: Dict[str, List[ChildResult]] = {tool: [] for tool, _ in COLD_TOOLS}
    # One discarded round first: the first containers after a pause are slower (seen here: 4-6 s instead of
    # 1.5 s), which would land on whichever tool happened to go first.
    for tool, _ in COLD_TOOLS:
        res = cold_once(env, tool)
        say(f"cold warm-up {tool}: {fmt_s(res.ready)} (discarded)")
    for rep in range(repeats):
        order = [tool for tool, _ in COLD_TOOLS]
        order = order[rep % len(order):] + order[:rep % len(order)]  # rotate: drift hits all alike
        for tool in order:
            res = cold_once(env, tool)
            results[tool].append(res)
            say(f"cold {rep + 1}/{repeats} {tool}: {fmt_s(res.ready)}")
    return results


# --- 2. warm attach -----------------------------------------------------------------------


def bench_warm(env: Env, repeats: int) -> List[float]:
    cli = [env.python, "-m", "minitestdb", "up", "--name", WARM_NAME]
    times = []
    for _ in range(repeats):
        times.append(run_child(cli, env=env.mtdb_env(), cwd=env.tmp).total)
    return times


# --- 3. a database per test ---------------------------------------------------------------


# Why a target can miss, from profiling (see the sections below for this run's phases).
MISSED_CAUSES = {
    "cold start": (
        "Cold start: of `start()`'s time, about 0.9 s is the image's own set-up after `docker start` (initdb, then the "
        "entrypoint's temporary socket-only server started and stopped, then the real server), which the official image's "
        "contract fixes, and about 0.3 s is `docker start` itself; minitestdb's own part (interpreter, imports, image inspect, "
        "`docker create`, port, readiness polls every 25 ms, SCRAM) is about 0.15 s. `up` adds a `docker container inspect` "
        "(the reuse check) and the CLI. What would cut it further: a cached, already initialised data directory (no initdb; but "
        "then not a fresh cluster from the image's own contract), or running the reuse check and the image inspect concurrently (about 20 ms)."
    ),
    "re-running the migrations": (
        "A database per test without the pool: a clone is `CREATE DATABASE ... STRATEGY FILE_COPY`, which copies the "
        "template's files and takes two checkpoints, 17-20 ms here for 30 tables and 60 indexes (`WAL_LOG` measured slower, "
        "21-25 ms); the teardown is queued to the template's worker (`drop(wait=False)`). The default (`pool=2`) hands over "
        "a clone made in the background while the previous test ran: 0.1 ms per test."
    ),
}

PER_TEST = [
    ("clone", "minitestdb `clone()`, no pool (teardown: `drop(wait=False)`, as the test helpers do)"),
    ("clone_wait", "minitestdb `clone()`, no pool, teardown waits for `drop()`"),
    ("pool", "minitestdb `clone()` from the pool (pool=2)"),
    ("schema", "minitestdb `schema()`"),
    ("janitor", "pytest-postgresql `DatabaseJanitor` (template_dbname)"),
    ("migrate", f"re-run the migrations: `CREATE DATABASE` + `psql -f` {TIMES}30"),
]


class Batch:
    def __init__(self, acquire: List[float], release: List[float], hits: int | None = None, rss_kb: int | None = None) -> None:
        self.acquire = acquire
        self.release = release
        self.cycle = [a + r for a, r in zip(acquire, release)]
        self.hits = hits
        self.rss_kb = rss_kb


class PerTest:
    """Runs batches of N tests against the warm server with each method."""

    def __init__(self, env: Env, server: Any, files: List[str], sql_dir: str, tests: int) -> None:
        self.env = env
        self.server = server
        self.files = files
        self.sql_dir = sql_dir
        self.tests = tests
        self.template = None
        self.build_seconds = 0.0
        self.janitor_template = f"bench_janitor_tpl_{env.token}"
        self.janitor_build = 0.0

    def prepare(self) -> None:
        began = time.perf_counter()
        self.template = self.server.template(sql=self.sql_dir, name="bench", pool=0)
        self.build_seconds = time.perf_counter() - began
        assert self.template.built, "the template should be new in this run"
        out = self._janitor({"mode": "template", "template": self.janitor_template, "files": self.files})
        self.janitor_build = out["build"]

    def _janitor(self, cfg: Dict[str, Any]) -> Dict[str, Any]:
        s = self.server
        cfg = dict(cfg, user=s.user, host=s.host, port=s.port, password=s.password)
        return run_child([self.env.venv_python, "-c", JANITOR, json.dumps(cfg)], env=self.env.peer_env(), cwd=self.env.tmp, timeout=900).result

    def run(self, method: str, batch: int) -> Batch:
        body = TEST_BODY_SECONDS
        acquire: List[float] = []
        release: List[float] = []
        if method == "janitor":
            out = self._janitor({"mode": "tests", "template": self.janitor_template, "tests": self.tests, "body": body, "prefix": f"bench_janitor_{self.env.token}_{batch}"})
            return Batch(out["acquire"], out["release"], rss_kb=out["rss_kb"])
        if method == "migrate":
            return self._migrate(batch)
        hits = 0
        template = self.template if method != "pool" else self.server.template(sql=self.sql_dir, name="bench")
        template.flush()
        try:
            for i in range(self.tests):
                t0 = time.perf_counter()
                db = template.schema(f"bench {i}") if method == "schema" else template.clone(f"bench {i}")
                t1 = time.perf_counter()
                if db.name.startswith("mtdb_pool_"):
                    hits += 1
                time.sleep(body)
                t2 = time.perf_counter()
                # As DatabaseTestCase and the pytest fixture do: the worker drops it
                # during the next test; "clone_wait" measures the waited drop.
                db.drop(wait=method == "clone_wait")
                t3 = time.perf_counter()
                acquire.append(t1 - t0)
                release.append(t3 - t2)
        finally:
            if method == "pool":
                template.close()
        return Batch(acquire, release, hits=hits if method == "pool" else None)

    def _migrate(self, batch: int) -> Batch:
        s = self.server
        psql = shutil.which("psql")
        if not psql:
            raise SystemExit("bench: psql is not on PATH (needed to re-run the migrations)")
        env = dict(os.environ, PGPASSWORD=s.password)
        args = [arg for path in self.files for arg in ("-f", path)]
        acquire: List[float] = []
        release: List[float] = []
        with s.connect() as conn:
            for i in range(self.tests):
                name = f"bench_migrate_{self.env.token}_{batch}_{i}"
                t0 = time.perf_counter()
                conn.query(f'CREATE DATABASE "{name}"')
                subprocess.run(
                    [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", s.host, "-p", str(s.port), "-U", s.user, "-d", name, *args],
                    env=env, check=True, stdout=subprocess.DEVNULL, timeout=120,
                )
                t1 = time.perf_counter()
                time.sleep(TEST_BODY_SECONDS)
                t2 = time.perf_counter()
                conn.query(f'DROP DATABASE "{name}" WITH (FORCE)')
                t3 = time.perf_counter()
                acquire.append(t1 - t0)
                release.append(t3 - t2)
        return Batch(acquire, release)


def bench_per_test(pt: PerTest, batches: int) -> Dict[str, List[Batch]]:
    results: Dict[str, List[Batch]] = {m: [] for m, _ in PER_TEST}
    for b in range(batches):
        order = [m for m, _ in PER_TEST]
        order = order[b % len(order):] + order[:b % len(order)]
        for method in order:
            batch = pt.run(method, b)
            results[method].append(batch)
            say(f"per-test batch {b + 1}/{batches} {method}: median {fmt_s(statistics.median(batch.cycle))} per test")
    return results


# --- 4. import time and memory ------------------------------------------------------------


IMPORTS = [
    ("mtdb", "minitestdb", "import minitestdb"),
    ("tc", "testcontainers (+ psycopg)", "from testcontainers.community.postgres import PostgresContainer; import psycopg"),
    ("pp", "pytest-postgresql (+ psycopg)", "from pytest_postgresql.executors import PostgreSQLExecutor; from pytest_postgresql.janitor import DatabaseJanitor; import psycopg"),
    ("tp", "testing.postgresql (+ pg8000)", "import testing.postgresql, pg8000"),
]

IN_PROCESS = 'import time; t = time.perf_counter(); {code}; print("RESULT {{\\"s\\": %r}}" % (time.perf_counter() - t))'


def bench_import(env: Env, repeats: int) -> Dict[str, Any]:
    """Whole-process cost of the import (``-c IMPORT`` minus ``-c pass``, paired) and in-process time."""
    me, pe = env.mtdb_env(), env.peer_env()
    # (key, interpreter + options, environment, code)
    variants: List[Tuple[str, List[str], Dict[str, str], str]] = []
    for key, _label, code in IMPORTS:
        variants.append((key, [env.python] if key == "mtdb" else [env.venv_python], me if key == "mtdb" else pe, code))
    variants.append(("mtdb_nosite", [env.python, "-S"], me, "import minitestdb"))
    variants.append(("mtdb_nocache", [env.python], env.mtdb_env(bytecode=False), "import minitestdb"))
    variants.append(("mtdb_plain", [env.venv_python], me, "import minitestdb"))
    diffs: Dict[str, List[float]] = {v[0]: [] for v in variants}
    inproc: Dict[str, List[float]] = {v[0]: [] for v in variants}
    passes: Dict[str, List[float]] = {v[0]: [] for v in variants}
    for _ in range(repeats):
        for key, py, e, code in variants:
            base = run_child([*py, "-c", "pass"], env=e, cwd=env.tmp).total
            passes[key].append(base)
            diffs[key].append(run_child([*py, "-c", code], env=e, cwd=env.tmp).total - base)
            inproc[key].append(run_child([*py, "-c", IN_PROCESS.format(code=code)], env=e, cwd=env.tmp).result["s"])
    return {"diff": diffs, "inproc": inproc, "pass": passes, "profile": import_profile(env)}


def import_profile(env: Env) -> List[Tuple[str, int, int]]:
    """What ``import minitestdb`` imports (``python -S -X importtime``): (module, self µs, cumulative µs), median of 5."""
    runs: Dict[str, List[Tuple[int, int]]] = {}
    for _ in range(5):
        proc = run([env.python, "-S", "-X", "importtime", "-c", "import minitestdb"], env=env.mtdb_env())
        entries = []
        for ln in proc.stderr.splitlines():
            if not ln.startswith("import time:") or "self [us]" in ln:
                continue
            self_us, cum_us, name = ln[len("import time:"):].split("|", 2)
            entries.append((int(self_us), int(cum_us), name.strip(), len(name) - len(name.lstrip())))
        # The output is in post-order: the subtree of the top-level `minitestdb` is the run of deeper lines before it.
        end = max(i for i, e in enumerate(entries) if e[2] == "minitestdb")
        start = end
        while start > 0 and entries[start - 1][3] > entries[end][3]:
            start -= 1
        for self_us_, cum_us_, name_, _depth in entries[start:end + 1]:
            runs.setdefault(name_, []).append((self_us_, cum_us_))
    rows = [(name, int(statistics.median(v[0] for v in vals)), int(statistics.median(v[1] for v in vals))) for name, vals in runs.items()]
    rows.sort(key=lambda r: -r[2])
    return rows


def bench_memory(env: Env, sql_dir: str, repeats: int) -> Dict[str, List[int]]:
    out: Dict[str, List[int]] = {"mtdb_attach_clone": [], "pass_mtdb": [], "pass_venv": []}
    for _ in range(repeats):
        cfg = json.dumps({"name": WARM_NAME, "sql": sql_dir})
        out["mtdb_attach_clone"].append(run_child([env.python, "-c", MTDB_ATTACH_CLONE, cfg], env=env.mtdb_env(), cwd=env.tmp).result["rss_kb"])
        out["pass_mtdb"].append(run_child([env.python, "-c", RSS_ONLY], env=env.mtdb_env(), cwd=env.tmp).result["rss_kb"])
        out["pass_venv"].append(run_child([env.venv_python, "-c", RSS_ONLY], env=env.peer_env(), cwd=env.tmp).result["rss_kb"])
    return out


# --- facts about the machine --------------------------------------------------------------


def machine_facts(env: Env, server: Any) -> Dict[str, str]:
    facts: Dict[str, str] = {}
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    facts["machine"] = f"{os.cpu_count()} cores ({cpu}), {mem} memory, {platform.system()} {platform.release()}"
    facts["load"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    facts["docker"] = run(["docker", "version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}"], check=False).stdout.strip()
    image_id = run(["docker", "image", "inspect", "--format", "{{.Id}}", env.image], check=False).stdout.strip()
    facts["image"] = f"`{env.image}` ({image_id[7:19]})"
    with server.connect() as conn:
        facts["server_version"] = conn.query("show server_version").rows[0][0]
    facts["host_pg"] = run([os.path.join(PG_BIN, "pg_ctl"), "--version"], check=False).stdout.strip()
    facts["python_mtdb"] = f"{platform.python_implementation()} {platform.python_version()} (`{sys.executable}`)"
    facts["python_venv"] = run([env.venv_python, "-c", "import platform, sys; print(platform.python_implementation(), platform.python_version(), '(`' + sys.base_prefix + '`)')"]).stdout.strip()
    versions = run([env.venv_python, "-c", "import importlib.metadata as m, json, sys; print(json.dumps({d: m.version(d) for d in sys.argv[1:]}))", *PEER_DISTS]).stdout
    facts["peers"] = ", ".join(f"{k} {v}" for k, v in json.loads(versions).items())
    sys.path.insert(0, ROOT)
    import minitestdb

    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--", "minitestdb"], check=False).stdout.strip()
    facts["minitestdb"] = f"{minitestdb.__version__} at {commit or 'unknown commit'}" + (" with uncommitted changes under minitestdb/" if dirty else "")
    return facts


# --- the report ---------------------------------------------------------------------------


def per_test_stats(batches: List[Batch]) -> Dict[str, Stat]:
    return {
        "cycle": Stat([statistics.median(b.cycle) for b in batches]),
        "cycle_p95": Stat([pct(b.cycle, 0.95) for b in batches]),
        "acquire": Stat([statistics.median(b.acquire) for b in batches]),
        "acquire_p95": Stat([pct(b.acquire, 0.95) for b in batches]),
        "release": Stat([statistics.median(b.release) for b in batches]),
        "total": Stat([sum(b.cycle) for b in batches]),
    }


def svg_chart(panels: List[Dict[str, Any]], width: int = 900) -> str:
    """Horizontal bar charts: the median as a bar, min-max as a whisker, the ratio as text."""
    label_w, value_w, pad = 250, 150, 16
    plot_w = width - label_w - value_w - 2 * pad
    row_h, bar_h = 30, 16
    parts: List[str] = []
    y = pad
    for panel in panels:
        rows = panel["rows"]
        top = max(r["hi"] for r in rows) * 1.05
        step = _nice_step(top / 5)
        ticks = [i * step for i in range(int(top / step) + 1)]
        scale = plot_w / (ticks[-1] if ticks[-1] >= top else top)
        parts.append(f'<text x="{pad}" y="{y + 16}" class="title">{html.escape(panel["title"])}</text>')
        parts.append(f'<text x="{pad}" y="{y + 34}" class="sub">{html.escape(panel["subtitle"])}</text>')
        y += 48
        x0 = pad + label_w
        body_h = row_h * len(rows)
        for t in ticks:
            x = x0 + t * scale
            parts.append(f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x:.1f}" y2="{y + body_h}" class="grid"/>')
            parts.append(f'<text x="{x:.1f}" y="{y + body_h + 14}" class="tick" text-anchor="middle">{html.escape(panel["tick"](t))}</text>')
        for r in rows:
            cy = y + row_h / 2
            w = max(1.0, r["median"] * scale)
            cls = "mtdb" if r["mtdb"] else "peer"
            parts.append(f'<text x="{x0 - 8}" y="{cy + 4:.1f}" class="label" text-anchor="end">{html.escape(r["label"])}</text>')
            parts.append(f'<rect x="{x0}" y="{cy - bar_h / 2:.1f}" width="{w:.1f}" height="{bar_h}" class="{cls}"><title>{html.escape(r["title"])}</title></rect>')
            lo, hi = x0 + r["lo"] * scale, x0 + r["hi"] * scale
            parts.append(f'<line x1="{lo:.1f}" y1="{cy:.1f}" x2="{hi:.1f}" y2="{cy:.1f}" class="whisker"/>')
            for x in (lo, hi):
                parts.append(f'<line x1="{x:.1f}" y1="{cy - 5:.1f}" x2="{x:.1f}" y2="{cy + 5:.1f}" class="whisker"/>')
            parts.append(f'<text x="{x0 + plot_w + 10}" y="{cy + 4:.1f}" class="value">{html.escape(r["text"])}</text>')
            y += row_h
        y += 34
    legend_x = width - pad - 250
    parts.append(f'<rect x="{legend_x}" y="{pad + 5}" width="12" height="12" class="mtdb"/><text x="{legend_x + 17}" y="{pad + 15}" class="sub">minitestdb</text>')
    parts.append(f'<rect x="{legend_x + 100}" y="{pad + 5}" width="12" height="12" class="peer"/><text x="{legend_x + 117}" y="{pad + 15}" class="sub">peers</text>')
    height = y
    style = (
        "text{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;fill:#1f2328}"
        ".title{font-size:16px;font-weight:600}.sub{font-size:12px;fill:#57606a}"
        ".label{font-size:12.5px}.value{font-size:12.5px;font-variant-numeric:tabular-nums}.tick{font-size:11px;fill:#57606a}"
        ".grid{stroke:#d0d7de;stroke-width:1}.mtdb{fill:#1f6feb}.peer{fill:#8c959f}.whisker{stroke:#24292f;stroke-width:1.2}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">\n'
        f"<title>minitestdb benchmarks</title>\n<style>{style}</style>\n"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>\n' + "\n".join(parts) + "\n</svg>\n"
    )


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    exp = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= raw:
            return m * exp
    return 10 * exp


def tick_seconds(t: float) -> str:
    return "0" if t == 0 else (f"{t:g} s" if t >= 1 else f"{t * 1000:g} ms")


def tick_ms(t: float) -> str:
    return "0" if t == 0 else f"{t * 1000:g} ms"


def write_report(
    *,
    args: argparse.Namespace, env: Env, facts: Dict[str, str], cold: Dict[str, List[ChildResult]], warm: List[float],
    per_test: Dict[str, List[Batch]], pt: PerTest, imports: Dict[str, Any], memory: Dict[str, List[int]], runtime: float,
    started: datetime.datetime, problems: List[str], command: str,
) -> Tuple[str, str]:
    cold_ready = {tool: Stat([r.ready for r in res]) for tool, res in cold.items()}
    cold_total = {tool: Stat([r.total for r in res]) for tool, res in cold.items()}
    warm_s = Stat(warm)
    pts = {m: per_test_stats(b) for m, b in per_test.items()}
    imp_diff = {k: Stat(v) for k, v in imports["diff"].items()}
    imp_in = {k: Stat(v) for k, v in imports["inproc"].items()}
    passes = {k: Stat(v) for k, v in imports["pass"].items()}
    cold_rss = {tool: Stat([r.result["rss_kb"] for r in res]) for tool, res in cold.items() if res and "rss_kb" in res[0].result}
    mem = {k: Stat(v) for k, v in memory.items()}
    janitor_rss_values = [b.rss_kb for b in per_test["janitor"] if b.rss_kb]
    base_cold = cold_ready["mtdb_start"].median
    base_pt = pts["clone"]["cycle"].median
    n_tests = args.tests

    # Targets: (what, measured, met).
    targets: List[Tuple[str, str, bool]] = []
    tc = cold_ready["tc"].median
    for tool, name in (("mtdb_start", "`start()`"), ("mtdb_up", "`up`")):
        mine = cold_ready[tool].median
        targets.append((f"cold start <= {TARGETS['cold_vs_tc']:.0%} of testcontainers ({name})", f"{fmt_s(mine)} vs {fmt_s(tc)} ({mine / tc:.0%})", mine <= TARGETS["cold_vs_tc"] * tc))
    for tool, name in (("mtdb_start", "`start()`"), ("mtdb_up", "`up`")):
        mine = cold_ready[tool].median
        targets.append((f"cold start < {TARGETS['cold_abs']} s median ({name})", fmt_s(mine), mine < TARGETS["cold_abs"]))
    targets.append((f"warm `up` < {TARGETS['warm'] * 1000:.0f} ms", fmt_s(warm_s.median), warm_s.median < TARGETS["warm"]))
    for peer, what, factor in (("migrate", "re-running the migrations", TARGETS["vs_migrations"]), ("janitor", "the janitor", TARGETS["vs_janitor"])):
        for mine, how in (("clone", "clone, no pool"), ("clone_wait", "clone, no pool, waited drop"), ("pool", "from the pool")):
            ratio = pts[peer]["cycle"].median / pts[mine]["cycle"].median
            targets.append((f"per-test database >= {factor:.0f}{TIMES} faster than {what} ({how})", f"{ratio:.2f}{TIMES}", ratio >= factor))
    pool_ms = pts["pool"]["acquire"].median * 1000
    targets.append((f"`clone()` from the pool < {TARGETS['pool_ms']:.0f} ms median", fmt_s(pool_ms / 1000), pool_ms < TARGETS["pool_ms"]))
    for key, where in (("mtdb", "this interpreter"), ("mtdb_plain", "a plain interpreter (the venv's, no `.pth` imports)")):
        whole, inside = imp_diff[key].median, imp_in[key].median
        targets.append((f"`import minitestdb` < {TARGETS['import_ms']:.0f} ms, {where}", f"{fmt_s(whole)} (whole process; {fmt_s(inside)} in-process)", whole * 1000 < TARGETS["import_ms"]))

    md: List[str] = []
    w = md.append
    w("# Benchmarks")
    w("")
    w("minitestdb against its peers on one machine, with the same image, the same schema and the same work, measured in one run of")
    w("")
    w("```sh")
    w(command)
    w("```")
    w("")
    w(f"on {started:%Y-%m-%d %H:%M} UTC ({runtime / 60:.1f} min). The machine is shared and noisy: compare the ratios, which were measured")
    w("side by side (runs of the tools interleaved), rather than the absolute times. Every figure is the median of several runs, with their min and max;")
    w("ratios are the tool's median divided by minitestdb's (above 1: slower than minitestdb).")
    w("")
    w("![cold start and per-test database](benchmarks.svg)")
    w("")
    w("## Headline")
    w("")
    w(f"| measurement | tool | median | min {DASH} max | ÷ minitestdb |")
    w("| --- | --- | ---: | ---: | ---: |")
    for tool, label in COLD_TOOLS:
        s = cold_ready[tool]
        w(f"| cold start → first `select 1` (new process, n={s.n}) | {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, base_cold)} |")
    w(f"| warm attach: `up` while the server runs (whole process, n={warm_s.n}) | minitestdb `python -m minitestdb up` | {fmt_s(warm_s.median)} | {fmt_range(warm_s)} | {DASH} |")
    for m, label in PER_TEST:
        s = pts[m]["cycle"]
        batches = f"{s.n} batch{'es' if s.n != 1 else ''}"
        w(f"| database per test: set-up + teardown, median of {n_tests} tests ({batches}) | {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, base_pt)} |")
    for key, label, _ in IMPORTS:
        s = imp_diff[key]
        w(f"| import (`-c IMPORT` minus `-c pass`, n={s.n}) | {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, imp_diff['mtdb'].median)} |")
    m = mem["mtdb_attach_clone"]
    w(f"| peak RSS of a test process (n={m.n}) | minitestdb: attach + template + clone + query | {fmt_mb(m.median)} | {fmt_range(m, fmt_mb)} | 1.00{TIMES} |")
    for tool, label in COLD_TOOLS:
        if tool in cold_rss and tool != "mtdb_up":
            s = cold_rss[tool]
            w(f"| peak RSS of a test process (n={s.n}) | {label}: start + first query | {fmt_mb(s.median)} | {fmt_range(s, fmt_mb)} | {fmt_ratio(s.median, m.median)} |")
    if janitor_rss_values:
        janitor_rss = Stat(janitor_rss_values)
        jr = janitor_rss
        w(f"| peak RSS of a test process (n={jr.n}) | pytest-postgresql janitor: {n_tests} databases | {fmt_mb(jr.median)} | {fmt_range(jr, fmt_mb)} | {fmt_ratio(jr.median, m.median)} |")
    w("")
    w("## Targets")
    w("")
    w("Per-test ratios compare the set-up + teardown medians (the teardown is a `DROP DATABASE` for all but the schema mode); the pool target is")
    w("the `clone()` call alone. Cold-start ratios compare medians of the time to the first query.")
    w("")
    w("| target | measured | |")
    w("| --- | --- | --- |")
    for text, value, ok in targets:
        w(f"| {text} | {value} | {'met' if ok else '**missed**'} |")
    w("")
    missed = [text for text, _value, ok in targets if not ok]
    if missed:
        w("### What is left")
        w("")
        for text in missed:
            w(f"- Missed in this run: {text}.")
        w("")
        for key, cause in MISSED_CAUSES.items():
            if any(key in text for text in missed):
                w(cause)
                w("")

    w("## 1. Cold start")
    w("")
    w("A new process until its first successful `select 1` on a new server, the image present, after one discarded warm-up round of every tool")
    w("(the first containers after a pause start slower, which would otherwise land on whichever tool goes first). The time runs from spawning the process")
    w("to the line it prints after the query (interpreter start-up and imports included); `up` is timed as a whole process (it prints the URL after its own")
    w("`select 1`, and psql then checks the URL, untimed). The phases are measured inside the process; \"process\" is the time until it exited, teardown")
    w("included.")
    w("")
    w(f"| tool | to first query | min {DASH} max | ÷ `start()` | interpreter + imports | server start | first query | process incl. teardown |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tool, label in COLD_TOOLS:
        s = cold_ready[tool]
        phases = [DASH, DASH, DASH]
        if cold[tool] and cold[tool][0].ready_info:
            info = [r.ready_info for r in cold[tool]]
            before = statistics.median(r.ready - r.ready_info["start"] - r.ready_info["query"] for r in cold[tool])
            phases = [fmt_s(before), fmt_s(statistics.median(i["start"] for i in info)), fmt_s(statistics.median(i["query"] for i in info))]
        w(f"| {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, base_cold)} | {' | '.join(phases)} | {fmt_s(cold_total[tool].median)} |")
    w("")
    diag = [r.ready_info.get("durations", {}) for r in cold["mtdb_start"]]
    if diag and all("total_to_ready" in d for d in diag):
        def med(key: str) -> str:
            vals = [d[key] for d in diag if key in d]
            return fmt_s(statistics.median(vals)) if vals else DASH
        before = statistics.median(d["total_to_ready"] - d.get("created->started", 0) - d.get("started->ready", 0) for d in diag)
        attempts = statistics.median(r.ready_info.get("attempts", 0) for r in cold["mtdb_start"])
        w(f"minitestdb `start()` inside (its `server.diagnostics`, medians): {fmt_s(before)} until the container is created (image inspect, "
          f"watchdog, `docker create`), {med('created->started')} created → started (`docker start`), {med('started->ready')} started → "
          f"ready (`docker inspect` for the port, then initdb and the server's start in the container, {attempts:g} readiness attempts); {med('total_to_ready')} in all.")
        w("")
    w("Settings as each tool ships them: minitestdb runs the data directory on a tmpfs with `fsync`, `synchronous_commit` and `full_page_writes` off;")
    w("testcontainers runs the image's defaults (durable); pytest-postgresql and testing.postgresql run the host's PostgreSQL "
      f"({facts['host_pg']}) with `-F` (fsync off) on a data directory under `/tmp` (disk). ")
    if env.user:
        w(f"The local-binary peers run as the unprivileged user `{env.user}` through `runuser` (PostgreSQL refuses to run as root); runuser adds about "
          f"{fmt_s(facts_runuser(env))} to their times. ")
    w("testcontainers runs with `TESTCONTAINERS_RYUK_DISABLED=true` (its reaper image cannot be pulled here). The interpreters differ in start-up: ")
    w(f"minitestdb's (`-c pass`) {fmt_s(passes['mtdb'].median)}, the venv's {fmt_s(passes['tc'].median)} (see section 4), which is in these times.")
    w("")
    w("## 2. Warm attach")
    w("")
    w(f"`python -m minitestdb up --name {WARM_NAME}` while that server runs, as a whole process: median {fmt_s(warm_s.median)} "
      f"({fmt_range(warm_s)}, n={warm_s.n}). Of that, the interpreter's own start-up (`-c pass`) is {fmt_s(passes['mtdb'].median)} here.")
    w("")
    w(f"## 3. A migrated database per test ({n_tests} tests, 30 tables)")
    w("")
    w(f"Each method gives {n_tests} tests, one after the other, their own database migrated with 30 files (a table, two indexes and 100 rows each),")
    w(f"on the same server (the shared `{WARM_NAME}` container). Set-up is the time a test waits for its database; teardown drops it. Each test")
    w(f"body sleeps {TEST_BODY_SECONDS * 1000:.0f} ms (not counted), the time a short test gives the pool to refill. Medians and p95 are per batch of {n_tests};")
    w(f"the table shows the median over {len(per_test['clone'])} batches with min {DASH} max; the total is set-up + teardown summed over the {n_tests} tests.")
    w("")
    w(f"| method | set-up + teardown median | min {DASH} max | p95 | set-up median | set-up p95 | teardown median | total for {n_tests} | ÷ `clone()` |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m_, label in PER_TEST:
        s = pts[m_]
        w(f"| {label} | {fmt_s(s['cycle'].median)} | {fmt_range(s['cycle'])} | {fmt_s(s['cycle_p95'].median)} | {fmt_s(s['acquire'].median)} | "
          f"{fmt_s(s['acquire_p95'].median)} | {fmt_s(s['release'].median)} | {fmt_s(s['total'].median)} ({fmt_range(s['total'])}) | {fmt_ratio(s['cycle'].median, base_pt)} |")
    w("")
    hits = [b.hits for b in per_test["pool"] if b.hits is not None]
    w(f"- The pool served {', '.join(str(h) for h in hits)} of {n_tests} clones per batch; the rest were created on the spot (they make the p95).")
    w("- minitestdb keeps one admin connection per process; the janitor opens a new psycopg connection for each `init()` and `drop()` and runs,")
    w("  per test, `pg_terminate_backend` on the template, `CREATE DATABASE ... TEMPLATE`, then `ALTER DATABASE ... allow_connections false`, another")
    w("  `pg_terminate_backend` and `DROP DATABASE`. Its template was built by its own `init()` (`as_template=True`) and `load()` of the same 30 files.")
    w("- Re-running the migrations: `CREATE DATABASE` over an open connection, one `psql -X -q -v ON_ERROR_STOP=1 -f ...` process with the 30 files,")
    w("  `DROP DATABASE ... WITH (FORCE)`.")
    w(f"- For context, single builds (n=1): minitestdb's template {fmt_s(pt.build_seconds)}, the janitor's template {fmt_s(pt.janitor_build)}.")
    w("")
    w("## 4. Import time and memory")
    w("")
    w(f"| import | whole process (`-c IMPORT` - `-c pass`) | min {DASH} max | in-process (`perf_counter` around the import) | min {DASH} max | `-c pass` alone |")
    w("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [(key, f"{label}: `{code}`") for key, label, code in IMPORTS]
    rows.insert(1, ("mtdb_nosite", "minitestdb, `python -S` (no `.pth` file of site-packages has imported anything first)"))
    rows.insert(2, ("mtdb_plain", "minitestdb on a plain interpreter (the venv's: no `.pth` imports at start-up)"))
    rows.insert(3, ("mtdb_nocache", "minitestdb without cached bytecode (`PYTHONDONTWRITEBYTECODE=1`, as this environment sets it)"))
    for key, label in rows:
        w(f"| {label} | {fmt_s(imp_diff[key].median)} | {fmt_range(imp_diff[key])} | {fmt_s(imp_in[key].median)} | {fmt_range(imp_in[key])} | {fmt_s(passes[key].median)} |")
    w("")
    w("minitestdb runs from bytecode compiled once into a temporary `PYTHONPYCACHEPREFIX` (the checkout stays clean), as an installed package and")
    w("the peers (compiled by pip) do. `.pth` files in an interpreter's site-packages run at start-up and may import modules (this interpreter's")
    w("import `certifi` and through it `importlib.resources`, `pathlib`, `tempfile`...); those are then free for the import measured after them,")
    w("hence the `-S` row, closer to a plain interpreter. The whole-process figures are differences of two noisy process times (they can come out")
    w("negative); the in-process figures are steadier.")
    w("")
    w("The slowest imports under `import minitestdb` (`python -S -X importtime`, cumulative, median of 5; `-X importtime` itself slows imports down):")
    w("")
    w("| module | cumulative | self |")
    w("| --- | ---: | ---: |")
    for name, self_us, cum_us in imports["profile"][:15]:
        w(f"| `{name.strip()}` | {cum_us / 1000:.1f} ms | {self_us / 1000:.1f} ms |")
    w("")
    w("Peak RSS is the process's own high-water mark (`VmHWM` in `/proc/self/status`, read at its end; children such as the docker CLI, psql or")
    w("pg_ctl are not counted). Not `ru_maxrss`: on Linux a child's `ru_maxrss` starts at the peak of the process that spawned it (it survives")
    w(f"fork and exec), so every child of this script would report at least this script's own peak. A bare interpreter: "
      f"{fmt_mb(mem['pass_mtdb'].median)} (minitestdb's), {fmt_mb(mem['pass_venv'].median)} (the venv's).")
    w("")
    w("## Machine and versions")
    w("")
    w(f"- Machine: {facts['machine']}; load average at the start {facts['load_start']}, at the end {facts['load']}")
    w(f"- Docker: {facts['docker']}; image {facts['image']}, PostgreSQL {facts['server_version']}")
    w(f"- minitestdb {facts['minitestdb']}, on {facts['python_mtdb']}")
    w(f"- Peers, in the venv `{env.venv}`: {facts['peers']}, on {facts['python_venv']}")
    w(f"- Host PostgreSQL for the local-binary peers: {facts['host_pg']} in `{PG_BIN}`")
    w(f"- Repeats: cold start {args.cold}, warm attach {args.warm}, per-test batches {args.batches} of {n_tests} tests, imports {args.imports}")
    if problems:
        w("")
        w("Clean-up notes from this run:")
        for p in problems:
            w(f"- {p}")
    w("")

    # The chart.
    cold_rows = []
    for tool, _label in COLD_TOOLS:
        s = cold_ready[tool]
        cold_rows.append({"label": CHART_LABELS[tool], "median": s.median, "lo": s.lo, "hi": s.hi, "mtdb": tool.startswith("mtdb"),
                          "text": f"{fmt_s(s.median)} · {fmt_ratio(s.median, base_cold)}", "title": f"{fmt_s(s.median)} (min {fmt_s(s.lo)}, max {fmt_s(s.hi)})"})
    pt_rows = []
    for m_, _label in PER_TEST:
        s = pts[m_]["cycle"]
        pt_rows.append({"label": CHART_LABELS[m_], "median": s.median, "lo": s.lo, "hi": s.hi, "mtdb": m_ in ("clone", "clone_wait", "pool", "schema"),
                        "text": f"{fmt_s(s.median)} · {fmt_ratio(s.median, base_pt)}", "title": f"{fmt_s(s.median)} (min {fmt_s(s.lo)}, max {fmt_s(s.hi)})"})
    svg = svg_chart([
        {"title": "Cold start: new process → first select 1 on a new server",
         "subtitle": f"median of {args.cold} run{'s' if args.cold != 1 else ''}, whiskers min{DASH}max, ratio to minitestdb start(); {started:%Y-%m-%d}, {os.cpu_count()} cores, image {env.image}",
         "rows": cold_rows, "tick": tick_seconds},
        {"title": "A migrated database per test (30 tables): set-up + teardown",
         "subtitle": f"median per test over {n_tests} tests, median of {args.batches} batch{'es' if args.batches != 1 else ''}, whiskers min{DASH}max, ratio to minitestdb clone() without pool",
         "rows": pt_rows, "tick": tick_ms},
    ])
    return "\n".join(md), svg


_RUNUSER_OVERHEAD: Dict[str, float] = {}


def facts_runuser(env: Env) -> float:
    if "v" not in _RUNUSER_OVERHEAD:
        plain = [run_child(["/bin/true"], env=dict(os.environ)).total for _ in range(7)]
        wrapped = [run_child(env.as_user(["/bin/true"]), env=dict(os.environ)).total for _ in range(7)]
        _RUNUSER_OVERHEAD["v"] = max(0.0, statistics.median(wrapped) - statistics.median(plain))
    return _RUNUSER_OVERHEAD["v"]


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (cold 3, warm 5, 1 batch, imports 7): about 2 minutes instead of 5")
    parser.add_argument("--cold", type=int, help="cold-start runs per tool (default 5, quick 3)")
    parser.add_argument("--warm", type=int, help="warm `up` runs (default 10, quick 5)")
    parser.add_argument("--batches", type=int, help="per-test batches per method (default 3, quick 1)")
    parser.add_argument("--tests", type=int, default=100, help="tests per batch (default: %(default)s)")
    parser.add_argument("--imports", type=int, help="import-time runs (default 15, quick 7)")
    parser.add_argument("--image", default=os.environ.get("MINITESTDB_IMAGE") or DEFAULT_IMAGE, help="image for every container (default: $MINITESTDB_IMAGE, else %(default)s)")
    parser.add_argument("--venv", default=DEFAULT_VENV, help="the peers' throwaway venv (default: %(default)s)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"), help="where benchmarks.md and benchmarks.svg go (default: docs/)")
    args = parser.parse_args()
    args.cold = args.cold or (3 if args.quick else 5)
    args.warm = args.warm or (5 if args.quick else 10)
    args.batches = args.batches or (1 if args.quick else 3)
    args.imports = args.imports or (7 if args.quick else 15)
    command = " ".join([f"MINITESTDB_IMAGE={args.image}", "python", "scripts/bench.py", *[shlex.quote(a) for a in sys.argv[1:]]])

    began = time.perf_counter()
    started = datetime.datetime.now(datetime.timezone.utc)
    os.environ["MINITESTDB_IMAGE"] = args.image
    os.environ.pop("TEST_DATABASE_URL", None)
    if shutil.which("docker") is None or run(["docker", "image", "inspect", args.image], check=False).returncode != 0:
        raise SystemExit(f"bench: the image {args.image} is not present (build it: bash scripts/build-test-image.sh)")
    for binary in ("pg_ctl", "initdb", "postgres"):
        if not os.path.exists(os.path.join(PG_BIN, binary)):
            raise SystemExit(f"bench: {PG_BIN}/{binary} is missing (the local-binary peers need PostgreSQL 15 on the host)")

    env = Env(args)
    load_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    problems: List[str] = []
    server = None
    try:
        env.prepare_user()
        env.prepare_venv()
        sql_dir = os.path.join(env.tmp, "migrations")
        os.makedirs(sql_dir)
        os.chmod(sql_dir, 0o755)  # noqa: S103 - migrations, readable like any checked-in file
        files = write_schema(sql_dir)
        for path in files:
            os.chmod(path, 0o644)

        env.warm_bytecode()
        say(f"import time ({args.imports} runs)")
        imports = bench_import(env, args.imports)
        say(f"cold start ({args.cold} runs per tool, interleaved)")
        cold = bench_cold(env, args.cold)

        say("warm attach")
        first = run_child([env.python, "-m", "minitestdb", "up", "--name", WARM_NAME], env=env.mtdb_env(), cwd=env.tmp)
        warm = bench_warm(env, args.warm)
        say(f"warm up: median {fmt_s(statistics.median(warm))}")

        sys.path.insert(0, ROOT)
        import minitestdb

        server = minitestdb.attach(WARM_NAME)
        assert first.stdout, "up printed no URL"
        pt = PerTest(env, server, files, sql_dir, args.tests)
        say("per-test databases: building the templates")
        pt.prepare()
        per_test = bench_per_test(pt, args.batches)
        say("memory")
        memory = bench_memory(env, sql_dir, 3)
        facts = machine_facts(env, server)
        facts["load_start"] = load_start
        facts_runuser(env)
    finally:
        if server is not None:
            try:
                server.close()
            except Exception as exc:  # noqa: BLE001 - clean-up goes on
                problems.append(f"closing the attached server: {exc}")
        say("cleaning up")
        problems += env.cleanup()
        left = run(["docker", "ps", "-a", "--filter", "label=minitestdb=1", "--format", "{{.Names}}"], check=False).stdout.split()
        ours = [n for n in left if n in (f"minitestdb-{COLD_NAME}", f"minitestdb-{WARM_NAME}")]
        if ours:
            problems.append(f"still present after clean-up: {', '.join(ours)}")
        for p in problems:
            say(p)

    runtime = time.perf_counter() - began
    md, svg = write_report(
        args=args, env=env, facts=facts, cold=cold, warm=warm, per_test=per_test, pt=pt, imports=imports, memory=memory,
        runtime=runtime, started=started, problems=problems, command=command,
    )
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "benchmarks.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(args.out, "benchmarks.svg"), "w") as fh:
        fh.write(svg)
    say(f"wrote {os.path.join(args.out, 'benchmarks.md')} and benchmarks.svg in {runtime / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
