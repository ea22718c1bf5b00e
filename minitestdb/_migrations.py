"""Migrations: which files make a template, its fingerprint, and applying the files with psql.

psql, not the wire client, applies files so that they may use anything psql
accepts (meta-commands, ``COPY FROM STDIN``, variables).  A failure names the
file, the line and the server's message.  The fingerprint is pure: it hashes
(kind, relative name, content digest) triples with the server version and role,
so the same inputs give the same template in every process and every run.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from typing import Callable, NamedTuple, Optional, Sequence, Tuple, Union

from ._endpoint import Endpoint
from ._errors import ConfigurationError, MigrationError
from ._psql import parse_psql_error, psql_command, psql_environment

__all__ = [
    "DEFAULT_MIGRATION_TIMEOUT",
    "FORMAT_VERSION",
    "InputFile",
    "PathLike",
    "Progress",
    "SchemaScript",
    "apply_files",
    "digest_files",
    "display_path",
    "dump_schema",
    "fingerprint",
    "pg_dump_args",
    "resolve_inputs",
    "schema_script",
]

#: Bumped when the way templates are built changes, so old templates are not reused.
FORMAT_VERSION = "1"
DEFAULT_MIGRATION_TIMEOUT = 600.0

PathLike = Union[str, "os.PathLike[str]"]
#: Told what a template build is doing, one short line at a time ("applying migrations/002_orders.sql").
Progress = Optional[Callable[[str], None]]
#: (kind, relative name, sha256 of the content): what the fingerprint hashes per file.
Digest = Tuple[str, str, str]
_MAGIC = re.compile(r"[*?[]")
# Quiet, stop at the first error, no psqlrc, never prompt for a password.
_PSQL_ARGS = ("-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password", "--set", "SHOW_CONTEXT=never")
# With a progress callback, psql echoes this and the file's index before each file.
_MARK = b"minitestdb-applying "


class InputFile(NamedTuple):
    """One migration or seed file: where it is, and the name it is hashed under."""

    path: str
    relative: str


# --- which files ------------------------------------------------------------------------


def _expand(item: object) -> list[InputFile]:
    if not isinstance(item, (str, os.PathLike)):
        raise ConfigurationError(f"sql= and seed= take paths, globs and directories of .sql files, not {item!r}: pass a function or a command as migrate= instead.")
    text = os.fspath(item)
    magic = _MAGIC.search(text)
    if magic:
        # The part before the first wildcard is the base the names are relative to.
        base = os.path.dirname(text[: magic.start()]) or "."
        matches = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
        if not matches:
            raise ConfigurationError(f"The pattern {text!r} matches no file: check the path (relative to {os.getcwd()}).")
        return [InputFile(p, os.path.relpath(p, base)) for p in matches]
    if os.path.isdir(text):
        found = sorted(os.path.join(root, name) for root, _dirs, names in os.walk(text) for name in names if name.endswith(".sql"))
        if not found:
            raise ConfigurationError(f"The directory {text!r} holds no .sql file.")
        return [InputFile(p, os.path.relpath(p, text)) for p in found]
    if os.path.isfile(text):
        return [InputFile(text, os.path.basename(text))]
    raise ConfigurationError(f"The migration input {text!r} does not exist (relative to {os.getcwd()}).")


def resolve_inputs(items: PathLike | Sequence[PathLike] | None) -> list[InputFile]:
    """Expand paths, globs and directories into files, in order.

    A directory gives its ``*.sql`` files (recursively) in sorted order, a glob its
    matches in sorted order; a list keeps its own order.  A file named twice is
    applied once, where it first appears.
    """
    if items is None:
        return []
    # A single path, or something that is no list at all (a function by mistake: _expand says so).
    listed: Sequence[object] = items if isinstance(items, (list, tuple)) else [items]
    seen: set[str] = set()
    out: list[InputFile] = []
    for item in listed:
        for entry in _expand(item):
            key = os.path.realpath(entry.path)
            if key not in seen:
                seen.add(key)
                out.append(entry)
    return out


# --- the fingerprint --------------------------------------------------------------------


def digest_files(kind: str, files: Sequence[InputFile]) -> list[Digest]:
    """(kind, relative name, sha256 of the bytes) for each file, in order."""
    out = []
    for entry in files:
        with open(entry.path, "rb") as fh:
            out.append((kind, entry.relative, hashlib.sha256(fh.read()).hexdigest()))
    return out


def fingerprint(digests: Sequence[Digest], *, server_version: int, role: str) -> str:
    """A hex digest over everything that makes a template what it is.

    The format version, the server's version, the role, and for each input (in
    order, migrations then seeds) its kind, relative name and content digest.

    >>> fingerprint([("sql", "001.sql", "0" * 64)], server_version=150004, role="postgres")[:16]
    '3a298d5da71eac65'
    """
    digest = hashlib.sha256()
    digest.update(f"minitestdb-template/{FORMAT_VERSION}\0{server_version}\0{role}\0".encode())
    for kind, relative, content in digests:
        digest.update(f"{kind}\0{relative}\0{content}\0".encode())
    return digest.hexdigest()


# --- applying files ---------------------------------------------------------------------


def display_path(path: str, cwd: str) -> str:
    """*path* as a person reads it in a progress line: relative to *cwd* when under it, else as it is.

    >>> display_path("/p/app/migrations/002_orders.sql", "/p/app"), display_path("/elsewhere/x.sql", "/p/app")
    ('migrations/002_orders.sql', '/elsewhere/x.sql')
    """
    relative = os.path.relpath(path, cwd) if os.path.isabs(path) else path
    return path if relative.startswith(os.pardir) else relative


def apply_files(
    endpoint: Endpoint,
    files: Sequence[InputFile],
    *,
    container: str | None,
    docker_binary: str,
    timeout: float = DEFAULT_MIGRATION_TIMEOUT,
    progress: Progress = None,
) -> None:
    """Run *files* in order against *endpoint* with ``ON_ERROR_STOP``; raise MigrationError on the first failure.

    The endpoint's ``options`` reach the server as ``PGOPTIONS`` (the schema mode
    sets ``-c search_path=...`` with it).  The host's psql runs all files in one
    process (one session); without one, the container's psql runs each file from
    stdin.  *progress* is told ``applying <file>`` as each file starts.
    """
    if not files:
        return
    host_psql = shutil.which("psql")
    if not host_psql and not container:
        raise MigrationError("Applying migrations needs psql: install PostgreSQL's client (psql) on this machine.")
    env = psql_environment(endpoint, os.environ)
    cwd = os.getcwd()

    def command(args: Sequence[str]) -> list[str]:
        return psql_command(endpoint, [*_PSQL_ARGS, *args], host_psql=host_psql, container=container, docker_binary=docker_binary)

    if host_psql and progress is None:
        _run(command([arg for entry in files for arg in ("-f", entry.path)]), env, timeout=timeout, stdin=None, files=files)
        return
    if host_psql and progress is not None:
        tell = progress

        def on_line(line: bytes) -> None:
            if line.startswith(_MARK) and line[len(_MARK) :].strip().isdigit():
                tell(f"applying {display_path(files[int(line[len(_MARK) :])].path, cwd)}")

        # One process still (one session, as without progress): psql runs -c and -f in the order given.
        args = [arg for index, entry in enumerate(files) for arg in ("-c", f"\\echo {_MARK.decode()}{index}", "-f", entry.path)]
        _run(command(args), env, timeout=timeout, stdin=None, files=files, on_line=on_line)
        return
    for entry in files:
        if progress is not None:
            progress(f"applying {display_path(entry.path, cwd)}")
        with open(entry.path, "rb") as fh:
            content = fh.read()
        _run(command(["-f", "-"]), env, timeout=timeout, stdin=content, files=[entry], stdin_name=entry.path)


def _stream(argv: list[str], env: dict[str, str], *, timeout: float, on_line: Callable[[bytes], None]) -> tuple[int, bytes]:
    """Run *argv* handing each line of its stdout to *on_line* as it comes; its exit code and stderr."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env)
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            for line in proc.stdout or ():
                on_line(line)
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if expired.is_set():
            raise subprocess.TimeoutExpired(argv, timeout)
        err.seek(0)
        return proc.returncode, err.read()


