"""minitestdb: a disposable, isolated PostgreSQL for tests, with nothing but the
Python standard library and the docker CLI.

>>> import minitestdb
>>> with minitestdb.start() as server:          # doctest: +SKIP
...     run_tests(server.url)
"""

from __future__ import annotations

from ._container import DEFAULT_IMAGE
from ._diagnostics import Diagnostics
from ._errors import (
    AuthenticationError,
    CleanupError,
    ConfigurationError,
    ContainerExitedError,
    DatabaseConnectionError,
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
from ._psql import MigrationError
from ._server import Server, attach, down, find_servers, server_from_env, start, up
from ._templates import Database, Template

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_IMAGE",
    "AuthenticationError",
    "CleanupError",
    "ConfigurationError",
    "ContainerExitedError",
    "Database",
    "DatabaseConnectionError",
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
    "server_from_env",
    "start",
    "up",
]
