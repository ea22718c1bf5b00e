"""The command line as a user runs it: `python -m minitestdb up/url/status/logs/psql/down/doctor/template/clone/drop/run`."""

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
from tests.integration.support import SERVER_HOST, minitestdb_cli, require_docker, root_env, sql_dir

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

        exports = cli("up", "--name", NAME, "--format", "env").stdout
        self.assertEqual(exports.splitlines()[0], f"export TEST_DATABASE_URL={shlex.quote(url)}")
        keys = ["TEST_DATABASE_URL", "DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"]
        shown = subprocess.run(["sh", "-c", exports + "\n" + " ".join(f'printf "%s\\n" "${key}";' for key in keys)], capture_output=True, text=True, check=True).stdout
        port = url.rsplit(":", 1)[1].split("/")[0]
        self.assertEqual(shown.splitlines(), [url, url, SERVER_HOST, port, "postgres", password, "postgres"])
        self.assertEqual(cli("url", "--name", NAME).stdout.strip(), url)
        self.assertEqual(cli("url", "--server", NAME).stdout.strip(), url)

        status = cli("status", "--json")
        # The same rows both ways; "age" is left out, for the two calls may fall on either side of a second.
        def without_age(text: str) -> list[dict[str, object]]:
            return [{k: v for k, v in row.items() if k != "age"} for row in json.loads(text)]

        self.assertEqual(without_age(status.stdout), without_age(cli("status", "--format", "json").stdout))
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
        # psql's own arguments without --, before and after ours
        psql = cli("psql", "-d", "template1", "--server", NAME, "-Atc", "select current_database()")
        self.assertEqual(psql.stdout.strip(), "template1")

        down = cli("down", "--name", NAME)
        self.assertIn(f"minitestdb-{NAME}", down.stderr)
        self.assertIsNone(DockerCLI().inspect(f"minitestdb-{NAME}"))
        self.assertFalse([r for r in json.loads(cli("status", "--json").stdout) if r["name"] == NAME])
        self.assertEqual(cli("url", "--name", NAME, check=False).returncode, 1)

    def test_psql_falls_back_to_the_containers_own(self) -> None:
        cli("up", "--name", NAME)
        env = root_env()
        # A PATH with the docker CLI under test (docker, podman...) but no psql.
        tool = DockerCLI().binary
        found = shutil.which(tool) or f"/usr/bin/{tool}"
        bare = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"minitestdb-nopsql-{os.getpid()}")
        os.makedirs(bare, exist_ok=True)
        target = os.path.join(bare, os.path.basename(found))
        if not os.path.exists(target):
            os.symlink(found, target)
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
        server = minitestdb.attach(name)
        templates_before = templates(server)
        url = cli("clone", "--server", name, "--sql", tmp, "--label", "cli", "--template-label", "cli").stdout.strip()
        dbname = url.rsplit("/", 1)[1]
        self.assertTrue(dbname.startswith("mtdb_cli_"), dbname)
        self.assertEqual(templates(server), templates_before, "clone --template-label finds the template `template --label` built")
        # --label names the clone only: two labels, one (unlabelled) template between them
        first = cli("clone", "--server", name, "--sql", tmp, "--label", "one").stdout.strip().rsplit("/", 1)[1]
        second = cli("clone", "--server", name, "--sql", tmp, "--label", "two").stdout.strip().rsplit("/", 1)[1]
        self.assertEqual((first[:9], second[:9]), ("mtdb_one_", "mtdb_two_"))
        added = templates(server) - templates_before
        self.assertEqual(len(added), 1, added)
        self.assertRegex(added.pop(), r"^mtdb_tpl_[0-9a-f]{24}$")
        for clone in (first, second):
            cli("drop", "--server", name, clone)
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
        # dropping it again: it is gone, which is an error, not "dropped"
        again = cli("drop", "--server", name, dbname, check=False)
        self.assertEqual((again.returncode, again.stderr.count("\n")), (1, 1), again.stderr)
        self.assertIn(f"There is no database {dbname} on the server '{name}'", again.stderr)

    def test_a_kept_database_is_pruned_only_on_request_and_dropped_by_name(self) -> None:
        from minitestdb._templates import keep_database

        name = f"it-kept-{os.getpid()}"
        self.addCleanup(cli, "down", "--name", name, check=False)
        tmp = sql_dir(self, {"001.sql": "create table items (id int);\n"})
        cli("template", "--server", name, "--sql", tmp)
        server = minitestdb.attach(name)
        template = server.template(tmp, pool=0)
        first, second = (keep_database(template.clone(), label=label, test=f"tests/test_x.py::{label}").name for label in ("test_a", "test_b"))

        def kept() -> set[str]:
            with server.connect() as conn:
                return {row[0] for row in conn.query("select datname from pg_database where datname like 'mtdb\\_kept\\_%'").rows if row[0]}

        self.assertEqual(kept(), {first, second})
        cli("prune")
        self.assertEqual(kept(), {first, second}, "plain prune leaves kept databases")
        cli("drop", "--server", name, first)
        self.assertEqual(kept(), {second})
        pruned = cli("prune", "--kept").stdout.split()
        self.assertIn(second, pruned)
        self.assertEqual(kept(), set())


