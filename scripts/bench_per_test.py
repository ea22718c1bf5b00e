"""A migrated database per test (section 3 of the report): set-up and teardown, per method.

Batches of N tests (``--tests``, default 100) run one after the other against the
shared ``bench-warm`` server, each test getting its own database migrated with the
30-file schema of ``bench_common.write_schema``.  Each test body sleeps
``TEST_BODY_SECONDS`` (not counted): the time a short test gives a pool to refill.
The methods:

- ``clone``: minitestdb ``Template.clone()`` without pool, teardown ``drop(wait=False)``
  (the template's worker drops it during the next test, as the test helpers do);
- ``clone_wait``: the same, the teardown waiting for ``drop()``;
- ``pool``: ``clone()`` from the pool (``pool=2``, the default); hits are counted;
- ``schema``: ``Template.schema()``, a schema per test in one database (the first one migrated
  and captured with pg_dump, the next ones replayed from that; ``bench_schema.py`` sets the
  path that migrates every schema beside it), without the pool;
- ``schema_pool``: the same with the pool (the default): replays made ahead in the background;
- ``janitor``: pytest-postgresql's ``DatabaseJanitor`` from its template database (in
  the peers' venv, see ``bench_peers``);
- ``migrate``: ``CREATE DATABASE`` then one ``psql -f`` process with the 30 files.

Each batch times, per test, the set-up (``acquire``) and the teardown (``release``).
The order of the methods rotates from batch to batch.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from typing import Any, Dict, List

from bench_common import TEST_BODY_SECONDS, TIMES, fmt_s, say
from bench_env import Env
from bench_peers import run_janitor

# (key, label in the report's tables)
PER_TEST = [
    ("clone", "minitestdb `clone()`, no pool (teardown: `drop(wait=False)`, as the test helpers do)"),
    ("clone_wait", "minitestdb `clone()`, no pool, teardown waits for `drop()`"),
    ("pool", "minitestdb `clone()` from the pool (pool=2)"),
    ("schema", "minitestdb `schema()`, no pool"),
    ("schema_pool", "minitestdb `schema()` from the pool (pool=2, the default)"),
    ("janitor", "pytest-postgresql `DatabaseJanitor` (template_dbname)"),
    ("migrate", f"re-run the migrations: `CREATE DATABASE` + `psql -f` {TIMES}30"),
]


class Batch:
    """The set-up and teardown times of one batch of tests with one method."""

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
        """Build minitestdb's template and the janitor's (each once, timed for context)."""
        began = time.perf_counter()
        self.template = self.server.template(sql=self.sql_dir, name="bench", pool=0)
        self.build_seconds = time.perf_counter() - began
        assert self.template.built, "the template should be new in this run"
        out = run_janitor(self.env, self.server, {"mode": "template", "template": self.janitor_template, "files": self.files})
        self.janitor_build = out["build"]

    def run(self, method: str, batch: int) -> Batch:
        body = TEST_BODY_SECONDS
        acquire: List[float] = []
        release: List[float] = []
        if method == "janitor":
            cfg = {"mode": "tests", "template": self.janitor_template, "tests": self.tests, "body": body, "prefix": f"bench_janitor_{self.env.token}_{batch}"}
            out = run_janitor(self.env, self.server, cfg)
            return Batch(out["acquire"], out["release"], rss_kb=out["rss_kb"])
        if method == "migrate":
            return self._migrate(batch)
        hits = 0
        pooled = method in ("pool", "schema_pool")
        template = self.server.template(sql=self.sql_dir, name="bench") if pooled else self.template
        template.flush()
        try:
            for i in range(self.tests):
                t0 = time.perf_counter()
                db = template.schema(f"bench {i}") if method.startswith("schema") else template.clone(f"bench {i}")
                t1 = time.perf_counter()
                if db.name.startswith(("mtdb_pool_", "test_pool_")):
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
            if pooled:
                template.close()
        return Batch(acquire, release, hits=hits if pooled else None)

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
