"""Which server tests use, decided in one place: ``TEST_DATABASE_URL``, else the shared server, else a private one."""

from __future__ import annotations

from typing import Any

from ._env import read_env
from ._server import Server, start, up

__all__ = ["server_from_env"]


def server_from_env(*, private: bool = False, name: str | None = None, **options: Any) -> Server:
    """The server tests should use.

    ``TEST_DATABASE_URL`` set and non-empty: that server, no container (a
    malformed or unreachable URL is a clear error without the password).
    Otherwise the shared server *name* (default: ``MINITESTDB_SERVER``, else
    ``default``; started, or reused across processes), or with *private* a
    server for this process alone, removed at exit.  *options* go to
    :func:`up` or :func:`start`.
    """
    environment = read_env()
    if environment.test_database_url:
        return Server.from_url(environment.test_database_url)
    if private:
        return start(**options)
    return up(name or environment.server, **options)
