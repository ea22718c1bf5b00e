"""The bad days: killed owners, killed containers, bad input, and secrets. Real engine only.

Each test checks that nothing is left behind and that the error is one clear line.
The README's "Guarantees" section points at these tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import unittest
from unittest import mock

import minitestdb
from minitestdb._docker import DockerCLI
from tests.integration.support import TEST_IMAGE, LeakCheck, dead_pid, minitestdb_cli, python_child, require_docker, root_env, sql_dir


def setUpModule() -> None:
    require_docker()


def wait_gone(container: str, seconds: float) -> float:
    """Seconds until *container* no longer exists; fails the caller past *seconds*."""
    began = time.monotonic()
    cli = DockerCLI()
    while time.monotonic() - began < seconds:
        if cli.inspect(container) is None:
            return time.monotonic() - began
        time.sleep(0.2)
    raise AssertionError(f"container {container} still exists after {seconds} s")


OWNER = """
import os, signal, sys, minitestdb
server = minitestdb.start()
print(server.container_id, flush=True)
how = sys.argv[1]
if how == "raise":
    raise RuntimeError("the test run crashed")
os.kill(os.getpid(), getattr(signal, how))
"""


class OwnerDeathTest(LeakCheck):
    def test_private_server_outlives_no_owner(self) -> None:
        for how, limit in (("SIGKILL", 10), ("SIGTERM", 10), ("SIGINT", 2), ("raise", 2)):
            with self.subTest(how=how):
                proc = python_child(OWNER, how)
                self.assertNotEqual(proc.returncode, 0)
                container = proc.stdout.strip().splitlines()[0]
                self.assertEqual(len(container), 64, proc.stderr)
                wait_gone(container, limit)
        self.assert_no_new_containers()

    def test_prune_removes_dead_owners_only(self) -> None:
        host = __import__("socket").gethostname()
        orphan = DockerCLI().create([
            "create", "--label", "minitestdb=1", "--label", "minitestdb.shared=0", "--label", f"minitestdb.owner-pid={dead_pid()}",
            "--label", f"minitestdb.owner-host={host}", "--label", "minitestdb.name=orphan", TEST_IMAGE,
        ])
        with minitestdb.start() as mine:
            removed = minitestdb.prune_containers()
            self.assertEqual(len(removed), 1, removed)
            self.assertIsNone(DockerCLI().inspect(orphan))
            self.assertIsNotNone(DockerCLI().inspect(mine.container_id), "a live owner's container is kept")
        self.assert_no_new_containers()


FORKER = """
import os, sys, tempfile, minitestdb
from minitestdb._docker import DockerCLI
server = minitestdb.start()
tmp = tempfile.mkdtemp()
with open(os.path.join(tmp, "1.sql"), "w") as fh:
    fh.write("create table t (x int);")
template = server.template(sql=tmp, pool=2)
mine = template.clone("parent")
pid = os.fork()
if pid == 0:  # the child clones over its own connection, then exits normally (atexit runs)
    with template.clone("child") as db, db.connect() as conn:
        conn.query("insert into t values (1)")
    sys.exit(0)
os.waitpid(pid, 0)
assert DockerCLI().inspect(server.container_id) is not None, "the child removed its parent's server"
with mine.connect() as conn:
    assert conn.query("select count(*) from t").rows == [("0",)]
