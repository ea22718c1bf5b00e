"""`python -m minitestdb run -- CMD`: variables, exit code, and cleanup even on Ctrl-C and SIGTERM; --keep; --private."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import unittest

import minitestdb
from minitestdb._docker import DockerCLI
from tests.integration.support import database_names, minitestdb_cli, root_env, sql_dir, start_module_server

SERVER: minitestdb.Server  # this module's private server, from setUpModule
CHILD = """
import json, os, sys, time
keys = ["TEST_DATABASE_URL", "DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE", "PGOPTIONS"]
print(json.dumps({k: os.environ.get(k) for k in keys}), flush=True)
if sys.argv[1] == "sleep":
    time.sleep(60)
sys.exit(int(sys.argv[1]) if sys.argv[1].isdigit() else 0)
"""


def setUpModule() -> None:
    global SERVER
    SERVER = start_module_server()


def tearDownModule() -> None:
    SERVER.close()


def databases() -> set[str]:
    """Every database but the templates (which are meant to stay, to be found by later runs)."""
    return database_names(SERVER, templates=False)


class RunTest(unittest.TestCase):
    def setUp(self) -> None:
        # TEST_DATABASE_URL points run at this module's private server.
        self.env = root_env(TEST_DATABASE_URL=SERVER.url)
        self.migrations = sql_dir(self, {"001.sql": "create table things (id int); insert into things values (1), (2), (3);\n"}, prefix="minitestdb-run-")

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return minitestdb_cli("run", *args, env=self.env)

    def test_variables_exit_code_and_cleanup(self) -> None:
        before = databases()
        proc = self.run_cli("--sql", self.migrations, "--", sys.executable, "-c", CHILD, "3")
        self.assertEqual(proc.returncode, 3, proc.stderr)
        seen = json.loads(proc.stdout.strip().splitlines()[0])
        self.assertEqual(seen["TEST_DATABASE_URL"], seen["DATABASE_URL"])
        self.assertEqual((seen["PGHOST"], seen["PGPORT"], seen["PGUSER"]), (SERVER.host, str(SERVER.port), SERVER.user))
        self.assertEqual(seen["PGPASSWORD"], SERVER.password)
        self.assertTrue(seen["PGDATABASE"].startswith("mtdb_"))
        self.assertTrue(seen["DATABASE_URL"].endswith("/" + seen["PGDATABASE"]))
        self.assertNotIn(SERVER.password, proc.stderr)
        self.assertEqual(databases() - before, set(), "the clone is dropped after the command")

    def test_the_database_is_migrated(self) -> None:
        proc = self.run_cli("--sql", self.migrations, "--", "psql", "-Atc", "select count(*) from things")
        self.assertEqual((proc.returncode, proc.stdout.strip()), (0, "3"), proc.stderr)

    def test_the_callers_libpq_variables_do_not_reach_the_command(self) -> None:
        # A PGSERVICE or PGOPTIONS of the caller's would point psql elsewhere, or change its session.
        self.env.update(PGSERVICE="no-such-service", PGOPTIONS="-c search_path=nowhere")
        proc = self.run_cli("--sql", self.migrations, "--", sys.executable, "-c", CHILD, "0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        seen = json.loads(proc.stdout.strip().splitlines()[0])
        self.assertEqual((seen["PGSERVICE"], seen["PGOPTIONS"]), (None, None))
        proc = self.run_cli("--sql", self.migrations, "--", "psql", "-Atc", "select count(*) from things")
        self.assertEqual((proc.returncode, proc.stdout.strip()), (0, "3"), proc.stderr)

    def test_keep(self) -> None:
        proc = self.run_cli("--keep", "--label", "later", "--", sys.executable, "-c", CHILD, "0")
        name = json.loads(proc.stdout.strip().splitlines()[0])["PGDATABASE"]
        self.assertTrue(name.startswith("mtdb_later_"), name)
        self.assertIn(name, databases())
        self.assertIn(f"drop it with `python -m minitestdb drop {name}` with the same TEST_DATABASE_URL", proc.stderr)
        self.assertNotIn(SERVER.password, proc.stderr)
        # the command it printed works
        self.assertEqual(minitestdb_cli("drop", name, env=self.env).returncode, 0)
        self.assertNotIn(name, databases())

    def test_ctrl_c_and_sigterm_still_clean_up(self) -> None:
        for sig, whole_group, code in ((signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)):
            with self.subTest(signal=sig.name):
                before = databases()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "minitestdb", "run", "--sql", self.migrations, "--", sys.executable, "-c", CHILD, "sleep"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env, start_new_session=True,
                )
                assert proc.stdout is not None
                name = json.loads(proc.stdout.readline())["PGDATABASE"]
                self.assertIn(name, databases())
                if whole_group:
                    os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C does
                else:
                    proc.send_signal(sig)
                proc.wait(timeout=30)
                proc.stdout.close()
                assert proc.stderr is not None
                proc.stderr.close()
                self.assertEqual(proc.returncode, code)
                self.assertEqual(databases() - before, set())

    def test_private_leaves_nothing_even_on_sigterm(self) -> None:
        docker = DockerCLI()
        for stop in (False, True):
            with self.subTest(sigterm=stop):
                # TEST_DATABASE_URL is set: --private uses a server of its own all the same.
                proc = subprocess.Popen(
                    [sys.executable, "-m", "minitestdb", "run", "--private", "--sql", self.migrations, "--", sys.executable, "-c", CHILD, "sleep" if stop else "5"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
                )
                assert proc.stdout is not None and proc.stderr is not None
                seen = json.loads(proc.stdout.readline())
                self.assertNotEqual(seen["PGPORT"], str(SERVER.port))
                self.assertEqual(len(docker.ps([f"minitestdb.owner-pid={proc.pid}"])), 1, "its own container, while the command runs")
                if stop:
                    proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
                proc.stdout.close()
                proc.stderr.close()
                self.assertEqual(proc.returncode, 143 if stop else 5)
                self.assertEqual(docker.ps([f"minitestdb.owner-pid={proc.pid}"]), [], "the private server is removed")

    def test_no_command_is_a_clear_error(self) -> None:
        proc = self.run_cli("--")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("needs a command", proc.stderr)


if __name__ == "__main__":
    unittest.main()
