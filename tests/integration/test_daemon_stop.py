"""The Docker engine stops while a server is starting: one clear line, and nothing left once it is back.

This test stops and restarts dockerd, so it runs only where that is ours to do:
MINITESTDB_TEST_RESTART_DOCKERD=1 (CI sets it on its own machine).  It stops
every container of the engine, so it lives in a module of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import unittest

from minitestdb._docker import DockerCLI
from minitestdb._errors import MiniTestDBError
from tests.integration.support import ROOT, require_docker, root_env

OWNER = """
import json, minitestdb
try:
    minitestdb.start(timeout=60)
    print(json.dumps({"error": None}))
except minitestdb.MiniTestDBError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def setUpModule() -> None:
    require_docker()
    if os.environ.get("MINITESTDB_TEST_RESTART_DOCKERD") != "1":
        raise unittest.SkipTest("stops and restarts dockerd: set MINITESTDB_TEST_RESTART_DOCKERD=1 where that is yours to do")


def engine_answers() -> bool:
    try:
        DockerCLI().version()
        return True
    except MiniTestDBError:
        return False


class DaemonStopTest(unittest.TestCase):
    def test_engine_stops_mid_start(self) -> None:
        owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=root_env())
        cli = DockerCLI()
        deadline = time.monotonic() + 60
        created: list[str] = []
        while not created and time.monotonic() < deadline:
            created = cli.ps(["minitestdb=1", f"minitestdb.owner-pid={owner.pid}"])
            time.sleep(0.05)
        self.assertTrue(created, "the owner never created its container")
        try:
            pids = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=True).stdout.split()
            for pid in pids:
                os.kill(int(pid), signal.SIGTERM)
            out, err = owner.communicate(timeout=120)
            result = json.loads(out.strip().splitlines()[-1])
            self.assertEqual(result["error"], "DockerDaemonError", err)
            self.assertNotIn("\n", result["message"])
            self.assertIn("cannot reach a Docker engine", result["message"])
        finally:
            while subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, check=False).returncode == 0:
                time.sleep(0.2)
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "docker-engine.sh")], check=True, capture_output=True, timeout=180)
        self.assertTrue(engine_answers())
        # The owner's watchdog waited for the engine and removes the container now.
        deadline = time.monotonic() + 30
        while cli.inspect(created[0]) is not None and time.monotonic() < deadline:
            time.sleep(0.25)
        self.assertIsNone(cli.inspect(created[0]), "the container was left behind")


if __name__ == "__main__":
    unittest.main()
