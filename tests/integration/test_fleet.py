"""One server for a fleet: owners on other hosts are judged by the lock they hold on the server, under SIGKILL.

The server is this module's private one, reached by the children through
TEST_DATABASE_URL as a shared server would be.  "Another host" is a child in a
UTS namespace of its own with another host name (``unshare --uts``, as root),
else a child told to call itself by another name; either way its names carry
another host tag, so only its owner lock can tell ``prune`` on this host that
it is alive.

The soak runs 8 worker processes (half of them on "host B") through clone, use
and drop cycles against the server, SIGKILLs a random one and restarts it every
so often, and prunes from this process all the while.  At the end, after one
prune, exactly the live workers' databases are left, no live worker lost one,
and once they exit the server's connection count is what it was.  It prints one
summary line to stderr (``soak: ... cycles, ... kills, ... leaked, ... wrongly
dropped ...``).  Its budget: ``MINITESTDB_SOAK_CYCLES`` cycles per worker (CI:
40), ``MINITESTDB_SOAK_KILL_EVERY`` seconds between kills (default 1); the
longer run by hand::

    MINITESTDB_SOAK_CYCLES=300 MINITESTDB_SOAK_KILL_EVERY=2 python -m unittest tests.integration.test_fleet.SoakTest

``MINITESTDB_SOAK_SEED`` repeats a run's choice of victims.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Callable, Iterator

import minitestdb
from minitestdb._endpoint import Endpoint
from minitestdb._naming import host_tag, parse_name
from minitestdb._owner import hostname, owner_key
from minitestdb._templates import _Admin, prune_databases
from tests.integration.support import NO_DOCKER, ROOT, helpers_env, minitestdb_cli, start_module_server, temp_dir, write_sql

SERVER: minitestdb.Server  # this module's private server, from setUpModule

HOST_B = "fleet-host-b"
SCHEMA = {"001_items.sql": "create table items (id serial primary key, body text not null);\n"}


def setUpModule() -> None:
    global SERVER
    SERVER = start_module_server()


def tearDownModule() -> None:
    SERVER.close()


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "--uts", "true"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


UNSHARE = _can_unshare()


def on_host(host: str | None, argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """*argv* run as if on *host* (None: this host): in a UTS namespace named *host*, else told the name through FLEET_HOST."""
    if host is None:
        return argv, {}
    if UNSHARE:
        return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *argv], {}
    return argv, {"FLEET_HOST": host}


def child_env(**extra: str) -> dict[str, str]:
    """A child using this module's server through TEST_DATABASE_URL, and no engine at all."""
    return helpers_env(TEST_DATABASE_URL=SERVER.url, MINITESTDB_DOCKER=NO_DOCKER, **extra)


# The start of every child: pretend to be on FLEET_HOST when no UTS namespace could be had
# (minitestdb's names take the host from _templates.hostname).
CHILD_PRELUDE = """
import json, os, sys, time
import minitestdb
from minitestdb import _templates
if os.environ.get("FLEET_HOST"):
    _templates.hostname = lambda: os.environ["FLEET_HOST"]
from minitestdb._owner import owner_key

def say(**fields):
    print(json.dumps(fields), flush=True)

def full_pool(template, size, kind="clone"):
    deadline = time.monotonic() + 30
    while template._workers[kind].ready.qsize() < size and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(template._workers[kind].ready.queue)
"""

OWNER = CHILD_PRELUDE + """
server = minitestdb.server_from_env()
template = server.template(sql=sys.argv[1], name="fleet", pool=2)
clones = [template.clone("b_one"), template.clone("b_two")]
schema = template.schema("b_schema")
pooled = full_pool(template, 2) + full_pool(template, 2, "schema")
say(key=owner_key(), host=_templates.hostname(), names=[db.name for db in clones] + [schema.schema] + pooled)
sys.stdin.read()  # alive until told (or killed)
"""


