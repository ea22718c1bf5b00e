"""The schema mode per test, before and after the captured-schema replay, next to a clone, in one run.

    python3 scripts/bench_schema.py [--tests 20] [--rounds 3] [--image minitestdb/postgres-test:15]

Starts a private server, builds the 30-table template of ``bench_common.write_schema``
once, then runs rounds of N tests with each method, the order rotating each round:

- ``schema_migrate``: ``Template.schema()`` re-running the migrations into each schema
  (the path before the replay, and the fallback without pg_dump);
- ``schema_replay``: ``Template.schema()`` replaying what pg_dump captured from the
  first schema (that first, capturing schema is timed apart);
- ``schema_pooled``: the same with the pool (``pool=2``, the default): replays made ahead
  by the template's schema worker while the previous test ran, handed over on ``schema()``;
- ``clone``: ``Template.clone()`` without pool.

Each test: set-up timed, a ``TEST_BODY_SECONDS`` body (not counted), then
``drop(wait=False)`` timed, as the test helpers do.  Prints medians and p95 of the
set-up and of set-up + teardown per method.  A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_common import TEST_BODY_SECONDS, pct, say, write_schema

import minitestdb

METHODS = ["schema_migrate", "schema_replay", "schema_pooled", "clone"]


def run_tests(template: minitestdb.Template, method: str, tests: int) -> Tuple[List[float], List[float]]:
    acquire: List[float] = []
    cycle: List[float] = []
    for i in range(tests):
        t0 = time.perf_counter()
        db = template.clone(f"bench {i}") if method == "clone" else template.schema(f"bench {i}")
        t1 = time.perf_counter()
        time.sleep(TEST_BODY_SECONDS)
        t2 = time.perf_counter()
        db.drop(wait=False)
        t3 = time.perf_counter()
        acquire.append(t1 - t0)
        cycle.append((t1 - t0) + (t3 - t2))
    template.flush()
    return acquire, cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=20, help="tests per method and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image", default="minitestdb/postgres-test:15", help="the server's image (the host's pg_dump serves 15; a newer server is dumped in its container)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-schema-") as tmp, minitestdb.start(image=args.image) as server:
        write_schema(tmp)
        began = time.perf_counter()
        migrating = server.template(sql=tmp, name="bench", pool=0)
        say(f"template built in {time.perf_counter() - began:.2f} s")
        migrating._schema_script = False  # the path before the replay: the migrations into every schema
        replaying = server.template(sql=tmp, name="bench", pool=0)  # the same template, found: its own capture
        began = time.perf_counter()
        replaying.schema("capture").drop()
        capture = time.perf_counter() - began
        if not isinstance(replaying._schema_script, minitestdb._migrations.SchemaScript):
            raise SystemExit("bench: the schema was not captured (no pg_dump?)")
        pooled = server.template(sql=tmp, name="bench")  # the default pool (2): replays made ahead
        pooled.schema("capture").drop()
        templates = {"schema_migrate": migrating, "schema_replay": replaying, "schema_pooled": pooled, "clone": replaying}
        results: Dict[str, Tuple[List[float], List[float]]] = {m: ([], []) for m in METHODS}
        for r in range(args.rounds):
            for method in METHODS[r % len(METHODS):] + METHODS[: r % len(METHODS)]:
                acquire, cycle = run_tests(templates[method], method, args.tests)
                results[method][0].extend(acquire)
                results[method][1].extend(cycle)
                say(f"round {r + 1}/{args.rounds} {method}: median {statistics.median(cycle) * 1000:.1f} ms per test")
        version = server.connect().query("show server_version").rows[0][0]
    print(f"\nschema mode per test, 30 tables x 100 rows, PostgreSQL {version}, {args.tests * args.rounds} tests per method, one run")
    print(f"first schema of the process (migrations + pg_dump capture): {capture * 1000:.0f} ms\n")
    print(f"| {'method':<16} | {'set-up p50':>10} | {'set-up p95':>10} | {'per test p50':>12} | {'per test p95':>12} |")
    print(f"|{'-' * 18}|{'-' * 12}:|{'-' * 12}:|{'-' * 14}:|{'-' * 14}:|")
    for method in METHODS:
        acquire, cycle = results[method]
        print(
            f"| {method:<16} | {statistics.median(acquire) * 1000:>7.1f} ms | {pct(acquire, 0.95) * 1000:>7.1f} ms "
            f"| {statistics.median(cycle) * 1000:>9.1f} ms | {pct(cycle, 0.95) * 1000:>9.1f} ms |"
        )


if __name__ == "__main__":
    main()
