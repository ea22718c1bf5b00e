"""Warm ``up``: ``python -m minitestdb up`` on a server that already runs, as a whole process.

Runs, interleaved round by round so that load from other processes hits each alike:
the interpreter alone (``python -c pass``), ``import minitestdb``,
``python -m minitestdb --version`` (the CLI's imports and parser) and the warm
``up``.  Prints medians, min/max and each median's ratio to the interpreter's.

The children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as an
installed package does; ``--no-bytecode`` keeps the variable.  ``--phases`` also runs a few warm ``up`` calls in one child that times every
``docker`` CLI process and the readiness probe, so the remaining time is visible.

    python3 scripts/bench_warm.py [--repeats 30] [--server bench-warm] [--phases]

The server is started first if it does not run, and removed at the end only if
this script started it.  A benchmark, never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One child that calls the CLI's `up` several times, timing each docker process and probe.
PHASES = """\
import json, sys, time
t0 = time.perf_counter()
from minitestdb import _cli, _docker, _readiness
t1 = time.perf_counter()
calls = []
real_run, real_probe = _docker.DockerCLI.run, _readiness.probe
def run(self, args, **kw):
    t = time.perf_counter()
    try:
        return real_run(self, args, **kw)
    finally:
        calls.append((" ".join(args[:2]), time.perf_counter() - t))
def probe(*a, **kw):
    t = time.perf_counter()
    try:
        return real_probe(*a, **kw)
    finally:
        calls.append(("readiness probe", time.perf_counter() - t))
_docker.DockerCLI.run, _readiness.probe = run, probe
rounds = []
for _ in range(int(sys.argv[2])):
    del calls[:]
    t = time.perf_counter()
    _cli.main(["up", "--server", sys.argv[1]])
    rounds.append({"total": time.perf_counter() - t, "calls": list(calls)})
print(json.dumps({"import_cli": t1 - t0, "rounds": rounds}))
"""


def _child_env(bytecode: bool) -> Dict[str, str]:
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its .pyc files: measure that
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else ROOT
    return env


def _timed(argv: List[str], env: Dict[str, str]) -> float:
    """Spawn to exit.  A blocking wait with a kill timer, not ``wait(timeout=...)``: that one
    polls with sleeps of up to 50 ms, which would round every figure up to the next poll."""
    began = time.perf_counter()
    # cwd: not the checkout, which `-m` would put first on sys.path whatever PYTHONPATH says.
    child = subprocess.Popen(argv, env=env, cwd=tempfile.gettempdir(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timer = threading.Timer(120, child.kill)
    timer.start()
    try:
        code = child.wait()
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"bench: {argv} exited {code}")
    return elapsed


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--server", default="bench-warm")
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE: every run compiles minitestdb's sources (about 100 ms more)")
    parser.add_argument("--compare", metavar="DIR", help="also time warm up with another checkout's minitestdb (e.g. a `git archive` of an older commit), in the same rounds")
    parser.add_argument("--phases", action="store_true", help="also time each docker process and the probe inside warm `up`")
    args = parser.parse_args()
    py = sys.executable
    env = _child_env(not args.no_bytecode)
    cli = [py, "-m", "minitestdb"]
    running = subprocess.run(
        ["docker", "container", "inspect", "--format", "{{.State.Running}}", f"minitestdb-{args.server}"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )
    started_here = running.stdout.strip() != "true"
    if started_here:
        subprocess.run([*cli, "up", "--server", args.server], env=env, stdout=subprocess.DEVNULL, check=True, timeout=300)
    try:
        cases = [
            ("interpreter alone (python -c pass)", [py, "-c", "pass"]),
            ("import minitestdb", [py, "-c", "import minitestdb"]),
            ("python -m minitestdb --version", [*cli, "--version"]),
            ("warm python -m minitestdb up", [*cli, "up", "--server", args.server]),
        ]
        envs = {label: env for label, _ in cases}
        if args.compare:
            label = f"warm up, {os.path.basename(os.path.abspath(args.compare))}"
            cases.append((label, [*cli, "up", "--server", args.server]))
            envs[label] = dict(env, PYTHONPATH=os.path.abspath(args.compare))
        for label, argv in cases:  # one discarded round: page cache, .pyc files
            _timed(argv, envs[label])
        times: Dict[str, List[float]] = {label: [] for label, _ in cases}
        for _ in range(args.repeats):
            for label, argv in cases:
                times[label].append(_timed(argv, envs[label]))
        base = statistics.median(times[cases[0][0]])
        print(f"{'case':<40} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'x interp':>9}   (n={args.repeats}, interleaved)")
        for label, _ in cases:
            values = times[label]
            median = statistics.median(values)
            print(f"{label:<40} {_ms(median):>10} {_ms(min(values)):>8} {_ms(max(values)):>8} {median / base:>8.2f}x")
        if args.phases:
            out = subprocess.run([py, "-c", PHASES, args.server, str(max(5, args.repeats // 2))], env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=True, timeout=300)
            data = json.loads(out.stdout.strip().splitlines()[-1])
            rounds = data["rounds"][1:]  # the first pays for the wire client's imports
            print(f"\nphases of a warm `up` inside one process (median of {len(rounds)}; importing the CLI: {_ms(data['import_cli'])} ms)")
            steps: Dict[str, List[float]] = {}
            counts: List[int] = []
            for item in rounds:
                counts.append(sum(1 for name, _ in item["calls"] if name != "readiness probe"))
                for name, seconds in item["calls"]:
                    steps.setdefault(name, []).append(seconds)
            for name, values in steps.items():
                print(f"  {name:<36} {_ms(statistics.median(values)):>8} ms  x{len(values) / len(rounds):g} per up")
            print(f"  {'whole up() call':<36} {_ms(statistics.median(r['total'] for r in rounds)):>8} ms  docker processes per up: {statistics.median(counts):g}")
    finally:
        if started_here:
            subprocess.run([*cli, "down", "--server", args.server], env=env, stdout=subprocess.DEVNULL, check=False, timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
