"""The remote-engine lane's own proof, from the host: servers on a remote Docker engine are reached at its address.

Lane-only: not named ``test_*.py``, so ``tests/run.py`` never discovers it; the
lane (``.ci/run``) starts the second engine with ``scripts/remote-engine.sh up``,
sets ``DOCKER_HOST`` to what that printed and ``MINITESTDB_TEST_REMOTE_ENGINE=1``,
and runs ``python -m tests.integration.remote_engine`` (last line: "N passed, N
failed").  Without that variable every test skips, saying how to run it.

What it proves: ``python -m minitestdb up`` prints a URL whose host is the
engine's (DOCKER_HOST's host), never 127.0.0.1; a query over that URL works;
``template`` and ``clone`` work; ``down`` removes the container; the port is
published on a non-loopback address on the remote engine only (the main engine's
minitestdb containers stay on loopback); ``doctor`` says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unittest
from urllib.parse import urlsplit

from minitestdb._endpoint import Endpoint
from tests.integration.support import minitestdb_cli, require_docker, root_env, sql_dir

SERVER = "remote-proof"
CONTAINER = "minitestdb-" + SERVER
ENABLED = os.environ.get("MINITESTDB_TEST_REMOTE_ENGINE") == "1"
DOCKER_HOST = os.environ.get("DOCKER_HOST", "")
ENGINE_HOST = urlsplit(DOCKER_HOST).hostname or ""


def setUpModule() -> None:
    if not ENABLED:
        raise unittest.SkipTest("the remote-engine lane's module: run `bash scripts/remote-engine.sh up`, then with DOCKER_HOST set to what it prints and MINITESTDB_TEST_REMOTE_ENGINE=1")
    if not DOCKER_HOST.startswith("tcp://") or ENGINE_HOST in ("", "127.0.0.1", "localhost", "::1"):
        raise AssertionError(f"MINITESTDB_TEST_REMOTE_ENGINE=1 needs DOCKER_HOST=tcp://ADDRESS:PORT of a remote engine, not {DOCKER_HOST!r}")
    require_docker()


def docker(*args: str, main_engine: bool = False) -> subprocess.CompletedProcess[str]:
    """The docker CLI on the remote engine (DOCKER_HOST), or with *main_engine* on this machine's own."""
    env = dict(os.environ)
    if main_engine:
        env.pop("DOCKER_HOST", None)
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    from minitestdb._pgconn import connect

    with connect(Endpoint.from_url(url), timeout=10) as conn:
        return [tuple(row) for row in conn.query(sql).rows]


class RemoteEngineTest(unittest.TestCase):
    def setUp(self) -> None:
        self.addCleanup(minitestdb_cli, "down", "--server", SERVER)

    def test_up_query_template_clone_down_from_the_host(self) -> None:
        began = time.monotonic()
        up = minitestdb_cli("up", "--server", SERVER, check=True)
        url = up.stdout.strip().splitlines()[-1]
        parts = urlsplit(url)
        self.assertEqual(parts.hostname, ENGINE_HOST, url.replace(parts.password or "", "***"))
        self.assertNotIn("127.0.0.1", url)
        print(f"\nremote engine: up in {time.monotonic() - began:.1f} s, {parts.hostname}:{parts.port}", file=sys.stderr)

        # A query over the URL as printed: no tunnel, no loopback.
        self.assertEqual(query(url, "select 41 + 1"), [("42",)])  # the wire client returns text
        self.assertEqual(len(parts.password or ""), 48)  # the random per-server password, published or not

        # Reuse: a second `up` finds the same server at the same address.
        self.assertEqual(minitestdb_cli("up", "--server", SERVER, check=True).stdout.strip().splitlines()[-1], url)

        migrations = sql_dir(self, {"001.sql": "create table item (id int primary key, name text); insert into item values (1, 'one');"})
        template = minitestdb_cli("template", "--server", SERVER, "--sql", migrations, check=True).stdout.strip().splitlines()[-1]
        self.assertTrue(template.startswith("mtdb_tpl_"), template)  # built over the URL's host (psql and the wire client)
        clone = minitestdb_cli("clone", "--server", SERVER, "--sql", migrations, "--label", "remote", check=True).stdout.strip().splitlines()[-1]
        self.assertEqual(urlsplit(clone).hostname, ENGINE_HOST)
        self.assertEqual(query(clone, "select name from item"), [("one",)])
        query(clone, "insert into item values (2, 'two')")
        other = minitestdb_cli("clone", "--server", SERVER, "--sql", migrations, check=True).stdout.strip().splitlines()[-1]
        self.assertEqual(query(other, "select count(*) from item"), [("1",)])  # clones are isolated
        minitestdb_cli("drop", clone, check=True)

        # Published on a non-loopback address, on the remote engine only.
        port = docker("port", CONTAINER, "5432/tcp")
        self.assertEqual(port.returncode, 0, port.stderr)
        bindings = port.stdout.split()
        self.assertTrue(bindings and all(not b.startswith(("127.", "[::1]")) for b in bindings), bindings)
        self.assertIn(f"0.0.0.0:{parts.port}", bindings)
        self.assertNotEqual(docker("container", "inspect", CONTAINER, main_engine=True).returncode, 0, "the main engine must not hold the remote engine's server")

        down = minitestdb_cli("down", "--server", SERVER, check=True)
        self.assertIn(CONTAINER, down.stderr + down.stdout)
        self.assertNotEqual(docker("container", "inspect", CONTAINER).returncode, 0, "down must remove the container")
        with self.assertRaises(OSError):
            query(url, "select 1")

    def test_the_main_engine_keeps_publishing_on_loopback_only(self) -> None:
        ids = docker("ps", "--all", "--quiet", "--filter", "label=minitestdb=1", main_engine=True).stdout.split()
        if not ids:
            self.skipTest("the main engine holds no minitestdb container to look at")
        data = json.loads(docker("container", "inspect", *ids, main_engine=True).stdout or "[]")
        for item in data:
            for binding in ((item.get("HostConfig") or {}).get("PortBindings") or {}).get("5432/tcp") or []:
                self.assertIn(binding.get("HostIp"), ("127.0.0.1", "::1"), item.get("Name"))

    def test_doctor_says_remote_and_where_servers_are_reached(self) -> None:
        out = minitestdb_cli("doctor", env=root_env()).stdout
        line = next(line for line in out.splitlines() if "engine kind:" in line)
        self.assertTrue(line.startswith(f"ok       engine kind: remote (DOCKER_HOST={DOCKER_HOST})"), line)
        self.assertIn(f"reached at {ENGINE_HOST}", line)


class _Counting(unittest.TextTestResult):
    passed = 0

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.passed += 1


def main() -> int:
    """Run this module as the lane does; the last line is "N passed, N failed" (plus ", N skipped")."""
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    suite = unittest.defaultTestLoader.loadTestsFromName("tests.integration.remote_engine")
    began = time.monotonic()
    verbosity = 2 if os.environ.get("MINITESTDB_TEST_VERBOSE") else 1
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=verbosity, resultclass=_Counting).run(suite)
    assert isinstance(result, _Counting)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    print(f"python {sys.version.split()[0]}, remote engine ({DOCKER_HOST or 'DOCKER_HOST unset'}), {time.monotonic() - began:.1f} s", file=sys.stderr)
    print(f"{result.passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""), flush=True)
    return 0 if failed == 0 and result.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
