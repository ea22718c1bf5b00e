"""The command line: ``python -m minitestdb COMMAND`` (or the ``minitestdb`` script).

Products (a URL, a table, JSON) go to stdout; progress and errors go to stderr,
progress only when stderr is a terminal.  Exit codes: 0 ok, 1 failure (one line
on stderr, the detail with ``--debug``), 2 usage error, 130 Ctrl-C, 143 SIGTERM.

Which server a command uses: ``--server NAME`` (alias ``--name``) when given;
otherwise the commands that work on a database (``url``, ``psql``,
``template``, ``clone``, ``drop``, ``run``) use ``TEST_DATABASE_URL``'s server
when it is set, and every command falls back to the shared server
``$MINITESTDB_SERVER``, else ``default``.  ``up``, ``down`` and ``logs`` manage
containers, so they never use ``TEST_DATABASE_URL``.
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
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from . import __version__
from ._container import ContainerInfo, shared_container_name
from ._docker import DockerCLI
from ._endpoint import Endpoint
from ._env import Environment, read_env
from ._errors import ConfigurationError, DockerError, DockerNotFoundError, DockerPermissionError, MiniTestDBError
from ._hints import LIBRARY_PROGRAM, ON_TEST_DATABASE_URL, command_hint
from ._psql import psql_command, psql_environment
from ._redact import redact, register_secret
from ._server import DEFAULT_STARTUP_TIMEOUT, Server, attach, down, engine, find_servers, start, up
from ._snapshot import prune_snapshots
from ._watchdog import detach, prune_containers, watch

if TYPE_CHECKING:
    from ._templates import Template

__all__ = ["main"]

PROG = "minitestdb"
#: The exit codes of an interrupted command: Ctrl-C (SIGINT) and SIGTERM, as a shell reports them.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM
#: The order of the variables ``up --format env`` exports (any others follow, sorted).
ENV_ORDER = ("TEST_DATABASE_URL", "DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGOPTIONS")


# --- pure rules ----------------------------------------------------------------------


def invoked_program(argv0: str) -> str:
    """How the user ran us, for hints: ``minitestdb`` for the console script, else ``python -m minitestdb``.

    >>> invoked_program("/home/me/.local/bin/minitestdb"), invoked_program("/src/minitestdb/__main__.py")
    ('minitestdb', 'python -m minitestdb')
    """
    base = os.path.basename(argv0).lower()
    for suffix in (".exe", "-script.py", "-script.pyw"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return PROG if base == PROG else LIBRARY_PROGRAM


def as_invoked(message: str, program: str) -> str:
    """*message* with the library's hints (`` `python -m minitestdb ...` ``) spelled as *program*.

    >>> as_invoked("start it with `python -m minitestdb up --server x`.", "minitestdb")
    'start it with `minitestdb up --server x`.'
    """
    return message.replace(f"`{LIBRARY_PROGRAM} ", f"`{program} ")


def server_choice(explicit: str | None, environment: Environment) -> tuple[str, str]:
    """Which server a database command uses: ``("url", TEST_DATABASE_URL)`` or ``("shared", NAME)``.

    An explicit ``--server`` wins; else ``TEST_DATABASE_URL`` when set; else
    ``MINITESTDB_SERVER``, else ``default``.
    """
    if not explicit and environment.test_database_url:
        return ("url", environment.test_database_url)
    return ("shared", explicit or environment.server)


def drop_command(program: str, database: str, *, server: str | None) -> str:
    """The command that drops *database*: on the shared server *server*, or (None) on ``TEST_DATABASE_URL``'s.

    >>> drop_command("minitestdb", "mtdb_x", server="ci")
    '`minitestdb drop --server ci mtdb_x`'
    >>> drop_command("minitestdb", "mtdb_x", server=None)
    '`minitestdb drop mtdb_x` with the same TEST_DATABASE_URL set'
    """
    hint = command_hint("drop", database, server=server, program=program)
    return hint if server is not None else f"{hint} {ON_TEST_DATABASE_URL}"


def droppable(name: str) -> bool:
    """Whether ``drop`` may drop *name*: minitestdb's clones, half-built templates and kept databases, nothing else."""
    from ._naming import parse_name  # only drop needs it: its regexes cost about 2 ms of every command's start (measured)

    parsed = parse_name(name)
    return (parsed is not None and parsed.kind in ("clone", "temp", "kept")) or name.startswith("mtdb_kept_")