def _run(
    argv: list[str], env: dict[str, str], *, timeout: float, stdin: bytes | None, files: Sequence[InputFile], stdin_name: str = "", on_line: Callable[[bytes], None] | None = None
) -> None:
    try:
        if on_line is not None:
            returncode, stderr_bytes = _stream(argv, env, timeout=timeout, on_line=on_line)
        else:
            proc = subprocess.run(argv, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout, check=False)
            returncode, stderr_bytes = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired:
        names = ", ".join(f.path for f in files)
        raise MigrationError(f"Applying {names} did not finish within {timeout:g} s: look for a lock wait or a very slow statement.") from None
    except OSError as exc:
        raise MigrationError(f"psql could not be run ({exc.strerror}): install PostgreSQL's client or check PATH.") from None
    if returncode == 0:
        return
    stderr = stderr_bytes.decode("utf-8", "replace")
    file, line, message = parse_psql_error(stderr)
    if stdin_name and file in ("<stdin>", "-", ""):
        file = stdin_name
    where = f"{file}:{line}" if file and line else (file or "a migration file")
    raise MigrationError(
        f"Migration {where} failed: {message or 'psql exited with code ' + str(returncode)}; fix the file and run again.",
        file=file,
        line=line,
        server_message=message,
        detail=f"psql exit code {returncode}\n{stderr.strip()}",
    )


