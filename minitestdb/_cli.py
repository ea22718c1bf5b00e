"""The command line: ``python -m minitestdb COMMAND`` (or the ``minitestdb`` script).

Products (a URL, a table, JSON) go to stdout; progress and errors go to stderr.
Exit codes: 0 ok, 1 failure (one line on stderr, the detail with ``--debug``),
2 usage error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Sequence

from ._container import ContainerInfo, shared_container_name
from ._docker import DockerCLI
from ._endpoint import Endpoint
from ._env import read_env
from ._errors import ConfigurationError, DockerError, DockerNotFoundError, DockerPermissionError, MiniTestDBError
from ._naming import parse_name
from ._psql import psql_command, psql_environment
from ._redact import redact
from ._server import DEFAULT_STARTUP_TIMEOUT, Server, attach, down, find_servers, up
from ._server_from_env import server_from_env
from ._watchdog import detach, prune_containers, watch

if TYPE_CHECKING:
    from ._templates import Template

__all__ = ["main"]

PROG = "minitestdb"


def _say(message: str) -> None:
    print(f"{PROG}: {redact(message)}", file=sys.stderr, flush=True)


def _age(created: float | None) -> str:
    if created is None:
        return "?"
    seconds = max(0, int(time.time() - created))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- commands ------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    server = up(args.name, image=args.image, port=args.port, timeout=args.timeout, progress=_say)
    elapsed = time.monotonic() - started
    _say(f"server {server.name!r} is ready at {server.redacted_url} ({elapsed:.2f} s)")
    if args.format == "url":
        print(server.url)
    elif args.format == "env":
        print(f"export TEST_DATABASE_URL={shlex.quote(server.url)}")
    else:
        payload = {
            "name": server.name,
            "url": server.url,
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "dbname": server.dbname,
            "container_id": server.container_id,
            "container_name": server.container_name,
            "image": server.image,
            "diagnostics": server.diagnostics.to_dict(),
        }
        print(json.dumps(payload, indent=2, sort_keys=True))
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    removed = down(args.name, all_servers=args.all)
    if removed:
        _say("removed " + ", ".join(removed))
    else:
        _say(f"no server named {args.name!r} to remove" if not args.all else "no minitestdb containers to remove")
    return 0


def _status_row(info: ContainerInfo) -> dict[str, object]:
    return {
        "name": info.server_name,
        "container": info.name,
        "state": info.status,
        "port": info.port,
        "image": info.image,
        "age": _age(info.created),
        "shared": info.shared,
        "id": info.id[:12],
    }


def cmd_status(args: argparse.Namespace) -> int:
    rows = [_status_row(info) for info in find_servers()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        _say("no minitestdb containers")
        return 0
    headers = ("NAME", "STATE", "PORT", "IMAGE", "AGE", "CONTAINER")
    table = [headers] + [
        (str(r["name"]), str(r["state"]), str(r["port"] or "-"), str(r["image"]), str(r["age"]), str(r["container"])) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def cmd_url(args: argparse.Namespace) -> int:
    print(attach(args.name).url)
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    cli = DockerCLI()
    info = cli.inspect(shared_container_name(args.name))
    if info is None:
        raise MiniTestDBError(f"No minitestdb server named {args.name!r} exists: start it with `python -m minitestdb up --name {args.name}`.")
    print(cli.logs(info.id, tail=args.tail))
    return 0


def cmd_psql(args: argparse.Namespace) -> int:
    server = attach(args.name)
    extra = list(args.psql_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    argv = psql_command(server.endpoint, extra, host_psql=shutil.which("psql"), container=server.container_id, docker_binary=server.docker.binary, tty=tty)
    # Interactive sessions have no timeout: the person at the prompt decides when it ends.
    return subprocess.call(argv, env=psql_environment(server.endpoint, os.environ))


def _template_server(args: argparse.Namespace) -> Server:
    """TEST_DATABASE_URL's server when set, else the shared server (started if needed)."""
    return server_from_env(name=args.server, progress=_say)


def _build(server: Server, args: argparse.Namespace) -> Template:
    """The template of --sql, --migrate (split like a shell would, run without one), --inputs, --key and --seed."""
    migrate = shlex.split(args.migrate) if args.migrate else None
    return server.template(sql=args.sql, seed=args.seed, migrate=migrate, inputs=args.inputs or (), key=args.key, name=args.label, pool=0)


def _template(args: argparse.Namespace) -> Template:
    server = _template_server(args)
    template = _build(server, args)
    _say(f"template {template.name} {'built' if template.built else 'found'} in {template.build_seconds:.2f} s")
    return template