def env_exports(url: str, env: Mapping[str, str]) -> list[str]:
    """``export`` lines (shell-quoted) for ``TEST_DATABASE_URL`` = *url* and *env* (``DATABASE_URL`` and libpq's variables).

    >>> env_exports("postgresql://u:p w@h:1/d", {"PGPORT": "1", "PGHOST": "h"})
    ["export TEST_DATABASE_URL='postgresql://u:p w@h:1/d'", 'export PGHOST=h', 'export PGPORT=1']
    """
    values = dict(env)
    values["TEST_DATABASE_URL"] = url
    keys = [key for key in ENV_ORDER if key in values] + sorted(key for key in values if key not in ENV_ORDER)
    return [f"export {key}={shlex.quote(values[key])}" for key in keys]


def split_psql_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """``minitestdb psql``'s arguments split into its own (``--server``/``--name NAME``, ``--debug``, ``--help``) and psql's, in order.

    Everything after ``--`` is psql's.

    >>> split_psql_args(["--server", "x", "-d", "somedb", "-c", "select 1"])
    (['--server', 'x'], ['-d', 'somedb', '-c', 'select 1'])
    >>> split_psql_args(["-c", "select 1", "--name=ci", "--", "--server", "y"])
    (['--name=ci'], ['-c', 'select 1', '--server', 'y'])
    """
    ours: list[str] = []
    theirs: list[str] = []
    items = list(args)
    index = 0
    while index < len(items):
        item = items[index]
        if item == "--":
            theirs += items[index + 1 :]
            break
        if item in ("--server", "--name"):
            ours += items[index : index + 2]
            index += 2
            continue
        if item.startswith(("--server=", "--name=")) or item in ("--debug", "-h", "--help"):
            ours.append(item)
        else:
            theirs.append(item)
        index += 1
    return ours, theirs


def doctor_line(status: str, label: str, text: str) -> str:
    """One line of ``doctor``: ``ok``, ``problem`` or ``skipped`` (a check that could not run), the check, what was found."""
    return f"{status:<8} {label}: {redact(text)}"


# --- I/O helpers ---------------------------------------------------------------------


def _program() -> str:
    return invoked_program(sys.argv[0] if sys.argv else "")


def _say(message: str) -> None:
    print(f"{PROG}: {redact(as_invoked(message, _program()))}", file=sys.stderr, flush=True)


def _progress() -> Callable[[str], None] | None:
    """The one place the CLI decides about progress: shown on a terminal, nothing when stderr is piped."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return _say if tty else None


def _age(created: float | None) -> str:
    if created is None:
        return "?"
    seconds = max(0, int(time.time() - created))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _attached(args: argparse.Namespace) -> Server:
    """``url`` and ``psql``: TEST_DATABASE_URL's server, else the running shared server (never started)."""
    kind, value = server_choice(args.server, read_env())
    return Server.from_url(value) if kind == "url" else attach(value)


def _database_server(args: argparse.Namespace) -> tuple[Server, str | None]:
    """``template``, ``clone``, ``drop``, ``run``: the server and its shared name (None: TEST_DATABASE_URL's); the shared one is started if needed."""
    kind, value = server_choice(args.server, read_env())
    if kind == "url":
        return Server.from_url(value), None
    return up(value, progress=_progress()), value


def _print_server(server: Server, fmt: str) -> None:
    """``up``'s and ``url``'s product: the URL, ``export`` lines, or JSON."""
    if fmt == "url":
        print(server.url)
    elif fmt == "env":
        print("\n".join(env_exports(server.url, server.env)))
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


