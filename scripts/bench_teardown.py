"""Teardown of a private server, and the cold path's container launch: before and after, in one run.

Teardown: ``Server.close()`` of a ready private server (now one ``docker rm
--force``) against what it did before (``docker stop --time 5`` with the
container's stop signal SIGINT, then ``docker rm --force``), on

- (a) ``minitestdb/postgres-test:15``, whose entrypoint execs PostgreSQL (PID 1
  gets SIGINT, a fast shutdown);
- (b) an image built here from (a) whose PID 1 is a ``sh -c`` that runs the
  entrypoint as a child and passes no signal on (as an ``su``-based entrypoint
  does): ``docker stop`` waits its whole grace there, then kills.  The image is
  removed at the end.

Launch: ``docker create`` + ``docker start`` against one ``docker run --detach``
with the same argv (the password in the CLI's environment), on (a); the
containers are removed untimed.

Each round runs every variant once, the order rotated each round so that drift
hits them alike; one discarded warm-up round first.  A benchmark, not a test:
nothing here passes or fails.  Standard library only; run from the checkout:
``python3 scripts/bench_teardown.py [--runs 10] [--only teardown|launch]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minitestdb
from minitestdb import _server
from minitestdb._container import ContainerSpec, build_spec, create_argv
from minitestdb._docker import DockerCLI
from minitestdb._image import ensure_image
from minitestdb._watchdog import ensure_watchdog

BASE_IMAGE = "minitestdb/postgres-test:15"
NOFWD_IMAGE = "minitestdb-bench/nofwd:15"
# PID 1 is this sh: it runs the entrypoint as a child (the `; :` keeps sh from exec'ing it) and,
# as PID 1 without handlers, ignores SIGINT and SIGTERM, passing nothing on.
NOFWD_DOCKERFILE = f"""FROM {BASE_IMAGE}
ENTRYPOINT ["/bin/sh", "-c", "docker-entrypoint.sh \\"$@\\"; :", "sh"]
CMD ["postgres"]
"""


def say(message: str) -> None:
    print(f"bench_teardown: {message}", file=sys.stderr, flush=True)


def docker(*args: str, timeout: float = 120.0) -> str:
    result = subprocess.run([DockerCLI().binary, *args], check=True, capture_output=True, text=True, timeout=timeout)
    return str(result.stdout)


def build_nofwd_image() -> None:
    with tempfile.TemporaryDirectory(prefix="minitestdb-bench-nofwd-") as context:
        with open(os.path.join(context, "Dockerfile"), "w") as fh:
            fh.write(NOFWD_DOCKERFILE)
        docker("build", "--quiet", "--tag", NOFWD_IMAGE, context, timeout=300)


# --- teardown variants: each starts a ready server (untimed) and returns the seconds its removal took ---


# Teardown starts its servers with the image's own entrypoint (snapshot=False): a server started
# from a start-up snapshot runs minitestdb's start script, which execs PostgreSQL as PID 1 on any
# image, so (b)'s PID 1 that passes no signal on would not be measured.


def close_now(image: str) -> float:
    server = minitestdb.start(image=image, snapshot=False)
    began = time.perf_counter()
    server.close()
    return time.perf_counter() - began


def close_before(image: str) -> float:
    """What close() did before: a graceful stop (grace 5 s), then rm --force."""
    server = minitestdb.start(image=image, snapshot=False)
    cli = DockerCLI()
    began = time.perf_counter()
    cli.stop(server.container_id, grace=_server.STOP_GRACE_SECONDS)
    cli.rm(server.container_id)
    took = time.perf_counter() - began
    server.owned = False  # removed already: close() only lets go
    server.close()
    return took


# --- launch variants: each launches a container and returns the seconds to a started container ---


def _spec(image: str) -> ContainerSpec:
    cli = DockerCLI()
    name = f"minitestdb-bench-launch-{os.getpid()}-{os.urandom(4).hex()}"
    return build_spec(
        image=image, image_info=ensure_image(cli, image, pull=False), name=name,
        labels=_server._labels(name=name, shared=False, user="postgres", dbname="postgres"), user="postgres", dbname="postgres", port=None,
        fast=True, tmpfs=None, initdb_args=None, settings=None, env=None, extra_args=(), engine=_server.engine(cli),
    )


def _launch(argvs: Callable[[ContainerSpec], List[List[str]]], image: str) -> float:
    cli = DockerCLI()
    spec = _spec(image)
    password = {"POSTGRES_PASSWORD": os.urandom(24).hex()}
    began = time.perf_counter()
    try:
        for argv in argvs(spec):
            cli.run(argv, timeout=60, env=password)
        return time.perf_counter() - began
    finally:
        cli.run(["rm", "--force", "--volumes", spec.name], timeout=60)


def create_start(image: str) -> float:
    return _launch(lambda spec: [create_argv(spec), ["start", spec.name]], image)


def run_detached(image: str) -> float:
    return _launch(lambda spec: [_server._run_argv(spec)], image)


def measure(runs: int) -> Dict[str, List[float]]:
    """Teardown only (for ``bench.py``): close() now and before, on (a) and (b), *runs* interleaved rounds after a discarded one."""
    ensure_watchdog(DockerCLI().binary)
    build_nofwd_image()
    variants: Dict[str, Callable[[], float]] = {
        "a_now": lambda: close_now(BASE_IMAGE), "a_before": lambda: close_before(BASE_IMAGE),
        "b_now": lambda: close_now(NOFWD_IMAGE), "b_before": lambda: close_before(NOFWD_IMAGE),
    }
    results: Dict[str, List[float]] = {key: [] for key in variants}
    keys = list(variants)
    try:
        for round_no in range(runs + 1):
            for key in keys[round_no % len(keys):] + keys[: round_no % len(keys)]:
                took = variants[key]()
                if round_no:
                    results[key].append(took)
    finally:
        subprocess.run([DockerCLI().binary, "rmi", "--force", NOFWD_IMAGE], capture_output=True, timeout=120, check=False)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="measured rounds (default 10)")
    parser.add_argument("--only", choices=("teardown", "launch"), help="measure one of the two (default both)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    ensure_watchdog(DockerCLI().binary)  # the launch variants' containers too, should this process be killed
    variants: Dict[str, Callable[[], float]] = {}
    if args.only != "launch":
        say(f"building {NOFWD_IMAGE} from {BASE_IMAGE}")
        build_nofwd_image()
        variants["(a) close() now: rm --force"] = lambda: close_now(BASE_IMAGE)
        variants["(a) before: stop --time 5 + rm"] = lambda: close_before(BASE_IMAGE)
        variants["(b) close() now: rm --force"] = lambda: close_now(NOFWD_IMAGE)
        variants["(b) before: stop --time 5 + rm"] = lambda: close_before(NOFWD_IMAGE)
    if args.only != "teardown":
        variants["(a) launch before: create + start"] = lambda: create_start(BASE_IMAGE)
        variants["(a) launch now: run --detach"] = lambda: run_detached(BASE_IMAGE)
    results: Dict[str, List[float]] = {key: [] for key in variants}
    keys = list(variants)
    try:
        for round_no in range(args.runs + 1):
            order = keys[round_no % len(keys):] + keys[: round_no % len(keys)]
            say(f"round {round_no}/{args.runs}" + (" (warm-up, discarded)" if round_no == 0 else ""))
            for key in order:
                took = variants[key]()
                if round_no:
                    results[key].append(took)
    finally:
        if args.only != "launch":
            say(f"removing {NOFWD_IMAGE}")
            subprocess.run([DockerCLI().binary, "rmi", "--force", NOFWD_IMAGE], capture_output=True, timeout=120, check=False)
    width = max(len(key) for key in keys)
    print(f"{'variant':<{width}}  {'median':>8}  {'min':>8}  {'max':>8}  (N={args.runs}, seconds)")
    for key in keys:
        values = results[key]
        print(f"{key:<{width}}  {statistics.median(values):8.3f}  {min(values):8.3f}  {max(values):8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