def cmd_template(args: argparse.Namespace) -> int:
    print(_template(args).name)
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    database = _template(args).keep_clone(args.label)
    _say(f"clone {database.name} is kept until `python -m {PROG} drop {database.name}`")
    print(database.url)
    return 0


def cmd_drop(args: argparse.Namespace) -> int:
    given = Endpoint.from_url(args.database) if "://" in args.database else None
    name = given.dbname if given else args.database
    parsed = parse_name(name)
    if parsed is None or parsed.kind not in ("clone", "temp"):
        raise ConfigurationError(f"{name!r} is not a database minitestdb cloned; minitestdb drops only its own clones.")
    # Connect to the server's maintenance database: a database cannot drop itself.
    admin = given.replace(dbname="postgres", options="") if given else _template_server(args).endpoint
    # Templates load on first use, as Server.template() loads them: about 12 ms off every `up`.
    from ._templates import drop_database

    drop_database(admin, name)
    _say(f"dropped {name}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    url = read_env().test_database_url
    removed = [] if url else prune_containers()
    for name in removed:
        print(name)
    # Databases: on TEST_DATABASE_URL's server, else on every running shared server (none is started).
    servers = [Server.from_url(url)] if url else [attach(info.server_name) for info in find_servers(shared_only=True) if info.running]
    dropped = []
    for server in servers:
        dropped += server.prune(keep_templates=args.keep)
    for name in dropped:
        print(name)
    _say(f"pruned {len(removed)} container(s) and {len(dropped)} database(s) and schema(s)")
    return 0


def _raise_terminated(signum: int, frame: object) -> None:
    """SIGTERM arrived: clean up as for Ctrl-C."""
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ConfigurationError("run needs a command after --, e.g. `python -m minitestdb run --sql migrations -- python -m unittest`.")
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    database = None
    try:
        server = server_from_env(name=args.server, progress=_say)
        template = _build(server, args)
        database = template.clone(args.label or "run")
        _say(f"database {database.name} ready; running {' '.join(shlex.quote(part) for part in command)}")
        env = dict(os.environ)
        env.update(database.env)
        env["TEST_DATABASE_URL"] = database.url
        try:
            child = subprocess.Popen(command, env=env)
        except OSError as exc:
            _say(f"cannot run {command[0]!r}: {exc.strerror}")
            return 127
        try:
            return child.wait()
        except KeyboardInterrupt:
            # The child got the same Ctrl-C (same process group); give it time to exit.
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return 130
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if database is not None:
            if args.keep:
                _say(f"kept {database.name}; drop it with `python -m {PROG} drop {database.name}`")
                database.keep()
            else:
                database.drop()


def cmd_watchdog(args: argparse.Namespace) -> int:
    detach()
    return watch(args.pid, args.start_time, args.docker)


def _check(ok: bool, label: str, good: str, problem: str) -> bool:
    status = "ok" if ok else "problem"
    print(f"{status:<8} {label}: {redact(good if ok else problem)}")
    return ok


def cmd_doctor(args: argparse.Namespace) -> int:
    cli = DockerCLI()
    healthy = True
    found = shutil.which(cli.binary)
    healthy &= _check(bool(found), "docker CLI", f"{found}", f"{cli.binary!r} not on PATH -> install Docker, or set MINITESTDB_DOCKER to a docker-compatible CLI")
    engine_ok = False
    permission_ok = True
    if found:
        try:
            version = cli.version()
            server = (version.get("Server") or {}).get("Version", "?")
            client = (version.get("Client") or {}).get("Version", "?")
            engine_ok = True
            _check(True, "Docker engine", f"reachable (client {client}, engine {server})", "")
        except DockerPermissionError as exc:
            permission_ok = False
            _check(False, "Docker engine", "", f"{exc}")
        except (DockerError, DockerNotFoundError) as exc:
            _check(False, "Docker engine", "", f"{exc}")
        healthy &= engine_ok
        healthy &= _check(permission_ok, "socket permission", "the engine's socket accepts this user", "denied -> add your user to the 'docker' group and log in again, or use rootless Docker")
    image = args.image or read_env().image
    if engine_ok:
        present = cli.image_inspect(image) is not None
        healthy &= _check(present, "image", f"{image} is present", f"{image} is not present -> it is pulled on first `up`; offline, pass --image or set MINITESTDB_IMAGE to an image you have")
    else:
        healthy &= _check(False, "image", "", f"{image}: cannot check without a Docker engine")
    psql = shutil.which("psql")
    _check(True, "host psql", psql or "not found (optional: `minitestdb psql` uses the container's own psql)", "")
    has_pg8000 = importlib.util.find_spec("pg8000") is not None
    _check(True, "pg8000", "installed (readiness='pg8000' available)" if has_pg8000 else "not installed (optional: the built-in wire client is used)", "")
    return 0 if healthy else 1


# --- parsing -------------------------------------------------------------------------


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="A disposable PostgreSQL in Docker for tests.")
    parser.add_argument("--debug", action="store_true", help="on failure, print the detail and the traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("up", help="start the named server (or reuse it) and print its URL")
    p.add_argument("--name", default="default", help="server name (default: %(default)s)")
    p.add_argument("--image", help="image to run (default: $MINITESTDB_IMAGE, else the pinned postgres tag)")
    p.add_argument("--port", type=_port, help="fixed host port on 127.0.0.1 (default: a free one)")
    p.add_argument("--format", choices=("url", "env", "json"), default="url", help="what to print (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT, help="seconds to wait for the server (default: %(default)s)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="remove the named server (or all)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--name", default="default", help="server name (default: %(default)s)")
    group.add_argument("--all", action="store_true", help="every container minitestdb made")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="list every minitestdb container")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("url", help="print the URL of a running server")
    p.add_argument("--name", default="default")
    p.set_defaults(func=cmd_url)

    p = sub.add_parser("logs", help="print the server's log")
    p.add_argument("--name", default="default")
    p.add_argument("--tail", type=int, default=100, help="lines (default: %(default)s)")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("psql", help="open psql on a running server (host psql, else the container's)")
    p.add_argument("--name", default="default")
    p.add_argument("psql_args", nargs=argparse.REMAINDER, help="arguments for psql, after --")
    p.set_defaults(func=cmd_psql)

    def template_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
        p.set_defaults(require_inputs=required)
        p.add_argument("--sql", nargs="+", action="extend", metavar="PATH", help="migration files, globs or directories, in order")
        p.add_argument("--migrate", metavar="COMMAND", help="a migrate command run after the sql files, e.g. 'alembic upgrade head' (split like a shell would; run without one)")
        p.add_argument("--inputs", nargs="+", action="extend", metavar="PATH", help="files, globs or directories the --migrate command reads: they decide when to rebuild")
        p.add_argument("--key", metavar="TEXT", help="anything else that decides the schema (a version, an environment value): a new key builds a new template")
        p.add_argument("--seed", nargs="+", action="extend", metavar="PATH", help="seed files applied after the migrations")
        p.add_argument("--label", help="a name for the template / clone (shown in its database name)")
        p.add_argument("--server", default="default", help="shared server to use when TEST_DATABASE_URL is not set (default: %(default)s)")

    p = sub.add_parser("template", help="build (or find) the template for migration files and print its name")
    template_options(p)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("clone", help="print the URL of a fresh clone of the template (kept until `drop`)")
    template_options(p)
    p.set_defaults(func=cmd_clone)

    p = sub.add_parser("run", help="run a command with a fresh database in TEST_DATABASE_URL, DATABASE_URL and PG*")
    template_options(p, required=False)
    p.add_argument("--keep", action="store_true", help="keep the database afterwards (default: drop it)")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("drop", help="drop a clone, by URL or name")
    p.add_argument("database", metavar="URL_OR_NAME")
    p.add_argument("--server", default="default", help="shared server holding it, when a name is given (default: %(default)s)")
    p.set_defaults(func=cmd_drop)

    p = sub.add_parser("prune", help="remove containers, clones and schemas of dead processes, and all but the newest templates")
    p.add_argument("--keep", type=int, default=2, help="templates to keep per name (default: %(default)s)")
    p.set_defaults(func=cmd_prune)

    # Internal: the watchdog that removes a dead owner's private containers.
    p = sub.add_parser("_watchdog")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--start-time")
    p.add_argument("--docker", default=None)
    p.set_defaults(func=cmd_watchdog)

    p = sub.add_parser("doctor", help="check what minitestdb needs, with the fix for each problem")
    p.add_argument("--image", help="image to check (default: $MINITESTDB_IMAGE, else the pinned postgres tag)")
    p.set_defaults(func=cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "require_inputs", False) and not (args.sql or args.migrate):
        parser.error("template and clone need --sql PATH or --migrate COMMAND (or both): what builds the template?")
    try:
        return int(args.func(args))
    except MiniTestDBError as exc:
        _say(str(exc))
        if args.debug:
            print(exc.full_text(), file=sys.stderr)
            raise
        return 1
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