# --- commands ------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    if args.password:
        register_secret(args.password)
    name = args.server or read_env().server
    started = time.monotonic()
    server = up(
        name, image=args.image, port=args.port, timeout=args.timeout, password=args.password, settings=dict(args.setting) or None, progress=_progress(),
    )
    elapsed = time.monotonic() - started
    _say(f"server {server.name!r} is ready at {server.redacted_url} ({elapsed:.2f} s)")
    _print_server(server, args.format)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    name = args.server or read_env().server
    removed = down(name, all_servers=args.all)
    if removed:
        _say("removed " + ", ".join(removed))
    else:
        _say(f"no server named {name!r} to remove" if not args.all else "no minitestdb containers to remove")
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
    if args.format == "json":
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
    _print_server(_attached(args), args.format)
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    name = args.server or read_env().server
    cli = DockerCLI()
    info = cli.inspect(shared_container_name(name))
    if info is None:
        raise MiniTestDBError(f"No minitestdb server named {name!r} exists: start it with `{_program()} up --server {name}`.")
    print(cli.logs(info.id, tail=args.tail))
    return 0


def cmd_psql(args: argparse.Namespace) -> int:
    server = _attached(args)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    argv = psql_command(
        server.endpoint, list(args.psql_args), host_psql=shutil.which("psql"), container=server.container_id or None, docker_binary=server.docker.binary, tty=tty,
    )
    # Interactive sessions have no timeout: the person at the prompt decides when it ends.
    child = subprocess.Popen(argv, env=psql_environment(server.endpoint, os.environ))
    # Ctrl-C belongs to psql (it cancels the running query): it must not end us, and with us the session.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def _build(server: Server, args: argparse.Namespace, *, name: str | None) -> Template:
    """The template of --sql, --migrate (split like a shell would, run without one), --inputs, --key and --seed, labelled *name*."""
    migrate = shlex.split(args.migrate) if args.migrate else None
    template = server.template(sql=args.sql, seed=args.seed, migrate=migrate, inputs=args.inputs or (), key=args.key, name=name, pool=0, progress=_progress())
    _say(f"template {template.name} {'built' if template.built else 'found'} in {template.build_seconds:.2f} s")
    return template


def cmd_template(args: argparse.Namespace) -> int:
    server, _ = _database_server(args)
    print(_build(server, args, name=args.label).name)
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    server, shared = _database_server(args)
    # --label names the clone (as clone(name=) does); the template is --template-label's, as `template --label` names it.
    database = _build(server, args, name=args.template_label).keep_clone(args.label)
    _say(f"clone {database.name} is kept until {drop_command(_program(), database.name, server=shared)}")
    print(database.url)
    return 0


def _database_exists(endpoint: Endpoint, name: str) -> bool:
    from ._pgconn import connect  # the wire client loads on first use
    from ._wire import quote_literal

    with connect(endpoint, application_name="minitestdb-drop") as conn:
        sql = f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)}"  # noqa: S608 - a quoted literal
        return bool(conn.query(sql).rows)


