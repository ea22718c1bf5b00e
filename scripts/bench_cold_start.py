"""Cold start and warm attach: how long until a test process can query a server.

Cold start (section 1 of the report): a new process until its first ``select 1`` on a
new server, the image present.  Measured for minitestdb ``start()`` (a private
container, this interpreter; from the image's start-up snapshot, and with
``MINITESTDB_SNAPSHOT=0`` initialized by initdb as before), ``python -m minitestdb
up`` (a named server, the URL then checked with psql, untimed) and the peers'
cold-start programs from ``bench_peers``.  One discarded warm-up round of every
tool first (the first containers after a pause start slower; it also builds the
snapshot), then ``repeats`` rounds with the order rotated each round so that drift
hits every tool alike.  The same is measured on a second image that minitestdb does
not build (``CONTRACT_TOOLS``: the official entrypoint, ``scripts/official-entrypoint-image``).

minitestdb's own runs report their phases: the diagnostics' marks (image found,
snapshot decided, ``docker run`` returned, port read, ready) and, from the
container's timestamped log, when PostgreSQL said it was ready (and, with initdb,
when the entrypoint's initialization ended).

Warm attach (section 2): ``python -m minitestdb up --name bench-warm`` while that
server already runs, timed as a whole process.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import bench_peers
from bench_common import COLD_NAME, WARM_NAME, ChildFailed, ChildResult, fmt_s, run, run_child, say
from bench_env import Env

# (key, label in the report's tables)
COLD_TOOLS = [
    ("mtdb_start", "minitestdb `start()`"),
    ("mtdb_init", "minitestdb `start()` with initdb (`MINITESTDB_SNAPSHOT=0`)"),
    ("mtdb_up", "minitestdb `python -m minitestdb up`"),
    ("tc", "testcontainers `PostgresContainer`"),
    ("pp", "pytest-postgresql `PostgreSQLExecutor` (host pg_ctl)"),
    ("tp", "testing.postgresql `Postgresql()` (host binaries)"),
]

# On a second image (the official entrypoint, which minitestdb does not build): minitestdb and testcontainers.
CONTRACT_TOOLS = [
    ("mtdb_start", "minitestdb `start()`"),
    ("mtdb_init", "minitestdb `start()` with initdb (`MINITESTDB_SNAPSHOT=0`)"),
    ("tc", "testcontainers `PostgresContainer`"),
]

# minitestdb's own cold-start program; it prints its phases and `server.diagnostics` with READY.
# The container's timestamped log is read after the first query (outside the timed part).
MTDB_START = """\
import time
t0 = time.perf_counter()
w0 = time.time()
import json, sys
import minitestdb
t1 = time.perf_counter()
w1 = time.time()
with minitestdb.start() as server:
    t2 = time.perf_counter()
    with server.connect() as conn:
        conn.query("select 1")
    t3 = time.perf_counter()
    w3 = time.time()
    d = server.diagnostics
    logs = server.docker.run(["logs", "--timestamps", server.container_id])
    log = logs.stdout + logs.stderr
    info = {"import": t1 - t0, "start": t2 - t1, "query": t3 - t2, "container": server.container_id, "snapshot": d.snapshot}
    info.update(durations=d.durations, attempts=d.readiness_attempts, marks=d.timestamps, began=w1, answered=w3, log=log[-20000:])
    print("READY " + json.dumps(info), flush=True)
print("RESULT " + json.dumps({"rss_kb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])}), flush=True)
"""


def _log_time(line: str) -> float:
    """The wall-clock time of one ``docker logs --timestamps`` line (RFC 3339 with nanoseconds)."""
    import datetime

    stamp = line.split(" ", 1)[0]
    whole, _, frac = stamp.rstrip("Z").partition(".")
    moment = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp() + float("0." + (frac or "0"))


def cold_phases(info: Dict[str, Any]) -> Dict[str, float]:
    """Seconds per phase of one minitestdb cold start, from its READY info (marks and the container's log).

    import; image inspect; snapshot lookup (or build); ``docker run`` (create + start);
    in the container until PostgreSQL logs that it is ready (with initdb: the
    entrypoint's initialization, then the real server's start); until the readiness
    probe's query answered; the first query.
    """
    marks, log = info.get("marks", {}), info.get("log", "")
    ready_lines = [_log_time(line) for line in log.splitlines() if "ready to accept connections" in line]
    init_done = [_log_time(line) for line in log.splitlines() if "init process complete" in line]
    began = info["began"]
    out = {"import": info["import"], "image inspect": marks["image"] - began, "snapshot lookup": marks["snapshot"] - marks["image"],
           "docker run": marks["started"] - marks["snapshot"]}
    pg_ready = ready_lines[-1] if ready_lines else marks["ready"]
    if init_done:
        out["initdb + temporary server"] = init_done[-1] - marks["started"]
        out["real server start"] = pg_ready - init_done[-1]
    else:
        out["copy + password + server start"] = pg_ready - marks["started"]
    out["readiness seen"] = marks["ready"] - pg_ready
    out["first query"] = info["query"]
    return out


def cold_once(env: Env, tool: str) -> ChildResult:
    if tool in ("mtdb_start", "mtdb_init"):
        child_env = env.mtdb_env()
        child_env["MINITESTDB_IMAGE"] = env.image
        if tool == "mtdb_init":
            child_env["MINITESTDB_SNAPSHOT"] = "0"
        return run_child([env.python, "-c", MTDB_START], env=child_env, cwd=env.tmp, pids=env.private_owner_pids)
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
    if tool in bench_peers.COLD_START:
        return bench_peers.COLD_START[tool](env)
    raise ValueError(tool)


def bench_cold(env: Env, repeats: int, tools: Sequence[Tuple[str, str]] = COLD_TOOLS) -> Dict[str, List[ChildResult]]:
    results: Dict[str, List[ChildResult]] = {tool: [] for tool, _ in tools}
    # One discarded round first: the first containers after a pause are slower (seen here: 4-6 s instead of
    # 1.5 s), which would land on whichever tool happened to go first; minitestdb's builds the snapshot.
    for tool, _ in tools:
        res = cold_once(env, tool)
        say(f"cold warm-up {tool} on {env.image}: {fmt_s(res.ready)} (discarded)")
    for rep in range(repeats):
        order = [tool for tool, _ in tools]
        order = order[rep % len(order):] + order[:rep % len(order)]  # rotate: drift hits all alike
        for tool in order:
            res = cold_once(env, tool)
            results[tool].append(res)
            say(f"cold {rep + 1}/{repeats} {tool} on {env.image}: {fmt_s(res.ready)}")
    return results


def bench_warm(env: Env, repeats: int) -> List[float]:
    """Whole-process times of ``up`` on the running ``bench-warm`` server (the caller started it)."""
    cli = [env.python, "-m", "minitestdb", "up", "--name", WARM_NAME]
    times = []
    for _ in range(repeats):
        times.append(run_child(cli, env=env.mtdb_env(), cwd=env.tmp).total)
    return times
