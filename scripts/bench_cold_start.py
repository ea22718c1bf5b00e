"""Cold start and warm attach: how long until a test process can query a server.

Cold start (section 1 of the report): a new process until its first ``select 1`` on a
new server, the image present.  Measured for minitestdb ``start()`` (a private
container, this interpreter), ``python -m minitestdb up`` (a named server, the URL
then checked with psql, untimed) and the peers' cold-start programs from
``bench_peers``.  One discarded warm-up round of every tool first (the first
containers after a pause start slower), then ``repeats`` rounds with the order
rotated each round so that drift hits every tool alike.

Warm attach (section 2): ``python -m minitestdb up --name bench-warm`` while that
server already runs, timed as a whole process.
"""

from __future__ import annotations

from typing import Dict, List

import bench_peers
from bench_common import COLD_NAME, WARM_NAME, ChildFailed, ChildResult, fmt_s, run, run_child, say
from bench_env import Env

# (key, label in the report's tables)
COLD_TOOLS = [
    ("mtdb_start", "minitestdb `start()`"),
    ("mtdb_up", "minitestdb `python -m minitestdb up`"),
    ("tc", "testcontainers `PostgresContainer`"),
    ("pp", "pytest-postgresql `PostgreSQLExecutor` (host pg_ctl)"),
    ("tp", "testing.postgresql `Postgresql()` (host binaries)"),
]

# minitestdb's own cold-start program; it prints its phases and `server.diagnostics` with READY.
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
    if tool in bench_peers.COLD_START:
        return bench_peers.COLD_START[tool](env)
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


def bench_warm(env: Env, repeats: int) -> List[float]:
    """Whole-process times of ``up`` on the running ``bench-warm`` server (the caller started it)."""
    cli = [env.python, "-m", "minitestdb", "up", "--name", WARM_NAME]
    times = []
    for _ in range(repeats):
        times.append(run_child(cli, env=env.mtdb_env(), cwd=env.tmp).total)
    return times
