"""minitestdb: a disposable, isolated PostgreSQL for tests, with nothing but the
Python standard library and the docker CLI.

>>> import minitestdb
>>> with minitestdb.start() as server:          # doctest: +SKIP
...     run_tests(server.url)
"""

from __future__ import annotations

import importlib

from ._container import DEFAULT_IMAGE
from ._diagnostics import Diagnostics
from ._errors import (
    AuthenticationError,
    CleanupError,
    ConfigurationError,
    ContainerExitedError,
    DatabaseConnectionError,
    DatabaseNotFoundError,
    DockerCommandError,
    DockerDaemonError,
    DockerError,
    DockerNotFoundError,
    DockerPermissionError,
    DockerTimeoutError,
    ImageUnavailableError,
    MiniTestDBError,
    PortInUseError,
    ProtocolError,
    ReadinessTimeoutError,
    ServerError,
)
from ._server import Server, attach, down, find_servers, prune_containers, server_from_env, start, up

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._psql import MigrationError
    from ._templates import Database, Template

# Templates, clones and the wire client load on first use, so that `import minitestdb`
# stays cheap for a process that only starts a server.
_LAZY = {"Database": "._templates", "Template": "._templates", "MigrationError": "._psql"}


def __getattr__(name: str) -> Any:  # PEP 562
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_IMAGE",
    "AuthenticationError",
    "CleanupError",
    "ConfigurationError",
    "ContainerExitedError",
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
    "ImageUnavailableError",
    "MigrationError",
    "MiniTestDBError",
    "PortInUseError",
    "ProtocolError",
    "ReadinessTimeoutError",
    "Server",
    "ServerError",
    "Template",
    "__version__",
    "attach",
    "down",
    "find_servers",
    "prune_containers",
    "server_from_env",
    "start",
    "up",
]
