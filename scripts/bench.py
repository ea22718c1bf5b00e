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
4. the import time of ``minitestdb`` and the peak memory of test processes;
5. teardown of a private server (``close()``), on the test image and on an image
   whose PID 1 passes no signal on, against the graceful stop it replaced;
6. the clone pool under pytest-xdist: each test's wait for its database in a
   200-test suite of 10 ms tests at ``-n 0``, ``-n 2`` and ``-n 4``.

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

# The work is split by concern into sibling modules (scripts/ is sys.path[0] when run as a script):
#   bench_common.py      statistics, formatting, timed child processes, the 30-table schema writer
#   bench_env.py         interpreters, the peers' venv, the bench user, clean-up, machine facts
#   bench_peers.py       testcontainers, pytest-postgresql and testing.postgresql, as their users drive them
#   bench_cold_start.py  1. cold start and 2. warm attach
#   bench_per_test.py    3. a migrated database per test
#   bench_footprint.py   4. import time and peak memory
#   bench_teardown.py    5. teardown (also runnable alone)
#   bench_pool_xdist.py  6. the pool under pytest-xdist (also runnable alone)
#   bench_report.py      docs/benchmarks.md and docs/benchmarks.svg from the results
# This file parses the command line and runs the sections in order.

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import shutil
import statistics
import sys
import time
from typing import List

import bench_pool_xdist
import bench_teardown
from bench_cold_start import CONTRACT_TOOLS, bench_cold, bench_warm
from bench_common import COLD_NAME, PG_BIN, ROOT, WARM_NAME, fmt_s, run, run_child, say, write_schema
from bench_env import DEFAULT_VENV, Env, machine_facts, runuser_overhead
from bench_footprint import bench_import, bench_memory
from bench_per_test import PerTest, bench_per_test
from bench_report import write_report

DEFAULT_IMAGE = "minitestdb/postgres-test:15"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (cold 3, warm 5, 1 batch, imports 7): about 2 minutes instead of 5")
    parser.add_argument("--cold", type=int, help="cold-start runs per tool (default 5, quick 3)")
    parser.add_argument("--warm", type=int, help="warm `up` runs (default 10, quick 5)")
    parser.add_argument("--batches", type=int, help="per-test batches per method (default 3, quick 1)")
    parser.add_argument("--tests", type=int, default=100, help="tests per batch (default: %(default)s)")
    parser.add_argument("--imports", type=int, help="import-time runs (default 15, quick 7)")
    parser.add_argument("--image", default=os.environ.get("MINITESTDB_IMAGE") or DEFAULT_IMAGE, help="image for every container (default: $MINITESTDB_IMAGE, else %(default)s)")
    parser.add_argument(
        "--contract-image", default="minitestdb-bench/official-entrypoint:15",
        help="the second image for cold starts, built from scripts/official-entrypoint-image when missing (default: %(default)s)",
    )
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
        say(f"cold start on {args.contract_image} ({args.cold} runs per tool, interleaved)")
        if run(["docker", "image", "inspect", args.contract_image], check=False).returncode != 0:
            run(["docker", "build", "--quiet", "--tag", args.contract_image, os.path.join(ROOT, "scripts", "official-entrypoint-image")])
        env.image = args.contract_image
        try:
            contract = bench_cold(env, args.cold, CONTRACT_TOOLS)
        finally:
            env.image = args.image

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
        say(f"teardown ({args.cold} runs per variant, interleaved)")
        teardown = bench_teardown.measure(args.cold)
        say("the pool under pytest-xdist")
        pool_xdist = bench_pool_xdist.measure(env.venv_python)
        facts = machine_facts(env, server)
        facts["load_start"] = load_start
        runuser_s = runuser_overhead(env)  # measured before clean-up removes the bench user
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
        args=args, image=env.image, venv=env.venv, bench_user=env.user, runuser_s=runuser_s, facts=facts, cold=cold, contract=contract, contract_image=args.contract_image, warm=warm,
        per_test=per_test, builds=(pt.build_seconds, pt.janitor_build), imports=imports, memory=memory, teardown=teardown, pool_xdist=pool_xdist,
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