def templates(server: minitestdb.Server) -> set[str]:
    with server.connect() as conn:
        return {row[0] for row in conn.query("select datname from pg_database where datname like 'mtdb\\_tpl\\_%'").rows if row[0]}


def stderr_on_a_terminal(*args: str) -> tuple[int, str]:
    """`python -m minitestdb ARGS` with stderr on a pseudo-terminal: (exit code, what it showed there)."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "minitestdb", *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=root_env(), timeout=120, check=False)
    finally:
        os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.returncode, shown.decode(errors="replace").replace("\r\n", "\n")


class ProgressTest(unittest.TestCase):
    def test_progress_on_a_terminal_and_quiet_when_piped(self) -> None:
        name = f"it-progress-{os.getpid()}"
        self.addCleanup(cli, "down", "--server", name, check=False)
        code, shown = stderr_on_a_terminal("up", "--server", name)
        self.assertEqual(code, 0, shown)
        self.assertIn(f"minitestdb: starting the server {name!r} from ", shown)
        piped = cli("up", "--server", name)
        self.assertEqual(len(piped.stderr.splitlines()), 1, piped.stderr)
        self.assertIn(f"minitestdb: server {name!r} is ready at postgresql://postgres:***@", piped.stderr)
        code, shown = stderr_on_a_terminal("up", "--server", name)
        self.assertIn(f"minitestdb: reusing the server {name!r}", shown)
        # A template build says which file it applies, on a terminal only.
        tmp = sql_dir(self, {"001_first.sql": "create table a (id int);\n", "002_second.sql": "create table b (id int);\n"})
        code, shown = stderr_on_a_terminal("template", "--server", name, "--sql", tmp)
        self.assertEqual(code, 0, shown)
        self.assertLess(shown.index("001_first.sql"), shown.index("002_second.sql"), shown)
        self.assertIn("minitestdb: applying ", shown)
        other = sql_dir(self, {"001_other.sql": "create table c (id int);\n"})
        piped = cli("template", "--server", name, "--sql", other)
        self.assertNotIn("applying", piped.stderr)


class MinitestdbServerTest(unittest.TestCase):
    def test_minitestdb_server_reaches_every_command(self) -> None:
        name = f"it-envsrv-{os.getpid()}"
        self.addCleanup(cli, "down", "--server", name, check=False)
        env = root_env(MINITESTDB_SERVER=name)
        env.pop("TEST_DATABASE_URL", None)

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return minitestdb_cli(*args, env=env, check=True)

        url = run("up").stdout.strip()
        info = DockerCLI().inspect(f"minitestdb-{name}")
        assert info is not None
        port = str(info.port)
        self.assertIn(f":{port}/", url)
        self.assertEqual(run("url").stdout.strip(), url)
        self.assertIn("ready to accept connections", run("logs").stdout)
        self.assertEqual(run("psql", "-Atc", "select 'here'").stdout.strip(), "here")
        tmp = sql_dir(self, {"001.sql": "create table t (id int);\n"})
        template = run("template", "--sql", tmp).stdout.strip()
        server = minitestdb.attach(name)
        self.assertIn(template, templates(server))
        clone_url = run("clone", "--sql", tmp).stdout.strip()
        self.assertIn(f":{port}/", clone_url)
        clone = clone_url.rsplit("/", 1)[1]
        run("drop", clone)
        with server.connect() as conn:
            self.assertEqual(conn.query(f"select count(*) from pg_database where datname = '{clone}'").rows, [("0",)])
        child = run("run", "--sql", tmp, "--", sys.executable, "-c", "import os; print(os.environ['PGPORT'])")
        self.assertEqual(child.stdout.strip(), port)
        self.assertIn(f"minitestdb-{name}", run("down").stderr)
        self.assertIsNone(DockerCLI().inspect(f"minitestdb-{name}"))


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
            self.assertIn("down --server", proc.stderr)
        self.assertEqual(cli("up", "--name", name).stdout.strip(), url)

    def test_password_and_settings_are_used_and_checked_on_reuse(self) -> None:
        name = f"it-settings-{os.getpid()}"
        self.addCleanup(cli, "down", "--server", name, check=False)
        password = "it-fixed-pw-4242"
        url = cli("up", "--server", name, "--password", password, "--setting", "max_prepared_transactions=10", "--setting", "max_connections=150").stdout.strip()
        self.assertIn(f":{password}@", url)
        with minitestdb.attach(name).connect() as conn:
            rows = conn.query("select current_setting('max_prepared_transactions'), current_setting('max_connections'), current_setting('fsync')").rows
        self.assertEqual(rows, [("10", "150", "off")])
        # asking nothing, or the same, reuses it
        self.assertEqual(cli("up", "--server", name).stdout.strip(), url)
        self.assertEqual(cli("up", "--server", name, "--setting", "max_connections=150", "--password", password).stdout.strip(), url)
        for args, words in (
            (("--setting", "max_connections=200"), "runs with other settings (max_connections=150, not 200)"),
            (("--setting", "work_mem=64MB"), "runs with other settings (work_mem unset, not 64MB)"),
            (("--password", "it-other-pw-1717"), "was started with another password"),
        ):
            with self.subTest(args=args):
                proc = cli("up", "--server", name, *args, check=False)
                self.assertEqual((proc.returncode, proc.stdout), (1, ""))
                self.assertIn(words, proc.stderr)
                self.assertIn(f"down --server {name}", proc.stderr)
                self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
                for secret in (password, "it-other-pw-1717"):
                    self.assertNotIn(secret, proc.stderr)


class UsageTest(unittest.TestCase):
    def test_usage_errors_exit_2(self) -> None:
        self.assertEqual(cli("up", "--port", "notaport", check=False).returncode, 2)
        self.assertEqual(cli("frobnicate", check=False).returncode, 2)

    def test_version_and_debug_after_the_command(self) -> None:
        self.assertEqual(cli("--version").stdout, f"minitestdb {minitestdb.__version__}\n")
        proc = cli("url", "--server", f"it-none-{os.getpid()}", "--debug", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("Traceback", proc.stderr)
        self.assertIn(f"`python -m minitestdb up --server it-none-{os.getpid()}`", proc.stderr)

    def test_failure_is_one_line_without_traceback(self) -> None:
        proc = cli("up", "--name", "bad name!", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def test_doctor(self) -> None:
        proc = cli("doctor")
        lines = proc.stdout.strip().splitlines()
        labels = [line.split(":", 1)[0].split(None, 1)[1] for line in lines]
        self.assertEqual(labels, ["docker CLI", "Docker engine", "engine kind", "socket permission", "image", "host psql", "pg8000"])
        self.assertTrue(all(line.startswith("ok") for line in lines), proc.stdout)
        kind = "remote" if SERVER_HOST != "127.0.0.1" else "local"
        self.assertTrue(lines[2].startswith(f"ok       engine kind: {kind} ("), lines[2])
        missing = cli("doctor", "--image", "minitestdb/not-here:0", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("problem  image: minitestdb/not-here:0 is not present", missing.stdout)

    def test_doctor_with_an_unreachable_engine_says_ok_for_nothing_it_could_not_check(self) -> None:
        # DOCKER_HOST for docker, CONTAINER_HOST for podman: each CLI's own way to name the engine.
        proc = minitestdb_cli("doctor", env=root_env(DOCKER_HOST="tcp://127.0.0.1:1", CONTAINER_HOST="tcp://127.0.0.1:1"), timeout=120)
        self.assertEqual(proc.returncode, 1, proc.stdout)
        status = {line.split(":", 1)[0].split(None, 1)[1]: line.split(None, 1)[0] for line in proc.stdout.splitlines()}
        self.assertEqual((status["Docker engine"], status["socket permission"], status["image"]), ("problem", "skipped", "skipped"), proc.stdout)


if __name__ == "__main__":
    unittest.main()
