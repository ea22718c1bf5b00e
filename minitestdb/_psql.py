"""Applying migration files with psql: the host's psql, else the container's own.

psql, not the wire client, runs migrations so that files may use anything psql
accepts (meta-commands, COPY FROM STDIN, variables).  A failure names the file,
the line and the server's message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Mapping, NamedTuple, Sequence

from ._docker import DockerCLI
from ._errors import MiniTestDBError
from ._naming import InputFile
from ._redact import redact

__all__ = ["MigrationError", "PsqlTarget", "apply_files", "parse_psql_error"]

DEFAULT_MIGRATION_TIMEOUT = 600.0

# psql:path/to/file.sql:12: ERROR:  relation "x" does not exist
_PSQL_ERROR = re.compile(r"^psql:(?P<file>.+?):(?P<line>\d+): (?P<message>(?:ERROR|FATAL|PANIC|error):.*)$", re.MULTILINE)


class MigrationError(MiniTestDBError):
    """A migration or seed file failed; ``.file``, ``.line`` and ``.server_message`` say where and why."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None, server_message: str = "", detail: str = "") -> None:
        self.file = file
        self.line = line
        self.server_message = redact(server_message)
        super().__init__(message, detail=detail)


def parse_psql_error(stderr: str) -> tuple[str, int | None, str]:
    """(file, line, message) of psql's first error in *stderr* (pure; tested with exact text)."""
    match = _PSQL_ERROR.search(stderr)
    if match:
        message = re.sub(r"\s+", " ", match.group("message")).strip()
        return match.group("file"), int(match.group("line")), message
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return "", None, (lines[0] if lines else "")


class PsqlTarget(NamedTuple):
    """Where psql connects: host and port from the host, or a container to exec into."""

    host: str
    port: int
    user: str
    password: str
    container_id: str | None = None
    docker: DockerCLI | None = None


def apply_files(target: PsqlTarget, dbname: str, files: Sequence[InputFile], *, timeout: float = DEFAULT_MIGRATION_TIMEOUT, options: str = "") -> None:
    """Run *files* in order against *dbname* with ``ON_ERROR_STOP``; raise MigrationError on the first failure.

    *options* is handed to the server as ``PGOPTIONS`` (the schema mode sets
    ``-c search_path=...`` with it).
    """
    if not files:
        return
    host_psql = shutil.which("psql")
    if host_psql:
        _run_host_psql(host_psql, target, dbname, files, timeout=timeout, options=options)
    elif target.container_id:
        for entry in files:
            _run_container_psql(target, dbname, entry, timeout=timeout, options=options)
    else:
        raise MigrationError("Applying migrations needs psql: install PostgreSQL's client (psql) on this machine.")


def _base_args() -> list[str]:
    return ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password", "--set", "SHOW_CONTEXT=never"]


def _env(target: PsqlTarget, dbname: str, options: str) -> dict[str, str]:
    env = dict(os.environ)
    # The password travels in the environment, never in argv.
    env.update({"PGHOST": target.host, "PGPORT": str(target.port), "PGUSER": target.user, "PGPASSWORD": target.password, "PGDATABASE": dbname})
    env.pop("PGSERVICE", None)
    if options:
        env["PGOPTIONS"] = options
    else:
        env.pop("PGOPTIONS", None)
    return env


def _run_host_psql(psql: str, target: PsqlTarget, dbname: str, files: Sequence[InputFile], *, timeout: float, options: str) -> None:
    argv = [psql, *_base_args()]
    for entry in files:
        argv += ["-f", entry.path]
    _run(argv, _env(target, dbname, options), timeout=timeout, stdin=None, files=files)


def _run_container_psql(target: PsqlTarget, dbname: str, entry: InputFile, *, timeout: float, options: str) -> None:
    docker = target.docker or DockerCLI()
    with open(entry.path, "rb") as fh:
        content = fh.read()
    env_args = ["-e", "PGPASSWORD"] + (["-e", "PGOPTIONS"] if options else [])
    argv = [docker.binary, "exec", "-i", *env_args, str(target.container_id), "psql", *_base_args(), "-U", target.user, "-d", dbname, "-f", "-"]
    _run(argv, _env(target, dbname, options), timeout=timeout, stdin=content, files=[entry], stdin_name=entry.path)


def _run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float,
    stdin: bytes | None,
    files: Sequence[InputFile],
    stdin_name: str = "",
) -> None:
    try:
        proc = subprocess.run(list(argv), input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL, capture_output=True, env=dict(env), timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        names = ", ".join(f.path for f in files)
        raise MigrationError(f"Applying {names} did not finish within {timeout:g} s: look for a lock wait or a very slow statement.") from None
    except OSError as exc:
        raise MigrationError(f"psql could not be run ({exc.strerror}): install PostgreSQL's client or check PATH.") from None
    if proc.returncode == 0:
        return
    stderr = proc.stderr.decode("utf-8", "replace")
    file, line, message = parse_psql_error(stderr)
    if stdin_name and file in ("<stdin>", "-", ""):
        file = stdin_name
    where = f"{file}:{line}" if file and line else (file or "a migration file")
    raise MigrationError(
        f"Migration {where} failed: {message or 'psql exited with code ' + str(proc.returncode)}; fix the file and run again.",
        file=file,
        line=line,
        server_message=message,
        detail=f"psql exit code {proc.returncode}\n{stderr.strip()}",
    )