template.clone("after the fork").drop()
print(server.container_id)
"""


@unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
class ForkTest(LeakCheck):
    def test_a_forked_child_leaves_its_parent_alone(self) -> None:
        proc = python_child(FORKER)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        wait_gone(proc.stdout.strip(), 2)  # removed by the parent's own exit
        self.assert_no_new_containers()


class KilledContainerTest(unittest.TestCase):
    def test_docker_kill_fails_clearly_then_up_brings_it_back(self) -> None:
        name = f"it-kill-{os.getpid()}"
        self.addCleanup(minitestdb.down, name)
        server = minitestdb.up(name)
        tmp = sql_dir(self, {"001.sql": "create table t (id int); insert into t values (1);\n"})
        template = server.template(sql=tmp, pool=0)
        db = template.clone("held")
        conn = db.connect()
        self.assertEqual(conn.query("select count(*) from t").rows, [("1",)])
        subprocess.run([DockerCLI().binary, "kill", server.container_id], check=True, capture_output=True, timeout=30)
        for action in (lambda: conn.query("select 1"), lambda: template.clone("next")):
            with self.assertRaises(minitestdb.DatabaseConnectionError) as ctx:
                action()
            self.assertNotIn("\n", str(ctx.exception))
            self.assertIn(server.host, str(ctx.exception))
            self.assertNotIn(server.password, str(ctx.exception))
        conn.close()
        back = minitestdb.up(name)
        self.assertEqual(back.container_id, server.container_id, "the same container is restarted")
        again = back.template(sql=tmp, pool=0)
        with again.clone() as fresh, fresh.connect() as c:
            self.assertEqual(c.query("select count(*) from t").rows, [("1",)])


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = minitestdb.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.close()

    def test_distinct_errors_for_distinct_problems(self) -> None:
        s = self.server
        cases = [
            ("postgresql://u:pw-malformed-1@host:notaport/db", minitestdb.ConfigurationError),
            (s.url_for("postgres").replace(s.password, "wrong-password-123"), minitestdb.AuthenticationError),
            (s.url_for("no_such_database"), minitestdb.DatabaseNotFoundError),
            (f"postgresql://postgres:pw-unreachable-1@127.0.0.1:{self.free_port()}/postgres", minitestdb.DatabaseConnectionError),
        ]
        seen = []
        for url, expected in cases:
            with self.subTest(expected=expected.__name__), mock.patch.dict(os.environ, {"TEST_DATABASE_URL": url}):
                with self.assertRaises(expected) as ctx:
                    minitestdb.server_from_env()
                text = str(ctx.exception)
                self.assertNotIn("\n", text)
                for secret in (s.password, "wrong-password-123", "pw-malformed-1", "pw-unreachable-1"):
                    self.assertNotIn(secret, text + repr(ctx.exception) + ctx.exception.detail)
                seen.append(type(ctx.exception))
        self.assertEqual(len(set(seen)), len(cases))

    def free_port(self) -> int:
        # The port of a server that was removed: nothing listens there now.
        with minitestdb.start() as gone:
            return gone.port

    def test_server_closes_the_connection_mid_query(self) -> None:
        with self.server.connect() as victim, self.server.connect() as killer:
            pid = victim.backend_pid
            timer = threading.Timer(0.5, lambda: killer.query(f"select pg_terminate_backend({pid})"))
            timer.start()
            try:
                with self.assertRaises(minitestdb.DatabaseConnectionError) as ctx:
                    victim.query("select pg_sleep(10)", timeout=20)
            finally:
                timer.join()
            self.assertIn("terminating connection", str(ctx.exception))
            self.assertNotIn("\n", str(ctx.exception))


class SecretsTest(unittest.TestCase):
    def test_the_password_appears_only_where_it_is_the_product(self) -> None:
        name = f"it-secret-{os.getpid()}"
        self.addCleanup(minitestdb_cli, "down", "--name", name)
        up = minitestdb_cli("up", "--name", name)
        url = up.stdout.strip()
        password = url.split(":")[2].split("@")[0]
        self.assertGreaterEqual(len(password), 20)
        tmp = sql_dir(self, {"001_bad.sql": f"select 1;\nselect '{password}'::int;\n"})  # the password in a failing statement
        outputs = {
            "up stderr": up.stderr,
            "up json diagnostics": json.dumps(json.loads(minitestdb_cli("up", "--name", name, "--format", "json").stdout)["diagnostics"]),
            "status": minitestdb_cli("status").stdout,
            "status --json": minitestdb_cli("status", "--json").stdout,
            "logs": minitestdb_cli("logs", "--name", name, "--tail", "200").stdout,
            "doctor": minitestdb_cli("doctor").stdout,
            "broken template stderr": minitestdb_cli("template", "--server", name, "--sql", tmp).stderr,
        }
        env = root_env(TEST_DATABASE_URL=url.replace(password, password + "x"))
        outputs["wrong password error"] = minitestdb_cli("run", "--", "true", env=env).stderr
        self.assertIn("invalid input syntax", outputs["broken template stderr"])
        for where, text in outputs.items():
            with self.subTest(where=where):
                self.assertNotIn(password, text)
        server = minitestdb.attach(name)
        self.assertNotIn(password, repr(server) + json.dumps(server.diagnostics.to_dict()))


if __name__ == "__main__":
    unittest.main()
