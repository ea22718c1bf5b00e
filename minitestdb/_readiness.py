"""Waiting until a server answers a real query.

A TCP connect proves nothing: docker-proxy accepts and then resets while the
server is not listening, and the image's init server listens on a Unix socket
only.  So each attempt is a full startup, authentication and ``select 1``.
"""

from __future__ import annotations

import time
from typing import Callable

from ._diagnostics import Diagnostics
from ._endpoint import Endpoint
from ._errors import ConfigurationError, DatabaseConnectionError, MiniTestDBError, ReadinessTimeoutError, ServerError, server_error_from_fields

__all__ = ["READINESS_METHODS", "RETRY_SQLSTATES", "check_method", "is_retryable", "probe", "wait_until_ready"]

READINESS_METHODS = ("wire", "pg8000")
#: cannot_connect_now (starting up / shutting down) and too_many_connections.
RETRY_SQLSTATES = frozenset({"57P03", "53300"})
# A refused attempt costs well under a millisecond (docker-proxy accepts, then closes): polling
# every 10 ms instead of 25 sees a server about 8 ms sooner on average (cold start phase "readiness seen").
POLL_INTERVAL = 0.01
#: How often, while waiting, the container's state is read with `docker inspect`.
STATE_CHECK_INTERVAL = 0.3


def is_retryable(error: BaseException) -> bool:
    """Whether a failed attempt may succeed later (the server is still coming up).

    Refused, reset, EOF and timeouts are retried, and so are 57P03 and 53300;
    wrong credentials (28P01, 28000), a missing database (3D000) and anything
    else fail at once.
    """
    if isinstance(error, ServerError):
        return error.sqlstate in RETRY_SQLSTATES
    return isinstance(error, DatabaseConnectionError)


def check_method(method: str) -> None:
    """Raise ConfigurationError unless *method* is one of :data:`READINESS_METHODS`."""
    if method not in READINESS_METHODS:
        raise ConfigurationError(f"Unknown readiness method {method!r}: use one of {', '.join(READINESS_METHODS)}.")


def probe(endpoint: Endpoint, *, method: str = "wire", timeout: float = 2.0) -> None:
    """One readiness attempt: connect, authenticate, ``select 1``; raise if it fails or the server is older than 13."""
    check_method(method)
    if method == "pg8000":
        _probe_pg8000(endpoint, timeout=timeout)
        return
    # The wire client (socket, SCRAM) loads with the first probe: about 3 ms off `import minitestdb`.
    from ._pgconn import connect

    with connect(endpoint, timeout=timeout, application_name="minitestdb-readiness") as conn:
        conn.query("select 1")
        _check_version(endpoint, conn.parameters.get("server_version", ""))


def _check_version(endpoint: Endpoint, reported: str) -> None:
    """ConfigurationError (not retried) for a server older than minitestdb supports."""
    if reported:
        # Loaded with the first probe, as the wire client is: not on `import minitestdb`.
        from ._admin_sql import check_supported
        from ._wire import server_version_num

        check_supported(server_version_num(reported), endpoint.address)


def _probe_pg8000(endpoint: Endpoint, *, timeout: float) -> None:
    try:
        # Optional, and only for readiness='pg8000': imported when asked for.
        import pg8000.native  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise ConfigurationError("readiness='pg8000' needs the pg8000 package: pip install pg8000 (or use the default, 'wire').") from None
    e = endpoint
    try:
        conn = pg8000.native.Connection(e.user, host=e.host, port=e.port, database=e.dbname, password=e.password, timeout=timeout, application_name="minitestdb-readiness")
    except pg8000.native.DatabaseError as exc:
        fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {"M": str(exc)}
        raise server_error_from_fields(fields) from None
    except (pg8000.native.InterfaceError, OSError) as exc:
        raise DatabaseConnectionError(f"pg8000 could not connect to {e.address}: {exc}") from None
    try:
        conn.run("select 1")
        _check_version(endpoint, str(conn.parameter_statuses.get("server_version", "")))
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001, S110 - closing a half-dead connection must not mask the result
            pass


def wait_until_ready(
    endpoint: Endpoint,
    *,
    timeout: float,
    diagnostics: Diagnostics,
    check_container: Callable[[], None] | None = None,
    method: str = "wire",
    progress: Callable[[str], None] | None = None,
) -> None:
    """Poll every 10 ms until a query succeeds; raise at once on a fatal answer.

    *check_container* is called about every 0.3 s and raises (ContainerExitedError)
    when the container has stopped, so a crash fails fast, not after *timeout*.
    *progress*, if given, hears ``waiting for PostgreSQL... N s`` once per whole
    second waited (nothing when the server answers within the first second).
    """
    check_method(method)
    diagnostics.readiness_method = method
    began = time.monotonic()
    deadline = began + timeout
    next_state_check = began + STATE_CHECK_INTERVAL
    said = 0
    while True:
        diagnostics.readiness_attempts += 1
        remaining = deadline - time.monotonic()
        try:
            probe(endpoint, method=method, timeout=max(0.2, min(2.0, remaining)))
            return
        except MiniTestDBError as exc:
            diagnostics.note_readiness_error(exc)
            if not is_retryable(exc):
                raise
        now = time.monotonic()
        waited = int(now - began)
        if progress is not None and waited > said:
            said = waited
            progress(f"waiting for PostgreSQL... {waited} s")
        if check_container is not None and now >= next_state_check:
            check_container()
            next_state_check = now + STATE_CHECK_INTERVAL
        if now >= deadline:
            raise ReadinessTimeoutError(
                f"PostgreSQL at {endpoint.address} did not answer a query within {timeout:g} s "
                f"({diagnostics.readiness_attempts} attempts, last: {diagnostics.last_readiness_error}); "
                "raise the timeout or look at the container's log.",
                detail=diagnostics.log_tail,
            )
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - now)))
