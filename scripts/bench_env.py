"""The benchmark's environment: interpreters, the peers' venv, the bench user, clean-up, machine facts.

``Env`` holds everything the measurements share and nothing they measure:

- two interpreters: this one (minitestdb, from the checkout on PYTHONPATH, run from
  bytecode compiled into a temporary ``PYTHONPYCACHEPREFIX``) and the python of a
  throwaway venv holding the peers (``--venv``, created and filled on first use,
  reused afterwards; the peers are never dependencies of minitestdb);
- the child environments for each (``mtdb_env``, ``peer_env``);
- run as root, a throwaway unprivileged user (PostgreSQL refuses to run as root)
  under which the local-binary peers run through ``runuser`` (``as_user``);
- a temporary directory, and ``cleanup`` that removes everything this run started:
  the ``bench-cold`` and ``bench-warm`` servers, ``start()``'s private containers (by
  the owner pid), testcontainers' containers (by a label of this run), local clusters
  left under the temporary directory, and the throwaway user.

``machine_facts`` and ``runuser_overhead`` describe the machine for the report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from typing import Any, Dict, List, Sequence

from bench_common import COLD_NAME, PG_BIN, ROOT, WARM_NAME, run, run_child, say

DEFAULT_VENV = "/tmp/minitestdb-bench-venv"  # noqa: S108 - a throwaway venv, reused between runs
BENCH_USER = "mtdbbench"
PEER_REQUIREMENTS = ["testcontainers[postgres]>=4,<5", "pytest-postgresql", "testing.postgresql", "psycopg[binary]", "pg8000", "pytest-xdist"]
PEER_DISTS = ["testcontainers", "pytest-postgresql", "testing.postgresql", "psycopg", "pg8000", "docker", "mirakuru"]

# Imports every private module of minitestdb (what `import minitestdb` may leave for first use),
# found at run time rather than named here: the package's internals change names.
_IMPORT_INTERNALS = (
    "import importlib, pkgutil, minitestdb\n"
    "for m in pkgutil.walk_packages(minitestdb.__path__, 'minitestdb.'):\n"
    "    if m.name.rsplit('.', 1)[-1].startswith('_') and not m.name.endswith('__main__'):\n"
    "        importlib.import_module(m.name)\n"
)
_STDLIB_USED = "argparse, hashlib, hmac, unicodedata, stringprep, json, queue, weakref, shutil, tempfile"


class Env:
    """Interpreters, the bench user, the temporary directory and what to clean up."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.image: str = args.image
        self.python = sys.executable
        self.venv = args.venv
        self.venv_python = os.path.join(self.venv, "bin", "python")
        self.is_root = os.geteuid() == 0
        self.user: str | None = None
        self.created_user = False
        self.token = uuid.uuid4().hex[:12]
        self.tmp = tempfile.mkdtemp(prefix="minitestdb-bench-")
        self.peer_tmp = os.path.join(self.tmp, "peers")  # TMPDIR of the local-binary peers
        os.makedirs(self.peer_tmp)
        self.private_owner_pids: List[int] = []
        self.pycache = os.path.join(self.tmp, "pycache")

    def warm_bytecode(self) -> None:
        """Compile minitestdb and the stdlib modules it uses into the bytecode cache (untimed)."""
        run([self.python, "-m", "compileall", "-q", os.path.join(ROOT, "minitestdb")], env=self.mtdb_env(), check=False, timeout=300)
        for flags in ([], ["-S"]):
            run([self.python, *flags, "-c", f"{_IMPORT_INTERNALS}import {_STDLIB_USED}"], env=self.mtdb_env(), timeout=300)
        run([self.python, "-m", "minitestdb", "--help"], env=self.mtdb_env(), timeout=120)
        run([self.venv_python, "-c", _IMPORT_INTERNALS], env=self.mtdb_env(), timeout=300)

    # environments for children
    def mtdb_env(self, *, bytecode: bool = True) -> Dict[str, str]:
        env = dict(os.environ)
        if bytecode:
            # Run from compiled bytecode, as an installed package does (pip compiles it) and as the
            # peers do; kept outside the checkout, which stays clean even with PYTHONDONTWRITEBYTECODE.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = self.pycache
        env["MINITESTDB_IMAGE"] = self.image
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.pop("TEST_DATABASE_URL", None)
        return env

    def peer_env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env["TESTCONTAINERS_RYUK_DISABLED"] = "true"  # the reaper image cannot be pulled here
        env["PATH"] = PG_BIN + os.pathsep + env.get("PATH", "")
        env["TMPDIR"] = self.peer_tmp
        return env

    def as_user(self, argv: Sequence[str]) -> List[str]:
        """Run *argv* as the unprivileged bench user when this script runs as root."""
        if self.user:
            return ["runuser", "-u", self.user, "--", *argv]
        return list(argv)

    # set-up
    def prepare_user(self) -> None:
        if not self.is_root:
            return
        try:
            pwd.getpwnam(BENCH_USER)
        except KeyError:
            say(f"creating the throwaway user {BENCH_USER} (PostgreSQL refuses to run as root)")
            run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", BENCH_USER])
            self.created_user = True
        self.user = BENCH_USER
        entry = pwd.getpwnam(BENCH_USER)
        for path in (self.tmp, self.peer_tmp):
            os.chmod(path, 0o755)  # noqa: S103 - the unprivileged bench user must reach its TMPDIR inside
        os.chown(self.peer_tmp, entry.pw_uid, entry.pw_gid)

    def _usable_by_user(self, python: str) -> bool:
        if not self.user:
            return True
        return run(self.as_user([python, "-c", "pass"]), check=False).returncode == 0

    def prepare_venv(self) -> None:
        if not os.path.exists(self.venv_python):
            base = getattr(sys, "_base_executable", sys.executable)
            if not self._usable_by_user(base):
                # e.g. a pyenv interpreter under /root: the bench user cannot run it.
                base = shutil.which("python3", path="/usr/bin") or base
            say(f"creating the peers' venv {self.venv} from {base}")
            run([base, "-m", "venv", self.venv], timeout=300)
        check = "import testcontainers, pytest_postgresql, testing.postgresql, psycopg, pg8000, xdist"
        if run([self.venv_python, "-c", check], check=False).returncode != 0:
            say("installing the peers into the venv (testcontainers, pytest-postgresql, testing.postgresql, psycopg, pg8000; pytest-xdist for the pool section)")
            log = os.path.join(self.venv, "pip-install.log")
            with open(log, "w") as fh:
                code = subprocess.call([self.venv_python, "-m", "pip", "install", "--disable-pip-version-check", *PEER_REQUIREMENTS], stdout=fh, stderr=subprocess.STDOUT)
            if code != 0:
                raise SystemExit(f"bench: pip install into {self.venv} failed; see {log}")
        if not self._usable_by_user(self.venv_python):
            raise SystemExit(f"bench: {self.venv_python} cannot be run by the user {self.user}; remove {self.venv} and run again")

    # clean-up
    def cleanup(self) -> List[str]:
        problems: List[str] = []
        for name in (COLD_NAME, WARM_NAME):
            proc = run([self.python, "-m", "minitestdb", "down", "--name", name], env=self.mtdb_env(), check=False, timeout=120)
            if proc.returncode != 0:
                problems.append(f"down --name {name}: {proc.stderr.strip()}")
        for pid in self.private_owner_pids:
            problems += remove_containers(["--filter", "label=minitestdb=1", "--filter", f"label=minitestdb.owner-pid={pid}"], f"start() of pid {pid}")
        problems += remove_containers(["--filter", f"label=minitestdb-bench={self.token}"], "testcontainers")
        # Local clusters: stop any postmaster left under our temporary directory.
        for dirpath, _dirs, files in os.walk(self.tmp):
            if "postmaster.pid" in files:
                problems.append(f"a local cluster was left running in {dirpath}: stopping it")
                run(self.as_user([os.path.join(PG_BIN, "pg_ctl"), "stop", "-D", dirpath, "-m", "immediate"]), check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.created_user:
            run(["userdel", BENCH_USER], check=False)
        return problems


def remove_containers(filters: Sequence[str], what: str) -> List[str]:
    ids = run(["docker", "ps", "-aq", *filters], check=False).stdout.split()
    if ids:
        run(["docker", "rm", "--force", *ids], check=False)
        return [f"{len(ids)} container(s) of {what} were left and have been removed"]
    return []


# --- facts about the machine --------------------------------------------------------------


def machine_facts(env: Env, server: Any) -> Dict[str, str]:
    facts: Dict[str, str] = {}
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    facts["machine"] = f"{os.cpu_count()} cores ({cpu}), {mem} memory, {platform.system()} {platform.release()}"
    facts["load"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    facts["docker"] = run(["docker", "version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}"], check=False).stdout.strip()
    image_id = run(["docker", "image", "inspect", "--format", "{{.Id}}", env.image], check=False).stdout.strip()
    facts["image"] = f"`{env.image}` ({image_id[7:19]})"
    with server.connect() as conn:
        facts["server_version"] = conn.query("show server_version").rows[0][0]
    facts["host_pg"] = run([os.path.join(PG_BIN, "pg_ctl"), "--version"], check=False).stdout.strip()
    facts["python_mtdb"] = f"{platform.python_implementation()} {platform.python_version()} (`{sys.executable}`)"
    facts["python_venv"] = run([env.venv_python, "-c", "import platform, sys; print(platform.python_implementation(), platform.python_version(), '(`' + sys.base_prefix + '`)')"]).stdout.strip()
    versions = run([env.venv_python, "-c", "import importlib.metadata as m, json, sys; print(json.dumps({d: m.version(d) for d in sys.argv[1:]}))", *PEER_DISTS]).stdout
    facts["peers"] = ", ".join(f"{k} {v}" for k, v in json.loads(versions).items())
    sys.path.insert(0, ROOT)
    import minitestdb

    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--", "minitestdb"], check=False).stdout.strip()
    facts["minitestdb"] = f"{minitestdb.__version__} at {commit or 'unknown commit'}" + (" with uncommitted changes under minitestdb/" if dirty else "")
    return facts


_RUNUSER_OVERHEAD: Dict[str, float] = {}


def runuser_overhead(env: Env) -> float:
    """What ``runuser`` adds to a process's time (median of 7, measured once per run)."""
    if "v" not in _RUNUSER_OVERHEAD:
        plain = [run_child(["/bin/true"], env=dict(os.environ)).total for _ in range(7)]
        wrapped = [run_child(env.as_user(["/bin/true"]), env=dict(os.environ)).total for _ in range(7)]
        _RUNUSER_OVERHEAD["v"] = max(0.0, statistics.median(wrapped) - statistics.median(plain))
    return _RUNUSER_OVERHEAD["v"]
