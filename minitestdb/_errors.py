"""The exception tree: every error minitestdb raises derives from MiniTestDBError.

Each error's ``str()`` is one sentence for a person: what happened and what to
do.  The supporting material (command, exit code, stderr, log tail) is kept in
``.detail`` and shown by ``full_text()``.  Both are redacted when the error is
built, so a password can never leak through an error.  Errors subclass the
builtin a caller would already catch (``FileNotFoundError``, ``ConnectionError``,
``PermissionError``, ``TimeoutError``, ``ValueError``) and pickle cleanly, so
they survive crossing process boundaries in parallel test runners.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ._redact import redact, redact_argv

__all__ = [
    "AuthenticationError",
    "CleanupError",
    "ConfigurationError",
    "ContainerExitedError",
    "ContainerNameConflictError",
    "DatabaseConnectionError",
    "DatabaseNotFoundError",
    "DockerCommandError",
    "DockerDaemonError",
    "DockerError",
    "DockerNotFoundError",
    "DockerPermissionError",
    "DockerTimeoutError",
    "ImageUnavailableError",
    "LockDeadlockError",
    "LockTimeoutError",
    "MigrationError",
    "MiniTestDBError",
    "NoSuchContainerError",
    "PortInUseError",
    "ProtocolError",
    "ReadinessTimeoutError",
    "ServerError",
    "server_error_from_fields",
]


class MiniTestDBError(Exception):
    """Base class of every minitestdb error.

    >>> str(MiniTestDBError("It broke; try again.", detail="log: password=hunter2"))
    'It broke; try again.'
    >>> MiniTestDBError("x", detail="password=hunter2").detail
    'password=***'
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        self.message = redact(message)
        self.detail = redact(detail)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def full_text(self) -> str:
        """The message followed by the (redacted) detail, for ``--debug`` and logs."""
        return f"{self.message}\n{self.detail}" if self.detail else self.message

    def add_detail(self, text: str) -> None:
        """Append (redacted) supporting material, such as a container's log tail."""
        text = redact(text)
        self.detail = f"{self.detail}\n{text}" if self.detail else text

    def _state(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("message", "detail")}

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild through __init__'s keyword form, then restore extra attributes.
        return (_rebuild, (type(self), self.message, self.detail, self._state()))


def _rebuild(cls: type[MiniTestDBError], message: str, detail: str, state: Mapping[str, Any]) -> MiniTestDBError:
    err = cls.__new__(cls)
    MiniTestDBError.__init__(err, message, detail=detail)
    err.__dict__.update(state)
    return err


class ConfigurationError(MiniTestDBError, ValueError):
    """An option, URL or environment variable has a value minitestdb cannot use."""


# --- docker -------------------------------------------------------------------------


class DockerError(MiniTestDBError):
    """A docker CLI call failed; ``.command``, ``.exit_code`` and ``.stderr`` say how."""

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] = (),
        exit_code: int | None = None,
        stderr: str = "",
        detail: str = "",
    ) -> None:
        self.command = redact_argv(command)
        self.exit_code = exit_code
        self.stderr = redact(stderr)
        if not detail:
            parts = []
            if self.command:
                parts.append("command: " + " ".join(self.command))
            if exit_code is not None:
                parts.append(f"exit code: {exit_code}")
            if self.stderr.strip():
                parts.append("stderr: " + self.stderr.strip())
            detail = "\n".join(parts)
        super().__init__(message, detail=detail)


class DockerCommandError(DockerError):
    """A docker command exited non-zero for a reason without a more specific error."""


class ContainerNameConflictError(DockerCommandError):
    """``docker create --name`` found the name taken: another process created it first."""


class NoSuchContainerError(DockerCommandError):
    """The container does not exist (any more)."""


class DockerNotFoundError(DockerError, FileNotFoundError):
    """The docker CLI binary (or MINITESTDB_DOCKER) is not on PATH."""