# --- the schema mode: what the migrations made, captured once, replayed per schema -------------

# pg_dump 13.22/14.19/15.14/16.10/17.6 and later wrap a plain dump in these psql meta-commands.
_RESTRICT = re.compile(r"^\\(?:un)?restrict [A-Za-z0-9]+[ \t]*\r?\n?", re.MULTILINE)
_META = re.compile(r"^\\", re.MULTILINE)


class SchemaScript(NamedTuple):
    """A captured schema as SQL with the schema's name cut out: :meth:`render` puts another name in."""

    parts: tuple[str, ...]

    def render(self, schema: str) -> str:
        """The SQL that creates *schema* with everything the captured one held, as one simple query.

        >>> SchemaScript(("CREATE SCHEMA ", ";\\nCREATE TABLE ", ".t ();")).render("test_b")
        'CREATE SCHEMA test_b;\\nCREATE TABLE test_b.t ();'
        """
        return schema.join(self.parts)


def pg_dump_args(schema: str) -> list[str]:
    """pg_dump's arguments for one schema: its objects, its rows as INSERTs of up to 1000 rows each (the wire client takes no COPY), in UTF-8.

    >>> pg_dump_args("test_a_1")
    ['--no-password', '--format=plain', '--encoding=UTF8', '--rows-per-insert=1000', '--schema="test_a_1"']
    """
    # The name is quoted so that pg_dump takes it as a name, not as a pattern.
    return ["--no-password", "--format=plain", "--encoding=UTF8", "--rows-per-insert=1000", f'--schema="{schema}"']


def schema_script(dump: str, schema: str) -> SchemaScript | None:
    """The replay script for pg_dump's plain dump of *schema*, or None when the dump needs psql.

    *schema* is the dumped schema's name: a generated one (``test_<label>_<owner>_<unique>``)
    that appears nowhere else, so every whole-word occurrence of it (qualified
    names, ``CREATE SCHEMA``, ``setval('s.seq', ...)``, a function's ``SET
    search_path``) is where the new schema's name goes.  The script runs as one
    simple query: one implicit transaction, all or nothing; the dump's ``SET``
    lines last until the closing ``RESET ALL`` (they roll back with a failure).

    >>> dump = "\\\\restrict abc\\nSET x = 0;\\nCREATE SCHEMA test_a;\\nCREATE TABLE test_a.t (i int);\\nINSERT INTO test_a.t VALUES (1);\\n\\\\unrestrict abc\\n"
    >>> schema_script(dump, "test_a").render("test_b")
    'SET x = 0;\\nCREATE SCHEMA test_b;\\nCREATE TABLE test_b.t (i int);\\nINSERT INTO test_b.t VALUES (1);\\n;\\nRESET ALL;\\n'
    >>> schema_script("\\\\connect other\\n", "test_a") is None
    True
    """
    body = _RESTRICT.sub("", dump)
    if _META.search(body):  # any other meta-command: only psql could run it
        return None
    if not re.search(rf"^CREATE SCHEMA {re.escape(schema)};", body, re.MULTILINE):
        body = f"CREATE SCHEMA {schema};\n{body}"
    name = re.compile(rf"(?<![\w$]){re.escape(schema)}(?![\w$])")
    return SchemaScript(tuple(name.split(body.rstrip("\n") + "\n;\nRESET ALL;\n")))


def dump_schema(endpoint: Endpoint, schema: str, *, container: str | None, docker_binary: str, timeout: float = 120.0) -> str:
    """pg_dump's plain dump of *schema* at *endpoint*: the host's pg_dump, else (absent, or too old for the server) the container's.

    MigrationError saying why when neither could dump it.
    """
    env = psql_environment(endpoint.replace(options=""), os.environ)
    args = pg_dump_args(schema)
    host = shutil.which("pg_dump")
    attempts = [psql_command(endpoint, args, host_psql=host, container=None, docker_binary=docker_binary, program="pg_dump")] if host else []
    if container:
        attempts.append(psql_command(endpoint.replace(options=""), args, host_psql=None, container=container, docker_binary=docker_binary, program="pg_dump"))
    if not attempts:
        raise MigrationError("no pg_dump on this machine and the server has no container")
    reasons = []
    for argv in attempts:
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            reasons.append(f"pg_dump did not finish within {timeout:g} s")
            continue
        except OSError as exc:
            reasons.append(f"pg_dump could not be run ({exc.strerror})")
            continue
        if proc.returncode == 0:
            try:
                return proc.stdout.decode("utf-8")
            except UnicodeDecodeError:
                reasons.append("pg_dump's output is not UTF-8")
                continue
        lines = [line.strip() for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        reasons.append(lines[0] if lines else f"pg_dump exited with code {proc.returncode}")
    raise MigrationError("; ".join(reasons))
