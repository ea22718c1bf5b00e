"""The command line as a user runs it: `python -m minitestdb up/url/status/logs/psql/down/doctor`."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import unittest

import minitestdb
from minitestdb._docker import DockerCLI
from tests.integration.support import minitestdb_cli, require_docker, root_env, sql_dir

NAME = f"it-cli-{os.getpid()}"


def setUpModule() -> None:
    require_docker()


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m minitestdb ARGS`; here a non-zero exit fails the test unless check=False."""
    return minitestdb_cli(*args, check=check)


class UpDownTest(unittest.TestCase):
    def tearDown(self) -> None:
        cli("down", "--name", NAME, check=False)

    def test_up_reuse_psql_status_down(self) -> None:
        first = cli("up", "--name", NAME)
        url = first.stdout.strip()
        self.assertEqual(len(first.stdout.splitlines()), 1, "up prints exactly one line on stdout")
        self.assertTrue(url.startswith("postgresql://postgres:"), url)
        password = url.split(":")[2].split("@")[0]
        self.assertNotIn(password, first.stderr, "stderr shows the URL redacted")
        self.assertIn("***", first.stderr)

        if shutil.which("psql"):
            out = subprocess.run(["psql", url, "-Atc", "select 40 + 2"], capture_output=True, text=True, timeout=30, check=True)
            self.assertEqual(out.stdout.strip(), "42")

        second = json.loads(cli("up", "--name", NAME, "--format", "json").stdout)
        self.assertEqual(second["url"], url)
        self.assertTrue(second["diagnostics"]["reused"])
        self.assertNotIn(password, json.dumps(second["diagnostics"]))
        info = DockerCLI().inspect(f"minitestdb-{NAME}")
        assert info is not None
        self.assertEqual(second["container_id"], info.id)

        env_line = cli("up", "--name", NAME, "--format", "env").stdout.strip()
        self.assertEqual(env_line, f"export TEST_DATABASE_URL={shlex.quote(url)}")
        self.assertEqual(subprocess.run(["sh", "-c", env_line + ' && printf %s "$TEST_DATABASE_URL"'], capture_output=True, text=True, check=True).stdout, url)
        self.assertEqual(cli("url", "--name", NAME).stdout.strip(), url)

        status = cli("status", "--json")
        rows = [r for r in json.loads(status.stdout) if r["name"] == NAME]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["state"], "running")
        self.assertEqual(rows[0]["port"], int(url.rsplit(":", 1)[1].split("/")[0]))
        self.assertNotIn(password, status.stdout + cli("status").stdout)

        logs = cli("logs", "--name", NAME, "--tail", "20")
        self.assertIn("ready to accept connections", logs.stdout)
        self.assertNotIn(password, logs.stdout)

        psql = cli("psql", "--name", NAME, "--", "-Atc", "select 'via minitestdb psql'")
        self.assertEqual(psql.stdout.strip(), "via minitestdb psql")

        down = cli("down", "--name", NAME)
        self.assertIn(f"minitestdb-{NAME}", down.stderr)
        self.assertIsNone(DockerCLI().inspect(f"minitestdb-{NAME}"))
        self.assertFalse([r for r in json.loads(cli("status", "--json").stdout) if r["name"] == NAME])
        self.assertEqual(cli("url", "--name", NAME, check=False).returncode, 1)

    def test_psql_falls_back_to_the_containers_own(self) -> None:
        cli("up", "--name", NAME)
        env = root_env()
        # A PATH with the docker CLI but no psql.
        docker_dir = os.path.dirname(shutil.which("docker") or "/usr/bin/docker")
        bare = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"minitestdb-nopsql-{os.getpid()}")
        os.makedirs(bare, exist_ok=True)
        for tool in ("docker",):
            target = os.path.join(bare, tool)
            if not os.path.exists(target):
                os.symlink(os.path.join(docker_dir, tool), target)
        env["PATH"] = bare
        proc = minitestdb_cli("psql", "--name", NAME, "--", "-Atc", "select 'inside'", env=env, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), "inside")


