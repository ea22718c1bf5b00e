"""What every integration test needs: a real Docker engine and the test image, and the set-up the modules share.

When no engine answers, the tests skip with the reason, except when
MINITESTDB_REQUIRE_DOCKER=1 (CI), where that is a failure: a skipped
integration test is not a pass.

Besides that check, the set-up the modules share: a private server per module
(`start_module_server`); the environment and runners for child processes
(`root_env`, `minitestdb_cli`, `python_child`, `run_workers`, `dead_pid`);
temporary migration directories (`temp_dir`, `write_sql`, `sql_dir`); and what
is on a server or the engine (`database_names`, `database_and_schema_names`,
`minitestdb_containers`, `LeakCheck`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from typing import Any, Mapping, NoReturn
from urllib.parse import urlsplit

import minitestdb
from minitestdb._docker import DockerCLI
from minitestdb._errors import MiniTestDBError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_IMAGE = os.environ.get("MINITESTDB_TEST_IMAGE", "minitestdb/postgres-test:15")


def _server_address() -> tuple[str, str]:
    """(host servers are reached at, address they are published on): a remote tcp:// DOCKER_HOST's host (the remote-engine lane), else loopback."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    host = (urlsplit(docker_host).hostname or "") if docker_host.startswith("tcp://") else ""
    if host and host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        return host, "0.0.0.0"
    return "127.0.0.1", "127.0.0.1"


#: Stated here, not asked of minitestdb: what the tests expect of it on this engine.
SERVER_HOST, PUBLISHED_ON = _server_address()
_checked: str | None = None


def require_docker() -> None:
    """Call from setUpModule: skip (or fail under MINITESTDB_REQUIRE_DOCKER=1) without an engine and image."""
    global _checked
    if _checked is None:
        _checked = _problem()
    if _checked:
        skip_or_fail(_checked)
    os.environ["MINITESTDB_IMAGE"] = TEST_IMAGE


def skip_or_fail(problem: str) -> NoReturn:
    """Skip with *problem*; under MINITESTDB_REQUIRE_DOCKER=1 (CI) fail instead, for a skipped integration test is not a pass."""
    if os.environ.get("MINITESTDB_REQUIRE_DOCKER") == "1":
        raise AssertionError(f"MINITESTDB_REQUIRE_DOCKER=1 but {problem}")
    raise unittest.SkipTest(problem)


def _problem() -> str:
    cli = DockerCLI()
    try:
        cli.version()
    except MiniTestDBError as exc:
        return f"no Docker engine answers ({exc}); run scripts/docker-engine.sh"
    try:
        if cli.image_inspect(TEST_IMAGE) is None:
            return f"the test image {TEST_IMAGE} is missing; run scripts/build-test-image.sh"
    except MiniTestDBError as exc:
        return f"cannot inspect the test image ({exc})"
    return ""


def start_module_server() -> minitestdb.Server:
    """setUpModule's work in a module with a private server: require_docker(), then ``minitestdb.start()``.

    The module keeps the server in its SERVER and closes it in its own
    tearDownModule.  (Not through unittest.addModuleCleanup: Python 3.8 runs
    module cleanups only in a module that defines tearDownModule, and pytest
    does not run them at all.)
    """
    require_docker()
    return minitestdb.start()


def minitestdb_containers() -> set[str]:
    """Ids of every container carrying the minitestdb label, in any state."""
    return set(DockerCLI().ps(["minitestdb=1"]))


class LeakCheck(unittest.TestCase):
    """Fails a test that leaves a minitestdb container behind."""

    def setUp(self) -> None:
        self._before = minitestdb_containers()

    def assert_no_new_containers(self) -> None:
        left = minitestdb_containers() - self._before
        self.assertEqual(left, set(), "containers left behind")


def root_env(**extra: str) -> dict[str, str]:
    """The environment for a child that imports minitestdb: this one, the checkout on PYTHONPATH, the test image, plus *extra*."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MINITESTDB_IMAGE"] = TEST_IMAGE
    env.update(extra)
    return env


#: A docker CLI that does not exist: children that must use TEST_DATABASE_URL's server and nothing else.
NO_DOCKER = "/nonexistent/docker"


def helpers_env(**extra: str) -> dict[str, str]:
    """root_env() without the variables that change the test helpers' behaviour (TEST_DATABASE_URL, MINITESTDB_SERVER, ...), plus *extra*.

    MINITESTDB_DOCKER stays: a child that starts servers uses the engine under test (podman in
    its lane); a child that must not reach any engine is given MINITESTDB_DOCKER=NO_DOCKER.
    """
    env = root_env()
    for var in ("TEST_DATABASE_URL", "MINITESTDB_REQUIRED", "MINITESTDB_REQUIRE_DOCKER", "MINITESTDB_SERVER", "PYTEST_ADDOPTS"):
        env.pop(var, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def minitestdb_cli(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120, check: bool = False, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m minitestdb ARGS` in a child: root_env() unless *env*, stdin closed, output captured as text.

    With *check*, a non-zero exit fails the caller with the child's stderr;
    without, the caller looks at the exit code itself.
    """
    proc = _python(["-m", "minitestdb", *args], env, timeout, cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"minitestdb {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def python_child(script: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -c SCRIPT ARGS` in a child: root_env() unless *env*, stdin closed, output captured; the caller checks the exit code."""
    return _python(["-c", script, *args], env, timeout)


def _python(args: list[str], env: Mapping[str, str] | None, timeout: float, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd,
        capture_output=True, text=True, timeout=timeout, env=dict(env) if env is not None else root_env(), stdin=subprocess.DEVNULL, check=False,
    )


def run_workers(script: str, count: int, **extra_env: str) -> list[dict[str, object]]:
    """Run *script* in *count* concurrent `python -c` children (root_env() plus *extra_env*).

    Each child must exit 0 (else the caller fails with its stderr) and print a
    JSON object as its last line of output; returns those objects in order.
    """
    env = root_env(**extra_env)
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(count)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"worker failed ({proc.returncode}): {err}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def dead_pid() -> int:
    """The pid of a process that has exited: a child that printed its own pid (an owner that is surely gone)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def temp_dir(test: unittest.TestCase, prefix: str = "minitestdb-it-") -> str:
    """A new temporary directory, removed when *test* is done."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    test.addCleanup(shutil.rmtree, tmp, True)
    return tmp


def write_sql(directory: str, files: Mapping[str, str]) -> str:
    """Write *files* (file name -> SQL text, dedented) into *directory*, made if missing; returns *directory*."""
    os.makedirs(directory, exist_ok=True)
    for name, body in files.items():
        with open(os.path.join(directory, name), "w") as fh:
            fh.write(textwrap.dedent(body))
    return directory


def sql_dir(test: unittest.TestCase, files: Mapping[str, str], prefix: str = "minitestdb-it-") -> str:
    """A migration directory for one test: a temp_dir() holding *files* (as write_sql writes them)."""
    return write_sql(temp_dir(test, prefix), files)


def database_names(server: Any, *, templates: bool = True) -> set[str]:
    """The databases on *server*; without *templates*, leave out the templates (meant to stay)."""
    sql = "select datname from pg_database" + ("" if templates else " where not datistemplate")
    with server.connect() as conn:
        return {row[0] for row in conn.query(sql).rows if row[0]}


def database_and_schema_names(server: Any) -> set[str]:
    """Every database and every schema (of the server's default database) on *server*, in one set of names."""
    with server.connect() as conn:
        return {row[0] for row in conn.query("select datname from pg_database union all select nspname from pg_namespace").rows if row[0]}
