"""How psql is run: the host's psql, else the server container's own (``docker exec``).

One rule for migrations and for ``minitestdb psql``, pure: the caller looks up
the host's psql and runs the command.  The password reaches psql through the
environment (``PGPASSWORD``), never argv, which other users can read.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from ._endpoint import Endpoint
from ._errors import ConfigurationError

__all__ = ["parse_psql_error", "psql_command", "psql_environment"]

# psql:path/to/file.sql:12: ERROR:  relation "x" does not exist
_PSQL_ERROR = re.compile(r"^psql:(?P<file>.+?):(?P<line>\d+): (?P<message>(?:ERROR|FATAL|PANIC|error):.*)$", re.MULTILINE)


def psql_command(
    endpoint: Endpoint,
    args: Sequence[str],
    *,
    host_psql: str | None,
    container: str | None,
    docker_binary: str,
    tty: bool = False,
    program: str = "psql",
) -> list[str]:
    """The argv that runs psql with *args* against *endpoint*: the host's psql if there is one, else the container's.

    Run it with :func:`psql_environment`'s environment.  *program* names another
    client of the same kind (``pg_dump``): *host_psql* is then the host's copy of it.

    >>> e = Endpoint(host="127.0.0.1", port=5433, user="u", password="pw", dbname="d")
    >>> psql_command(e, ["-c", "select 1"], host_psql="/usr/bin/psql", container="c1", docker_binary="docker")
    ['/usr/bin/psql', '-c', 'select 1']
    >>> psql_command(e, ["-f", "-"], host_psql=None, container="c1", docker_binary="docker")
    ['docker', 'exec', '-i', '-e', 'PGPASSWORD', 'c1', 'psql', '-U', 'u', '-d', 'd', '-f', '-']
    >>> psql_command(e, ["--schema-only"], host_psql=None, container="c1", docker_binary="docker", program="pg_dump")[5:]
    ['c1', 'pg_dump', '-U', 'u', '-d', 'd', '--schema-only']
    """
    if host_psql:
        return [host_psql, *args]
    if not container:
        raise ConfigurationError(f"This needs {program} and the server has no container to run it in: install PostgreSQL's client ({program}) on this machine.")
    # Inside the container psql uses the Unix socket: only the password and options cross over.
    passed = ["-e", "PGPASSWORD"] + (["-e", "PGOPTIONS"] if endpoint.options else [])
    return [docker_binary, "exec", "-i", *(["-t"] if tty else []), *passed, container, program, "-U", endpoint.user, "-d", endpoint.dbname, *args]


def psql_environment(endpoint: Endpoint, base: Mapping[str, str]) -> dict[str, str]:
    """*base* (the caller's environment) with libpq's variables pointing at *endpoint*.

    ``PGSERVICE``, ``PGHOSTADDR`` and a stale ``PGOPTIONS`` are removed: they would
    point elsewhere or change the session.  The caller's other settings (``PGSSLMODE``
    for a server that requires SSL) are kept.
    """
    env = {key: value for key, value in base.items() if key not in ("PGSERVICE", "PGHOSTADDR", "PGOPTIONS")}
    env.update(endpoint.env)
    return env


def parse_psql_error(stderr: str) -> tuple[str, int | None, str]:
    """(file, line, message) of psql's first error in *stderr*.

    >>> parse_psql_error('psql:migrations/002.sql:7: ERROR:  relation "x" does not exist\\n')
    ('migrations/002.sql', 7, 'ERROR: relation "x" does not exist')
    """
    match = _PSQL_ERROR.search(stderr)
    if match:
        message = re.sub(r"\s+", " ", match.group("message")).strip()
        return match.group("file"), int(match.group("line")), message
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return "", None, (lines[0] if lines else "")