class TemplateCommandsTest(unittest.TestCase):
    def test_template_clone_drop_prune(self) -> None:
        name = f"it-tpl-{os.getpid()}"
        self.addCleanup(cli, "down", "--name", name, check=False)
        tmp = sql_dir(self, {"001.sql": "create table items (id int); insert into items values (1), (2);\n"})
        template = cli("template", "--server", name, "--sql", tmp, "--label", "cli").stdout.strip()
        self.assertRegex(template, r"^mtdb_tpl_cli_[0-9a-f]{24}$")
        self.assertEqual(cli("template", "--server", name, "--sql", os.path.join(tmp, "*.sql"), "--label", "cli").stdout.strip(), template)
        url = cli("clone", "--server", name, "--sql", tmp, "--label", "cli").stdout.strip()
        dbname = url.rsplit("/", 1)[1]
        server = minitestdb.attach(name)
        with server.connect(dbname) as conn:
            self.assertEqual(conn.query("select count(*) from items").rows, [("2",)])
        # A kept clone has no owner process: prune leaves it.
        cli("prune")
        with server.connect() as conn:
            self.assertEqual(conn.query(f"select count(*) from pg_database where datname = '{dbname}'").rows, [("1",)])
        cli("drop", url)
        with server.connect() as conn:
            self.assertEqual(conn.query(f"select count(*) from pg_database where datname = '{dbname}'").rows, [("0",)])
        refused = cli("drop", "--server", name, "postgres", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("drops only its own clones", refused.stderr)


class RaceTest(unittest.TestCase):
    def test_16_processes_up_at_once_make_one_container(self) -> None:
        name = f"it-race-{os.getpid()}"
        self.addCleanup(cli, "down", "--name", name, check=False)
        procs = [
            subprocess.Popen([sys.executable, "-m", "minitestdb", "up", "--name", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=root_env())
            for _ in range(16)
        ]
        results = [(*proc.communicate(timeout=180), proc.returncode) for proc in procs]
        failures = [err for _out, err, code in results if code != 0]
        self.assertEqual(failures, [])
        urls = {out.strip() for out, _err, _code in results}
        self.assertEqual(len(urls), 1, urls)
        containers = list(DockerCLI().ps([f"minitestdb.name={name}"]))
        self.assertEqual(len(containers), 1)

    def test_a_different_image_or_port_is_reported_not_reused(self) -> None:
        name = f"it-mismatch-{os.getpid()}"
        self.addCleanup(cli, "down", "--name", name, check=False)
        url = cli("up", "--name", name).stdout.strip()
        port = url.rsplit(":", 1)[1].split("/")[0]
        for args, words in ((("--image", "postgres:13"), "runs the image"), (("--port", str(int(port) + 1)), f"listens on port {port}")):
            proc = cli("up", "--name", name, *args, check=False)
            self.assertEqual(proc.returncode, 1)
            self.assertIn(words, proc.stderr)
            self.assertIn("down --name", proc.stderr)
        self.assertEqual(cli("up", "--name", name).stdout.strip(), url)


class UsageTest(unittest.TestCase):
    def test_usage_errors_exit_2(self) -> None:
        self.assertEqual(cli("up", "--port", "notaport", check=False).returncode, 2)
        self.assertEqual(cli("frobnicate", check=False).returncode, 2)

    def test_failure_is_one_line_without_traceback(self) -> None:
        proc = cli("up", "--name", "bad name!", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def test_doctor(self) -> None:
        proc = cli("doctor")
        lines = proc.stdout.strip().splitlines()
        labels = [line.split(":", 1)[0].split(None, 1)[1] for line in lines]
        self.assertEqual(labels, ["docker CLI", "Docker engine", "socket permission", "image", "host psql", "pg8000"])
        self.assertTrue(all(line.startswith("ok") for line in lines), proc.stdout)
        missing = cli("doctor", "--image", "minitestdb/not-here:0", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("problem  image: minitestdb/not-here:0 is not present", missing.stdout)


if __name__ == "__main__":
    unittest.main()