def cmd_drop(args: argparse.Namespace) -> int:
    given = Endpoint.from_url(args.database) if "://" in args.database else None
    name = given.dbname if given else args.database
    if not droppable(name):
        raise ConfigurationError(f"{name!r} is not a database minitestdb cloned or kept; minitestdb drops only its own clones and kept databases.")
    # Connect to the server's maintenance database: a database cannot drop itself.
    if given:
        admin, where = given.replace(dbname="postgres", options=""), given.address
    else:
        server, shared = _database_server(args)
        admin, where = server.endpoint, (f"the server {shared!r}" if shared else f"TEST_DATABASE_URL's server ({server.endpoint.address})")
    if not _database_exists(admin, name):
        raise MiniTestDBError(f"There is no database {name} on {where}, so nothing was dropped: check the name and the server (--server, TEST_DATABASE_URL).")
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
    # Start-up snapshots of images that changed or are gone (--snapshots: all), on the engine.
    snapshots = [] if url else prune_snapshots(DockerCLI(), every=args.snapshots)
    for name in snapshots:
        print(name)
    # Databases: on TEST_DATABASE_URL's server, else on every running shared server (none is started).
    servers = [Server.from_url(url)] if url else [attach(info.server_name) for info in find_servers(shared_only=True) if info.running]
    dropped = []
    for server in servers:
        dropped += server.prune(keep_templates=args.keep, kept=args.kept)
    for name in dropped:
        print(name)
    _say(f"pruned {len(removed)} container(s), {len(snapshots)} snapshot(s) and {len(dropped)} database(s) and schema(s)")
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: cleaned up as for Ctrl-C, but the exit code says SIGTERM (143)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def interrupted_exit_code(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM: 128 + the signal, as a shell reports a command killed by it."""
    return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ConfigurationError(f"run needs a command after --, e.g. `{_program()} run --sql migrations -- python -m unittest`.")
    database = None
    private: Server | None = None
    try:
        if args.private:
            # A throwaway server for this command alone: removed below, also on Ctrl-C and SIGTERM.
            private = start(progress=_progress())
            server, shared = private, None
        else:
            server, shared = _database_server(args)
        database = _build(server, args, name=args.template_label).clone(args.label or "run")
        _say(f"database {database.name} ready; running {' '.join(shlex.quote(part) for part in command)}")
        try:
            # Loaded by the template build above already; importing it at the top would cost every command about 7 ms.
            from ._migrators import migration_env

            child = subprocess.Popen(command, env=migration_env(database.endpoint))
        except OSError as exc:
            _say(f"cannot run {command[0]!r}: {exc.strerror}")
            return 127
        try:
            return child.wait()
        except KeyboardInterrupt as exc:
            # Ctrl-C reached the child too (same process group); SIGTERM reached only us.
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            _say("interrupted")
            return interrupted_exit_code(exc)
    except KeyboardInterrupt as exc:
        _say("interrupted")
        return interrupted_exit_code(exc)
    finally:
        try:
            if database is not None and private is None:
                if args.keep:
                    _say(f"kept {database.name}; drop it with {drop_command(_program(), database.name, server=shared)}")
                    database.keep()
                else:
                    database.drop()
        finally:
            if private is not None:
                private.close()


def cmd_watchdog(args: argparse.Namespace) -> int:
    detach()
    return watch(args.pid, args.start_time, args.docker)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Each check is ok, a problem (with its fix), or skipped (with why): never ok for a check that could not run."""
    cli = DockerCLI()
    healthy = True

    def check(status: str, label: str, text: str) -> None:
        nonlocal healthy
        healthy &= status != "problem"
        print(doctor_line(status, label, text))

    found = shutil.which(cli.binary)
    if found:
        check("ok", "docker CLI", found)
    else:
        check("problem", "docker CLI", f"{cli.binary!r} not on PATH -> install Docker, or set MINITESTDB_DOCKER to a docker-compatible CLI")
    engine_ok = False
    permission = ("skipped", "no docker CLI to ask the engine with")
    if found:
        try:
            version = cli.version()
            server = (version.get("Server") or {}).get("Version", "?")
            client = (version.get("Client") or {}).get("Version", "?")
            engine_ok = True
            check("ok", "Docker engine", f"reachable (client {client}, engine {server})")
            permission = ("ok", "the engine's socket accepts this user")
        except DockerPermissionError as exc:
            check("problem", "Docker engine", f"{exc}")
            permission = ("problem", "denied -> add your user to the 'docker' group and log in again, or use rootless Docker")
        except (DockerError, DockerNotFoundError) as exc:
            check("problem", "Docker engine", f"{exc}")
            permission = ("skipped", "the engine did not answer, so its socket could not be tried")
    else:
        check("skipped", "Docker engine", "no docker CLI to ask it with")
    # Local or remote decides where servers are published and dialled: say which, and why.
    try:
        check("ok", "engine kind", engine(cli).describe())
    except ConfigurationError as exc:
        check("problem", "engine kind", str(exc))
    except (DockerError, DockerNotFoundError) as exc:
        check("skipped", "engine kind", f"the docker context could not be read ({exc})")
    check(permission[0], "socket permission", permission[1])
    image = args.image or read_env().image
    if engine_ok:
        if cli.image_inspect(image) is not None:
            check("ok", "image", f"{image} is present")
        else:
            check("problem", "image", f"{image} is not present -> it is pulled on first `up`; offline, pass --image or set MINITESTDB_IMAGE to an image you have")
    else:
        check("skipped", "image", f"{image}: cannot be looked for without a Docker engine")
    psql = shutil.which("psql")
    check("ok", "host psql", psql or "not found (optional: `minitestdb psql` uses the container's own psql)")
    has_pg8000 = importlib.util.find_spec("pg8000") is not None
    check("ok", "pg8000", "installed (readiness='pg8000' available)" if has_pg8000 else "not installed (optional: the built-in wire client is used)")
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


def _setting(value: str) -> tuple[str, str]:
    """``--setting NAME=VALUE``: a server setting, as ``postgres -c`` takes it."""
    key, sep, setting = value.partition("=")
    key = key.strip()
    if not sep or not key or not all(c.isalnum() or c in "_." for c in key) or key[0].isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE (a server setting, e.g. max_connections=200)")
    return key, setting


SERVER_HELP = "the shared server (default: $MINITESTDB_SERVER, else 'default')"
DATABASE_SERVER_HELP = "the shared server (default: TEST_DATABASE_URL's server when set, else $MINITESTDB_SERVER, else 'default')"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="A disposable PostgreSQL in Docker for tests.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="on failure, print the detail and the traceback (also accepted after the command)")
    # --debug after the command too; SUPPRESS: not given there leaves the top-level value alone.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="on failure, print the detail and the traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, help: str, func: Callable[[argparse.Namespace], int], **kwargs: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, parents=[common], **kwargs)  # type: ignore[arg-type]
        p.set_defaults(func=func)
        return p

    def server_option(p: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup, *, alias: bool, help: str = SERVER_HELP) -> None:
        names = ("--server", "--name") if alias else ("--server",)
        p.add_argument(*names, dest="server", metavar="NAME", default=None, help=help + (" (--name: the same)" if alias else ""))

    def format_options(p: argparse.ArgumentParser, choices: tuple[str, ...], default: str) -> None:
        p.add_argument("--format", choices=choices, default=default, help="what to print (default: %(default)s)")
        p.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")

    p = command("up", "start the named server (or reuse it) and print its URL", cmd_up)
    server_option(p, alias=True)
    p.add_argument("--image", help="image to run (default: $MINITESTDB_IMAGE, else the pinned postgres tag)")
    p.add_argument("--port", type=_port, help="fixed host port (on 127.0.0.1; on a remote engine, on its addresses) (default: a free one)")
    p.add_argument("--password", help="the password of a new server (default: a random one); reusing a server with another is an error")
    p.add_argument("--setting", type=_setting, action="append", default=[], metavar="NAME=VALUE",
                   help="a server setting (repeatable), e.g. max_connections=200; reusing a server that runs with another value is an error")
    format_options(p, ("url", "env", "json"), "url")
    p.add_argument("--timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT, help="seconds to wait for the server (default: %(default)s)")

    p = command("down", "remove the named server (or all)", cmd_down)
    group = p.add_mutually_exclusive_group()
    server_option(group, alias=True)
    group.add_argument("--all", action="store_true", help="every container minitestdb made")

    p = command("status", "list every minitestdb container", cmd_status)
    format_options(p, ("table", "json"), "table")

    p = command("url", "print the URL of a running server", cmd_url)
    server_option(p, alias=True, help=DATABASE_SERVER_HELP)
    format_options(p, ("url", "env", "json"), "url")

    p = command("logs", "print the server's log", cmd_logs)
    server_option(p, alias=True)
    p.add_argument("--tail", type=int, default=100, help="lines (default: %(default)s)")

    p = command(
        "psql", "open psql on a running server (host psql, else the container's)", cmd_psql,
        usage=f"{PROG} psql [-h] [--server NAME] [--debug] [[--] PSQL_ARGS ...]",
        description="Every argument but --server/--name, --debug and --help is psql's, before or after --; after --, all are psql's.",
    )
    server_option(p, alias=True, help=DATABASE_SERVER_HELP)
    p.set_defaults(psql_args=[])

    def template_options(p: argparse.ArgumentParser, *, required: bool = True, label: str, template_label: bool = True) -> None:
        p.set_defaults(require_inputs=required)
        p.add_argument("--sql", nargs="+", action="extend", metavar="PATH", help="migration files, globs or directories, in order")
        p.add_argument("--migrate", metavar="COMMAND", help="a migrate command run after the sql files, e.g. 'alembic upgrade head' (split like a shell would; run without one)")
        p.add_argument("--inputs", nargs="+", action="extend", metavar="PATH", help="files, globs or directories the --migrate command reads: they decide when to rebuild")
        p.add_argument("--key", metavar="TEXT", help="anything else that decides the schema (a version, an environment value): a new key builds a new template")
        p.add_argument("--seed", nargs="+", action="extend", metavar="PATH", help="seed files applied after the migrations")
        p.add_argument("--label", help=label)
        if template_label:
            p.add_argument("--template-label", metavar="LABEL", help="the template's label, as `template --label` gives it (default: none)")
        else:
            p.set_defaults(template_label=None)
        server_option(p, alias=False, help=DATABASE_SERVER_HELP)

    p = command("template", "build (or find) the template for migration files and print its name", cmd_template)
    template_options(p, label="a name for the template (shown in its database name)", template_label=False)

    p = command("clone", "print the URL of a fresh clone of the template (kept until `drop`)", cmd_clone)
    template_options(p, label="a name for the clone (shown in its database name); the template stays the same")

    p = command("run", "run a command with a fresh database in TEST_DATABASE_URL, DATABASE_URL and PG*", cmd_run)
    template_options(p, required=False, label="a name for the clone (default: run); the template stays the same")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards (default: drop it)")
    p.add_argument("--private", action="store_true", help="a throwaway server of its own, removed afterwards (even on Ctrl-C or SIGTERM): nothing is left")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")

    p = command("drop", "drop a clone or a kept database, by URL or name", cmd_drop)
    p.add_argument("database", metavar="URL_OR_NAME")
    server_option(p, alias=False, help="the server holding it, when a name is given (default: TEST_DATABASE_URL's server when set, else $MINITESTDB_SERVER, else 'default')")

    p = command("prune", "remove containers of dead processes, clones and schemas whose owner holds no lock on the server, all but the newest templates, and (--kept) kept databases", cmd_prune)
    p.add_argument("--keep", type=int, default=2, help="templates to keep per source: their label, else their inputs' directory (default: %(default)s)")
    p.add_argument("--kept", action="store_true", help="also drop the databases kept from failed tests (mtdb_kept_*)")
    p.add_argument("--snapshots", action="store_true", help="remove every start-up snapshot image not in use (without: only those of changed or removed images)")

    # Internal: the watchdog that removes a dead owner's private containers.
    p = sub.add_parser("_watchdog")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--start-time")
    p.add_argument("--docker", default=None)
    p.set_defaults(func=cmd_watchdog)

    p = command("doctor", "check what minitestdb needs, with the fix for each problem", cmd_doctor)
    p.add_argument("--image", help="image to check (default: $MINITESTDB_IMAGE, else the pinned postgres tag)")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse *argv*; ``psql``'s own arguments go to psql whether or not they follow ``--``, in their order."""
    argv = list(argv)
    # The options before the command take no value, so the command is the first word.
    position = next((i for i, item in enumerate(argv) if not item.startswith("-")), len(argv))
    if position < len(argv) and argv[position] == "psql":
        ours, theirs = split_psql_args(argv[position + 1 :])
        args = parser.parse_args(argv[: position + 1] + ours)
        args.psql_args = theirs
        return args
    args = parser.parse_args(argv)
    if getattr(args, "require_inputs", False) and not (args.sql or args.migrate):
        parser.error("template and clone need --sql PATH or --migrate COMMAND (or both): what builds the template?")
    if getattr(args, "private", False) and (args.server or args.keep):
        parser.error("run --private starts a server of its own and removes it afterwards: it takes neither --server nor --keep")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, sys.argv[1:] if argv is None else argv)
    # SIGTERM cleans up as Ctrl-C does (a half-started container, a clone, a private server), then exits 143.
    handle_term = args.func is not cmd_watchdog
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if handle_term else None
    try:
        return int(args.func(args))
    except MiniTestDBError as exc:
        _say(str(exc))
        if args.debug:
            print(as_invoked(exc.full_text(), _program()), file=sys.stderr)
            raise
        return 1
    except KeyboardInterrupt as exc:
        _say("interrupted")
        return interrupted_exit_code(exc)
    finally:
        if handle_term:
            signal.signal(signal.SIGTERM, previous)