def clones_of(names: set[str], fp: str) -> set[str]:
    """The clones and half-built builds among *names* of the template of fingerprint *fp*, and every schema (only this module makes any)."""
    owned = set()
    for name in names:
        parsed = parse_name(name)
        if parsed is None:
            continue
        if parsed.kind == "schema" or (parsed.kind in ("clone", "temp") and (f"_{fp[:8]}_" in name or name.startswith(f"mtdb_tmp_{fp[:16]}_"))):
            owned.add(name)
    return owned


def names_on_server() -> set[str]:
    with SERVER.connect() as conn:
        return {row[0] for row in conn.query("select datname from pg_database union all select nspname from pg_namespace").rows if row[0]}


def held_keys() -> set[int]:
    with SERVER.connect() as conn:
        rows = conn.query("select objid from pg_locks where locktype = 'advisory' and classid = 1836347255 and objsubid = 2 and granted").rows
    return {int(row[0] or 0) for row in rows}


def client_sessions() -> int:
    with SERVER.connect() as conn:
        rows = conn.query("select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()").rows
    return int(rows[0][0] or 0)


class Child:
    """A child process of this module: stdin held open (closing it tells the child to exit), stdout read line by line, stderr in a file."""

    def __init__(self, test: unittest.TestCase, argv: list[str], env: dict[str, str]) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by the test's cleanup, after the child is gone
        test.addCleanup(self._stderr.close)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env, cwd=ROOT)
        test.addCleanup(self.kill)
        self.pid = self.proc.pid

    def lines(self) -> Iterator[str]:
        """Its stdout, line by line, until it ends (then the pipe is closed)."""
        assert self.proc.stdout is not None
        with self.proc.stdout:
            yield from self.proc.stdout

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-3000:]

    def kill(self) -> None:
        """SIGKILL, if it still runs: nothing of its own runs at exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._close_stdin()

    def end(self, timeout: float = 60) -> int:
        """Tell it to exit (stdin closed) and wait: its exit code."""
        self._close_stdin()
        return self.proc.wait(timeout)

    def _close_stdin(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class TwoHostsTest(unittest.TestCase):
    """A live owner on host B keeps everything through `prune` on host A; SIGKILLed, it loses it all at the next one."""

    def test_a_live_owner_on_another_host_keeps_its_clones_and_a_killed_one_loses_them(self) -> None:
        sql = write_sql(os.path.join(temp_dir(self, "minitestdb-fleet-"), "migrations"), dict(SCHEMA, **{"000_marker.sql": f"-- two hosts {os.getpid()} {time.time()}\n"}))
        template = SERVER.template(sql=sql, name="fleet", pool=0)  # built here: host B only finds it
        argv, extra = on_host(HOST_B, [sys.executable, "-c", OWNER, sql])
        owner = Child(self, argv, child_env(**extra))
        line = next(owner.lines(), "")
        if not line:
            owner.kill()
            self.fail(f"the owner on {HOST_B} said nothing: {owner.stderr()}")
        report = json.loads(line)
        names: set[str] = set(report["names"])
        self.assertEqual(report["host"], HOST_B)
        self.assertNotEqual(host_tag(HOST_B), host_tag(hostname()))
        self.assertEqual(len(names), 7, names)  # two clones, a schema, two pooled clones, two pooled schemas
        for name in names:
            parsed = parse_name(name)
            assert parsed is not None, name
            self.assertEqual((parsed.host, parsed.key), (host_tag(HOST_B), report["key"]), name)
        self.assertEqual(clones_of(names_on_server(), template.fingerprint), names)

        # Alive on host B: neither the CLI's prune nor the API's on host A touches a thing.
        pruned = minitestdb_cli("prune", env=child_env(), check=True).stdout.split()
        self.assertFalse(names & set(pruned), pruned)
        self.assertFalse(names & set(prune_databases(SERVER.endpoint)))
        self.assertEqual(clones_of(names_on_server(), template.fingerprint), names)

        # SIGKILLed: nothing ran at exit, and the server let go of the lock by itself.
        owner.kill()
        self.assertTrue(wait_for(lambda: report["key"] not in held_keys()), "the server kept a SIGKILLed owner's lock")
        self.assertEqual(clones_of(names_on_server(), template.fingerprint), names, "nothing is dropped without a prune")
        pruned = minitestdb_cli("prune", env=child_env(), check=True).stdout.split()
        self.assertEqual(names & set(pruned), names)
        self.assertEqual(clones_of(names_on_server(), template.fingerprint), set())


class PlainRoleTest(unittest.TestCase):
    """`prune` run by a role that is no superuser still sees every owner's lock, and leaves what it may not drop."""

    def test_a_plain_role_keeps_a_live_owners_clone_and_skips_another_roles_orphan(self) -> None:
        sql = write_sql(os.path.join(temp_dir(self, "minitestdb-plain-"), "migrations"), dict(SCHEMA, **{"000_marker.sql": f"-- plain {os.getpid()} {time.time()}\n"}))
        template = SERVER.template(sql=sql, name="plain", pool=0)
        mine = template.clone("live")  # this process is alive and holds its key
        self.addCleanup(mine.drop)
        argv, extra = on_host(HOST_B, [sys.executable, "-c", OWNER.replace('name="fleet"', 'name="plain"'), sql])
        owner = Child(self, argv, child_env(**extra))
        report = json.loads(next(owner.lines()))
        dead = {name for name in report["names"] if name.startswith("mtdb_")}
        owner.kill()
        self.assertTrue(wait_for(lambda: report["key"] not in held_keys()), "the server kept a SIGKILLed owner's lock")
        password = os.urandom(12).hex()
        with SERVER.connect() as conn:
            conn.query(f"create role fleet_plain login password '{password}'")
        plain = Endpoint(host=SERVER.endpoint.host, port=SERVER.endpoint.port, user="fleet_plain", password=password, dbname="postgres")

        def drop_role() -> None:
            _Admin.of(plain).close()
            with SERVER.connect() as conn:
                conn.query("drop role if exists fleet_plain")

        self.addCleanup(drop_role)
        self.assertEqual(prune_databases(plain), [])  # not its own to drop: no error either
        # pg_locks shows it every session's locks, the superuser's included: this process's key, so its clone is alive to it.
        held = _Admin.of(plain).held_owner_keys()
        assert held is not None
        self.assertIn(owner_key(), held)
        self.assertNotIn(report["key"], held)
        names = names_on_server()
        self.assertIn(mine.name, names)
        self.assertLessEqual(dead, names)
        self.assertLessEqual(dead, set(prune_databases(SERVER.endpoint)))


