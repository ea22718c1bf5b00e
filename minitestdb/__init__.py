"""minitestdb: a disposable, isolated PostgreSQL for tests, with nothing but the
Python standard library and the docker CLI.

>>> import minitestdb
>>> with minitestdb.start() as server:          # doctest: +SKIP
...     template = server.template("migrations/")
...     with template.clone() as database:
...         run_tests(database.url)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._container import DEFAULT_IMAGE, ContainerInfo
from ._diagnostics import Diagnostics
from ._endpoint import Endpoint
from ._errors import (
    AuthenticationError,
    CleanupError,
    ConfigurationError,
    ContainerExitedError,
    ContainerNameConflictError,
    DatabaseConnectionError,
    DatabaseNotFoundError,
    DockerCommandError,
    DockerDaemonError,
    DockerError,
    DockerNotFoundError,
    DockerPermissionError,
    DockerTimeoutError,
    ImageUnavailableError,
    LockDeadlockError,
    LockTimeoutError,
    MigrationError,
    MiniTestDBError,
    NoSuchContainerError,
    PortInUseError,
    ProtocolError,
    ReadinessTimeoutError,
    ServerError,
)
from ._server import Server, attach, down, find_servers, start, up
from ._server_from_env import server_from_env
from ._watchdog import prune_containers

if TYPE_CHECKING:
    from ._alembic import alembic
    from ._locks import lock
    from ._migrators import Migrator, command, digest_inputs, function
    from ._pgconn import Connection
    from ._templates import Database, Template

__version__ = "0.1.0"

# Measured with `python3 -S`: loading templates, migrators and the wire client eagerly
# makes `import minitestdb` about 36 ms instead of about 25; they load on first use.
_ON_FIRST_USE = {
    "Connection": "_pgconn",
    "Database": "_templates",
    "Migrator": "_migrators",
    "Template": "_templates",
    "alembic": "_alembic",
    "command": "_migrators",
    "digest_inputs": "_migrators",
    "function": "_migrators",
    "lock": "_locks",
}


def __getattr__(name: str) -> Any:
    if name in _ON_FIRST_USE:
        module = __import__(f"{__name__}.{_ON_FIRST_USE[name]}", fromlist=[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DEFAULT_IMAGE",
    "AuthenticationError",
    "CleanupError",
    "ConfigurationError",
    "Connection",
    "ContainerExitedError",
    "ContainerInfo",
    "ContainerNameConflictError",
    "Database",
    "DatabaseConnectionError",
    "DatabaseNotFoundError",
    "Diagnostics",
    "DockerCommandError",
    "DockerDaemonError",
    "DockerError",
    "DockerNotFoundError",
    "DockerPermissionError",
    "DockerTimeoutError",
    "Endpoint",
    "ImageUnavailableError",
    "LockDeadlockError",
    "LockTimeoutError",
    "MigrationError",
    "Migrator",
    "MiniTestDBError",
    "NoSuchContainerError",
    "PortInUseError",
    "ProtocolError",
    "ReadinessTimeoutError",
    "Server",
    "ServerError",
    "Template",
    "__version__",
    "alembic",
    "attach",
    "command",
    "digest_inputs",
    "down",
    "find_servers",
    "function",
    "lock",
    "prune_containers",
    "server_from_env",
    "start",
    "up",
]
