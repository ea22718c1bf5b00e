"""Benchmark templates and clones on one server, in one run, and print a table.

    MINITESTDB_IMAGE=minitestdb/postgres-test:15 python scripts/bench_clone.py [--clones 100]

Builds a 30-table template (an index and 100 rows per table) and reports the
median and p95 of: building the template, finding it from a second process,
clone() without the pool, clone() from the pool, drop, and the same clone made
by a new psql process each time.  Absolute times drift on shared machines; the
ratios measured in one run are what to compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_common import pct, write_schema  # shared with bench.py (scripts/ is on sys.path when run as a script)

import minitestdb


def row(label: str, seconds: list[float]) -> tuple[str, float, float, int]:
    return label, statistics.median(seconds) * 1000, pct(seconds, 0.95) * 1000, len(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clones", type=int, default=100, help="clones per measurement (default: %(default)s)")
    parser.add_argument("--builds", type=int, default=3, help="template builds (default: %(default)s)")
    args = parser.parse_args()

    url = os.environ.get("TEST_DATABASE_URL")
    server = minitestdb.Server.from_url(url) if url else minitestdb.start()
    tmp = tempfile.mkdtemp(prefix="minitestdb-bench-")
    pycache = tempfile.mkdtemp(prefix="minitestdb-bench-pycache-")
    results = []
    try:
        with server.connect() as conn:
            version = conn.query("show server_version").rows[0][0]
        builds = []
        template = None
        for _ in range(args.builds):
            shutil.rmtree(tmp)
            os.makedirs(tmp)
            write_schema(tmp)
            began = time.perf_counter()
            template = server.template(sql=tmp, name="bench", pool=0)
            builds.append(time.perf_counter() - began)
            assert template.built
        assert template is not None
        results.append(row("template build (30 tables)", builds))

        # A second process finds the template: time the call inside that process. It
        # includes loading the template modules (import minitestdb leaves them for first
        # use); their bytecode is cached as for an installed package, even where
        # PYTHONDONTWRITEBYTECODE is set.
        finder = textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r})
            import minitestdb
            server = minitestdb.Server.from_url(sys.argv[1], check=False)
            began = time.perf_counter()
            tpl = server.template(sql={tmp!r}, name="bench", pool=0)
            assert not tpl.built
            print(time.perf_counter() - began)
        """)
        finder_env = dict(os.environ, PYTHONPYCACHEPREFIX=pycache)
        finder_env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-c", finder, server.url], env=finder_env, capture_output=True, check=True, timeout=60)  # writes the bytecode
        found = []
        for _ in range(5):
            out = subprocess.run([sys.executable, "-c", finder, server.url], env=finder_env, capture_output=True, text=True, check=True, timeout=60)
            found.append(float(out.stdout.strip()))
        results.append(row("template found by another process", found))

        clone_times, drop_times = [], []
        for i in range(args.clones):
            began = time.perf_counter()
            db = template.clone(f"bench {i}")
            clone_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            db.drop()
            drop_times.append(time.perf_counter() - began)
        results.append(row("clone() without pool", clone_times))
        results.append(row("drop()", drop_times))

        pooled = server.template(sql=tmp, name="bench", pool=4)
        pool_times = []
        for _ in range(args.clones):
            # A test takes a while; give the pool the time a short test would.
            time.sleep(0.03)
            began = time.perf_counter()
            db = pooled.clone()
            pool_times.append(time.perf_counter() - began)
            db.drop()
        pooled.close()
        results.append(row("clone() from the pool", pool_times))

        psql = shutil.which("psql")
        if psql:
            env = dict(os.environ, PGPASSWORD=server.password)
            psql_times = []
            for i in range(min(args.clones, 50)):
                name = f"mtdb_bench_psql_{i}"
                began = time.perf_counter()
                subprocess.run(
                    [psql, "-X", "-q", "-h", server.host, "-p", str(server.port), "-U", server.user, "-d", server.dbname,
                     "-c", f'create database "{name}" template "{template.name}" strategy file_copy'],
                    env=env, check=True, timeout=60,
                )
                psql_times.append(time.perf_counter() - began)
                with server.connect() as conn:
                    conn.query(f'drop database "{name}"')
            results.append(row("same clone via a psql process", psql_times))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pycache, ignore_errors=True)
        server.close()

    base = results[2][1]
    print(f"PostgreSQL {version}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.clones} clones per row\n")
    print("| measurement | median ms | p95 ms | n | median vs clone() |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, median, p95, n in results:
        print(f"| {label} | {median:.2f} | {p95:.2f} | {n} | {median / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