FINDER = CHILD_PRELUDE + """
server = minitestdb.server_from_env()
template = server.template(sql=sys.argv[1], name="auto", pool=0)
say(built=template.built, key=owner_key())
"""


class PruneWhenFoundTest(unittest.TestCase):
    """A fleet that never runs `prune`: finding a template drops its dead owners' clones."""

    def test_a_process_finding_the_template_drops_a_killed_owners_clones(self) -> None:
        sql = write_sql(os.path.join(temp_dir(self, "minitestdb-auto-"), "migrations"), dict(SCHEMA, **{"000_marker.sql": f"-- auto {os.getpid()} {time.time()}\n"}))
        # The owner on host B builds the template (so no live process holds this minute's claim once it is killed).
        argv, extra = on_host(HOST_B, [sys.executable, "-c", OWNER.replace('name="fleet"', 'name="auto"'), sql])
        owner = Child(self, argv, child_env(**extra))
        report = json.loads(next(owner.lines()))
        names = {name for name in report["names"] if name.startswith("mtdb_")}
        owner.kill()
        self.assertTrue(wait_for(lambda: report["key"] not in held_keys()), "the server kept a SIGKILLed owner's lock")
        self.assertLessEqual(names, names_on_server())
        finder = Child(self, [sys.executable, "-c", FINDER, sql], child_env())
        found = json.loads(next(finder.lines()))
        self.assertEqual(finder.end(), 0, finder.stderr())
        self.assertFalse(found["built"])
        self.assertEqual(names & names_on_server(), set(), "finding the template left a dead owner's clones")