class DockerDaemonError(DockerError, ConnectionError):
    """The docker CLI cannot reach a Docker engine."""


class DockerPermissionError(DockerError, PermissionError):
    """The docker CLI was refused access to the engine's socket."""


class DockerTimeoutError(DockerError, TimeoutError):
    """A docker command did not finish within its timeout."""


class ImageUnavailableError(DockerError):
    """The image is not present locally and could not be pulled."""


class PortInUseError(DockerError):
    """A fixed host port asked for is already taken."""


# --- the container and the server ------------------------------------------------------


class ContainerExitedError(MiniTestDBError):
    """The container stopped while minitestdb was waiting for it; ``.detail`` has its log tail."""


class ReadinessTimeoutError(MiniTestDBError, TimeoutError):
    """The server did not accept a query before the readiness timeout."""


class LockTimeoutError(MiniTestDBError, TimeoutError):
    """A named lock (``minitestdb.lock``) was not granted within its timeout; the message names its holder."""


class LockDeadlockError(MiniTestDBError):
    """PostgreSQL found that waiting for a named lock would wait for ever (locks taken in opposite orders)."""


class CleanupError(MiniTestDBError):
    """Removing a container (or database) failed; what is left is named in the message."""


# --- migrations ---------------------------------------------------------------------


class MigrationError(MiniTestDBError):
    """Building a template failed: a migration or seed file, or a migrator.

    For a file: ``.file``, ``.line`` and ``.server_message`` say where and why.
    For a migrator: ``.migrator`` names it, ``.exit_code`` is a command's exit
    code (None for an exception), ``.output`` is the tail of what it printed.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        line: int | None = None,
        server_message: str = "",
        migrator: str = "",
        exit_code: int | None = None,
        output: str = "",
        detail: str = "",
    ) -> None:
        self.file = file
        self.line = line
        self.server_message = redact(server_message)
        self.migrator = migrator
        self.exit_code = exit_code
        self.output = redact(output)
        super().__init__(message, detail=detail)


# --- the wire protocol -------------------------------------------------------------


class DatabaseConnectionError(MiniTestDBError, ConnectionError):
    """A connection to the server could not be made, or was lost, or timed out."""


class ProtocolError(MiniTestDBError):
    """The server sent bytes that are not valid PostgreSQL protocol v3 here."""


class ServerError(MiniTestDBError):
    """The server answered with an ErrorResponse.

    ``.sqlstate`` is its SQLSTATE code and ``.fields`` maps the protocol's one-letter
    field codes (``'S'``, ``'C'``, ``'M'``, ``'D'``, ``'H'``, ``'P'``...) to values.
    """

    def __init__(self, message: str, *, sqlstate: str = "", fields: Mapping[str, str] | None = None, detail: str = "") -> None:
        self.sqlstate = sqlstate
        self.fields = {k: redact(v) for k, v in (fields or {}).items()}
        super().__init__(message, detail=detail)


class AuthenticationError(ServerError):
    """The server refused the credentials (SQLSTATE class 28)."""


class DatabaseNotFoundError(ServerError):
    """The database named in the connection does not exist (SQLSTATE 3D000)."""


def server_error_from_fields(fields: Mapping[str, str]) -> ServerError:
    """Build the right ServerError subclass from ErrorResponse fields."""
    sqlstate = fields.get("C", "")
    severity = fields.get("V") or fields.get("S") or "ERROR"
    text = fields.get("M", "unknown error")
    message = f"PostgreSQL {severity} {sqlstate}: {text}"
    extra = []
    if fields.get("D"):
        extra.append("DETAIL: " + fields["D"])
    if fields.get("H"):
        extra.append("HINT: " + fields["H"])
    cls: type[ServerError] = ServerError
    if sqlstate.startswith("28"):
        cls = AuthenticationError
    elif sqlstate == "3D000":
        cls = DatabaseNotFoundError
    return cls(message, sqlstate=sqlstate, fields=fields, detail="\n".join(extra))
