"""Import time and peak memory (section 4 of the report).

Import time, per library (minitestdb with this interpreter, the peers with the venv's):

- whole process: ``python -c IMPORT`` minus ``python -c pass``, run in pairs;
- in-process: ``perf_counter`` around the import inside the child;
- for minitestdb also with ``python -S`` (no ``.pth`` imports first), without cached
  bytecode, and on the venv's plain interpreter;
- ``import_profile``: which modules ``import minitestdb`` loads and what each costs
  (``python -S -X importtime``, median of 5).

Peak memory: each child's own high-water mark (``VmHWM`` in ``/proc/self/status``,
read at its end), for a minitestdb test process (attach to ``bench-warm``, build or
find the template, clone, query) and for bare interpreters.  The peers' peak memory
comes from their cold-start and janitor programs.
"""

from __future__ import annotations

import json
import statistics
from typing import Any, Dict, List, Tuple

from bench_common import WARM_NAME, run, run_child
from bench_env import Env

# (key, label in the report, the import measured)
IMPORTS = [
    ("mtdb", "minitestdb", "import minitestdb"),
    ("tc", "testcontainers (+ psycopg)", "from testcontainers.community.postgres import PostgresContainer; import psycopg"),
    ("pp", "pytest-postgresql (+ psycopg)", "from pytest_postgresql.executors import PostgreSQLExecutor; from pytest_postgresql.janitor import DatabaseJanitor; import psycopg"),
    ("tp", "testing.postgresql (+ pg8000)", "import testing.postgresql, pg8000"),
]

IN_PROCESS = 'import time; t = time.perf_counter(); {code}; print("RESULT {{\\"s\\": %r}}" % (time.perf_counter() - t))'

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
    """Peak RSS (kB) of a minitestdb test process on ``bench-warm`` and of bare interpreters."""
    out: Dict[str, List[int]] = {"mtdb_attach_clone": [], "pass_mtdb": [], "pass_venv": []}
    for _ in range(repeats):
        cfg = json.dumps({"name": WARM_NAME, "sql": sql_dir})
        out["mtdb_attach_clone"].append(run_child([env.python, "-c", MTDB_ATTACH_CLONE, cfg], env=env.mtdb_env(), cwd=env.tmp).result["rss_kb"])
        out["pass_mtdb"].append(run_child([env.python, "-c", RSS_ONLY], env=env.mtdb_env(), cwd=env.tmp).result["rss_kb"])
        out["pass_venv"].append(run_child([env.venv_python, "-c", RSS_ONLY], env=env.peer_env(), cwd=env.tmp).result["rss_kb"])
    return out