WORKER = CHILD_PRELUDE + """
from minitestdb._errors import MiniTestDBError
cycles = int(sys.argv[2])
server = minitestdb.server_from_env()
template = server.template(sql=sys.argv[1], name="soak", pool=2)
anchor = template.clone("anchor")  # long-lived and mostly idle: what a wrong prune would take first
say(event="start", key=owner_key(), host=_templates.hostname(), pid=os.getpid())

def use(database, value):
    with database.connect() as conn:
        conn.query(f"insert into items (body) values ('{value}')")
        return conn.query("select count(*) from items").rows[0][0]

for cycle in range(cycles):
    database = template.clone("cycle")
    try:
        use(database, cycle)
        use(anchor, cycle)
    except MiniTestDBError as exc:
        say(event="lost", error=str(exc))
        sys.exit(3)
    database.drop(wait=cycle % 2 == 0)  # half of the drops queued to the pool's thread, as a test's teardown does
    say(event="cycle")
template.flush()
say(event="done", names=[anchor.name] + full_pool(template, 2))
sys.stdin.read()  # alive, holding its databases, until told
"""


class Slot:
    """One of the soak's workers: its process (restarted after each kill), its cycles done, its key and databases."""

    def __init__(self, index: int, host: str | None) -> None:
        self.index, self.host = index, host
        self.done = 0
        self.child: Child | None = None
        self.key: int | None = None
        self.names: set[str] | None = None
        self.killed: set[int] = set()  # pids

    @property
    def finished(self) -> bool:
        return self.names is not None


