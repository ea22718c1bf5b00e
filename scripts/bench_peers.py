"""The peers minitestdb is measured against, and how each is driven.

Each peer runs as a new process of the peers' venv (see ``bench_env``), as the
small program below that a user of that library would write:

- testcontainers-python: ``PostgresContainer`` on the same image as minitestdb,
  its containers labelled with this run's token so that clean-up finds them;
- pytest-postgresql: ``PostgreSQLExecutor`` on the host's ``pg_ctl`` (its fixture
  for a local server), and ``DatabaseJanitor`` for a database per test from a
  template database (built by its own ``init()`` + ``load()``);
- testing.postgresql: ``Postgresql()`` on the host's binaries.

A cold-start program prints ``READY {json}`` after its first ``select 1`` (with its
own phases: interpreter + imports, server start, first query) and, like the
janitor, ``RESULT {json}`` with its peak RSS at the end (the protocol of
``bench_common.run_child``).  The local-binary peers run as the bench user when
this script runs as root.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict

from bench_common import PG_BIN, ChildResult, free_port, run_child
from bench_env import Env

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


# --- cold start: a new process until its first `select 1` on a new server -----------------


def start_testcontainers(env: Env) -> ChildResult:
    cfg = json.dumps({"image": env.image, "token": env.token})
    return run_child([env.venv_python, "-c", TC_START, cfg], env=env.peer_env(), cwd=env.tmp)


def start_pytest_postgresql(env: Env) -> ChildResult:
    cfg = json.dumps({"pg_ctl": os.path.join(PG_BIN, "pg_ctl"), "port": free_port()})
    return run_child(env.as_user([env.venv_python, "-c", PP_START, cfg]), env=env.peer_env(), cwd=env.peer_tmp)


def start_testing_postgresql(env: Env) -> ChildResult:
    return run_child(env.as_user([env.venv_python, "-c", TP_START]), env=env.peer_env(), cwd=env.peer_tmp)


# The peers' cold-start drivers, by the key the report uses.
COLD_START: Dict[str, Callable[[Env], ChildResult]] = {
    "tc": start_testcontainers,
    "pp": start_pytest_postgresql,
    "tp": start_testing_postgresql,
}


# --- a database per test: pytest-postgresql's DatabaseJanitor -----------------------------


def run_janitor(env: Env, server: Any, cfg: Dict[str, Any]) -> Dict[str, Any]:
    """Run the janitor program against *server* (a ``minitestdb.Server``); its RESULT.

    ``cfg["mode"]`` is ``"template"`` (build the template from ``cfg["files"]``: gives
    ``build``) or ``"tests"`` (``cfg["tests"]`` databases from it, one after the other,
    each held ``cfg["body"]`` seconds: gives ``acquire`` and ``release`` lists).
    """
    cfg = dict(cfg, user=server.user, host=server.host, port=server.port, password=server.password)
    return run_child([env.venv_python, "-c", JANITOR, json.dumps(cfg)], env=env.peer_env(), cwd=env.tmp, timeout=900).result
