"""Benchmark: a migrated database per test for the Alembic and Django examples, against what each tool does alone.

    python scripts/bench_migrators.py [--tests 20] [--rounds 5] [--out docs/benchmarks.md]

Run it from an environment with alembic, sqlalchemy, psycopg and django (the CI
tools venv has them), with a Docker engine and MINITESTDB_IMAGE set.  It uses
the shared server ``bench-migrators`` and removes it afterwards.

* Alembic (examples/alembic_project): per test, a clone of the template built by
  ``alembic upgrade head`` (with the pool, the default, and without it) against
  an empty database plus ``alembic upgrade head``, run in-process (no interpreter
  start-up: the fastest way to run it per test) and as the ``alembic`` command.
  Each simulated test lasts 30 ms (not counted), as in bench.py.  Methods
  interleave in every round; the figure is the median per test over all rounds.
* Django (examples/django_project): the wall time of ``manage.py test --parallel 2``,
  minitestdb's runner (its template already built: the second run and every
  later one) against Django's own runner on the same server, interleaved.

The table goes to stdout and replaces the "Migrators" section of *--out*.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
ALEMBIC_PROJECT = os.path.join(ROOT, "examples", "alembic_project")
DJANGO_PROJECT = os.path.join(ROOT, "examples", "django_project")
BEGIN, END = "<!-- migrators:begin -->", "<!-- migrators:end -->"

from bench_common import TEST_BODY_SECONDS, TIMES  # noqa: E402

import minitestdb  # noqa: E402 - after the checkout is on sys.path


def per_test_alembic(server: minitestdb.Server, tests: int, rounds: int) -> dict[str, list[float]]:
    from alembic import command
    from alembic.config import Config

    migrator = minitestdb.alembic(os.path.join(ALEMBIC_PROJECT, "alembic.ini"))
    sys.path.insert(0, ALEMBIC_PROJECT)
    pooled = server.template(migrate=migrator, pool=2)
    plain = server.template(migrate=migrator, pool=0)
    times: dict[str, list[float]] = {"clone, pool (default)": [], "clone, no pool": [], "alembic upgrade head, in-process": [], "`alembic upgrade head` command": []}

    def clone_pooled() -> None:
        db = pooled.clone("bench")
        db.drop(wait=False)

    def clone_plain() -> None:
        db = plain.clone("bench")
        db.drop()

    def upgrade() -> None:
        name = f"bench_upgrade_{os.getpid()}"
        with server.connect() as conn:
            conn.query(f'create database "{name}"')
        config = Config(os.path.join(ALEMBIC_PROJECT, "alembic.ini"))
        config.set_main_option("sqlalchemy.url", server.endpoint.replace(dbname=name).sqlalchemy_url("psycopg"))
        command.upgrade(config, "head")
        with server.connect() as conn:
            conn.query(f'drop database "{name}" with (force)')

    def upgrade_command() -> None:
        name = f"bench_command_{os.getpid()}"
        with server.connect() as conn:
            conn.query(f'create database "{name}"')
        # What a fixture that shells out does: the alembic CLI, with the URL in a copy of the ini.
        minitestdb.alembic(os.path.join(ALEMBIC_PROJECT, "alembic.ini"))._migrate_by_command(server.endpoint.replace(dbname=name))
        with server.connect() as conn:
            conn.query(f'drop database "{name}" with (force)')

    methods = {"clone, pool (default)": clone_pooled, "clone, no pool": clone_plain, "alembic upgrade head, in-process": upgrade, "`alembic upgrade head` command": upgrade_command}
    for method in methods.values():  # warm-up: imports, connections, the pool
        method()
    pooled.flush()
    for round_ in range(rounds):
        order = list(methods.items())
        order = order[round_ % len(order):] + order[: round_ % len(order)]
        for label, method in order:
            for _ in range(tests):
                began = time.perf_counter()
                method()
                times[label].append(time.perf_counter() - began)
                time.sleep(TEST_BODY_SECONDS)  # the test itself (not counted): the pool refills meanwhile
            pooled.flush()
    pooled.close()
    return times


def django_runs(server: minitestdb.Server, rounds: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), TEST_DATABASE_URL=server.url, DATABASE_URL=server.endpoint.replace(dbname="shop").url)
    commands = {
        # The same five tests for both (the tagged one checks minitestdb's database name).
        "minitestdb.django.TestRunner": [sys.executable, "manage.py", "test", "--parallel", "2", "--exclude-tag", "minitestdb"],
        "Django's DiscoverRunner": [sys.executable, "manage.py", "test", "--parallel", "2", "--exclude-tag", "minitestdb", "--noinput", "--testrunner", "django.test.runner.DiscoverRunner"],
    }
    times: dict[str, list[float]] = {label: [] for label in commands}
    subprocess.run(commands["minitestdb.django.TestRunner"], cwd=DJANGO_PROJECT, env=env, check=True, capture_output=True)  # the first run builds the template
    for _ in range(rounds):
        for label, argv in commands.items():
            began = time.perf_counter()
            subprocess.run(argv, cwd=DJANGO_PROJECT, env=env, check=True, capture_output=True)
            times[label].append(time.perf_counter() - began)
    return times


def table(title: str, unit: str, times: dict[str, list[float]], baseline: str, scale: float) -> list[str]:
    lines = [f"**{title}**", "", f"| method | median {unit} | min | max | {baseline} / method |", "| --- | ---: | ---: | ---: | ---: |"]
    base = statistics.median(times[baseline])
    for label, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {label} | {median * scale:.1f} | {min(values) * scale:.1f} | {max(values) * scale:.1f} | {base / median:.1f}{TIMES} |")
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=20, help="databases per method per round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, methods interleaved (default: %(default)s)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"), help="the page whose Migrators section is replaced")
    args = parser.parse_args()
    server = minitestdb.up("bench-migrators")
    try:
        alembic_times = per_test_alembic(server, args.tests, args.rounds)
        django_times = django_runs(server, args.rounds)
    finally:
        minitestdb.down("bench-migrators")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip() or "unknown"
    alembic_ratio = statistics.median(alembic_times["alembic upgrade head, in-process"]) / statistics.median(alembic_times["clone, no pool"])
    alembic_command_ratio = statistics.median(alembic_times["`alembic upgrade head` command"]) / statistics.median(alembic_times["clone, no pool"])
    django_ratio = statistics.median(django_times["Django's DiscoverRunner"]) / statistics.median(django_times["minitestdb.django.TestRunner"])
    lines = [
        BEGIN,
        "## Migrators",
        "",
        f"`python scripts/bench_migrators.py --tests {args.tests} --rounds {args.rounds}`, commit {commit}, image `{server.image}`, "
        f"{time.strftime('%Y-%m-%d')}, methods interleaved in one run on this 2-core machine.",
        "",
        *table(f"A database per test, examples/alembic_project ({args.tests} tests {TIMES} {args.rounds} rounds per method)", "ms", alembic_times, "alembic upgrade head, in-process", 1000),
        f"Without the pool a clone is {alembic_ratio:.1f}{TIMES} faster than running `alembic upgrade head` per test in-process through Alembic's command API, "
        f"and {alembic_command_ratio:.1f}{TIMES} faster than running the `alembic upgrade head` command per test (target: at least 20{TIMES}). "
        "The example has three small revisions; running them is what the clone saves, so the ratio grows with a project's migration history.",
        "",
        *table(f"`manage.py test --parallel 2`, examples/django_project, whole process ({args.rounds} runs each)", "s", django_times, "Django's DiscoverRunner", 1),
        f"The runner's second and later runs are {django_ratio:.1f}{TIMES} faster than Django's own runner (target: at least 2{TIMES}).",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    page = ""
    if os.path.exists(args.out):
        with open(args.out) as fh:
            page = fh.read()
    # Replace the section of an earlier run, else append one.
    replaced = BEGIN in page and END in page
    page = page[: page.index(BEGIN)] + section + page[page.index(END) + len(END):] if replaced else page.rstrip("\n") + "\n\n" + section + "\n"
    with open(args.out, "w") as fh:
        fh.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