class SoakTest(unittest.TestCase):
    WORKERS = 8

    def test_workers_killed_at_random_leave_exactly_the_live_ones_databases(self) -> None:
        cycles = int(os.environ.get("MINITESTDB_SOAK_CYCLES", "40"))
        kill_every = float(os.environ.get("MINITESTDB_SOAK_KILL_EVERY", "1.0"))
        budget = float(os.environ.get("MINITESTDB_SOAK_BUDGET", str(120 + cycles * 2)))
        seed = os.environ.get("MINITESTDB_SOAK_SEED", str(int(time.time())))
        rng = random.Random(seed)
        sql = write_sql(os.path.join(temp_dir(self, "minitestdb-soak-"), "migrations"), dict(SCHEMA, **{"000_marker.sql": f"-- soak {os.getpid()} {time.time()}\n"}))
        template = SERVER.template(sql=sql, name="soak", pool=0)
        fp = template.fingerprint
        prune_databases(SERVER.endpoint)  # this process's own admin connection, open before the count
        sessions_before = client_sessions()
        events: queue.Queue[tuple[Slot, Child, dict[str, Any]]] = queue.Queue()
        slots = [Slot(i, HOST_B if i % 2 else None) for i in range(self.WORKERS)]
        live_keys: dict[int, Slot] = {}  # the key of each worker running now
        stats = {"cycles": 0, "kills": 0, "pruned": 0}
        wrongly_dropped: list[str] = []

        def reader(slot: Slot, child: Child) -> None:
            for line in child.lines():
                events.put((slot, child, json.loads(line)))

        def launch(slot: Slot) -> None:
            argv, extra = on_host(slot.host, [sys.executable, "-c", WORKER, sql, str(cycles - slot.done)])
            slot.child = Child(self, argv, child_env(**extra))
            slot.key, slot.names = None, None
            threading.Thread(target=reader, args=(slot, slot.child), daemon=True).start()

        def handle(slot: Slot, child: Child, event: dict[str, Any]) -> None:
            if child is not slot.child or child.pid in slot.killed:
                return  # a line a killed process wrote before it died
            if event["event"] == "start":
                slot.key = event["key"]
                live_keys[event["key"]] = slot
            elif event["event"] == "cycle":
                slot.done += 1
                stats["cycles"] += 1
            elif event["event"] == "done":
                slot.names = set(event["names"])
            elif event["event"] == "lost":
                wrongly_dropped.append(f"worker {slot.index}: {event['error']}")

        def judge_pruned(dropped: list[str]) -> None:
            stats["pruned"] += len(dropped)
            for name in dropped:
                parsed = parse_name(name)
                if parsed is not None and parsed.key in live_keys:
                    wrongly_dropped.append(f"prune dropped {name} of live worker {live_keys[parsed.key].index}")

        began = time.monotonic()
        for slot in slots:
            launch(slot)
        next_kill, next_prune = began + kill_every, began + 0.5
        while not all(slot.finished for slot in slots):
            self.assertLess(time.monotonic() - began, budget, f"the soak (seed {seed}) ran out of time: {[slot.done for slot in slots]} cycles of {cycles}")
            try:
                handle(*events.get(timeout=0.05))
            except queue.Empty:
                pass
            for slot in slots:
                assert slot.child is not None
                if slot.child.proc.poll() is not None:
                    self.fail(f"worker {slot.index} exited {slot.child.proc.returncode} (seed {seed}): {slot.child.stderr()} {wrongly_dropped}")
            now = time.monotonic()
            if now >= next_kill:
                victim = rng.choice(slots)
                assert victim.child is not None
                victim.killed.add(victim.child.pid)
                victim.child.kill()
                live_keys.pop(victim.key, None)  # type: ignore[arg-type]
                stats["kills"] += 1
                launch(victim)
                next_kill = now + kill_every
            if now >= next_prune:
                judge_pruned(prune_databases(SERVER.endpoint))  # host A prunes all the while
                next_prune = now + 0.5
        self.assertEqual(sorted(live_keys), sorted(slot.key for slot in slots if slot.key is not None))

        # The server ends a killed worker's sessions by itself; then one prune.
        live = set().union(*(slot.names or set() for slot in slots))
        self.assertTrue(wait_for(lambda: client_sessions() == sessions_before + 2 * self.WORKERS), "killed workers' sessions lingered")
        judge_pruned(prune_databases(SERVER.endpoint))
        left = clones_of(names_on_server(), fp)
        leaked = sorted(name for name in left if parse_name(name).key not in live_keys)  # type: ignore[union-attr]
        wrongly_dropped += [f"{name} of a live worker is gone" for name in sorted(live - left)]

        # The live workers exit as usual: their databases go, and so do their connections.
        for slot in slots:
            assert slot.child is not None
            self.assertEqual(slot.child.end(), 0, slot.child.stderr())
        self.assertTrue(wait_for(lambda: client_sessions() == sessions_before), f"{client_sessions()} sessions, {sessions_before} at the start")
        seconds = time.monotonic() - began
        print(
            f"soak: {self.WORKERS} workers ({'half in a UTS namespace' if UNSHARE else 'half named'} {HOST_B}), {stats['cycles']} cycles, "
            f"{stats['kills']} kills, {stats['pruned']} pruned, {len(leaked)} leaked, {len(wrongly_dropped)} wrongly dropped, "
            f"connections {sessions_before} -> {client_sessions()}, {seconds:.1f} s, seed {seed}",
            file=sys.stderr, flush=True,
        )
        self.assertEqual(wrongly_dropped, [])
        self.assertEqual(leaked, [])
        self.assertEqual(left, live)
        self.assertEqual(clones_of(names_on_server(), fp), set(), "the workers' own exit left databases")
        self.assertEqual(stats["cycles"], self.WORKERS * cycles)


if __name__ == "__main__":
    unittest.main()
