"""A small blocking PostgreSQL client over TCP, built on :mod:`._wire` and :mod:`._scram`.

It does what minitestdb needs and no more: connect with trust, cleartext
password, MD5 or SCRAM-SHA-256 authentication (no TLS, so no channel binding),
run SQL through the simple Query protocol and get text results back::

    endpoint = Endpoint(host="127.0.0.1", port=5432, user="postgres", password="secret", dbname="postgres")
    with connect(endpoint) as conn:
        result = conn.query("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (NULL); SELECT x FROM t")
        result.rows          # [('1',), (None,)]  -- the last statement's rows
        result.tag           # 'SELECT 2'
        [r.tag for r in result]   # ['CREATE TABLE', 'INSERT 0 2', 'SELECT 2']

Every operation (connecting and logging in, each query) has one deadline,
*timeout* seconds from its start, that bounds the whole operation and not just
each read, so a server that trickles bytes cannot hold the caller.  Errors:

* :class:`DatabaseConnectionError`: refused, unreachable, timed out, or lost
  (the message names host and port and says which; never the password);
* :class:`ServerError` / :class:`AuthenticationError`: the server answered with
  an ErrorResponse (``.sqlstate`` tells which).  A query error leaves the
  connection usable; an error while connecting closes it;
* :class:`ProtocolError`: the peer sent something that is not PostgreSQL
  protocol v3;
* :class:`ConfigurationError`: an argument PostgreSQL cannot take.

A timeout, a lost connection or a ProtocolError closes the connection, since
where the byte stream stands is then unknown.  A Connection is not thread-safe.

Incoming messages are dispatched through one handler table per protocol phase
(start-up, simple query, and the asynchronous messages that can come at any
time); each ``_on_*`` handler names the section of the PostgreSQL
documentation's "Frontend/Backend Protocol" chapter that it implements.  A
message that does not belong to the current phase is a ProtocolError.
"""

from __future__ import annotations

import socket
import time
from types import TracebackType
from typing import Callable, Iterator, Mapping, NamedTuple, Optional, Sequence, Tuple, TypeVar, overload

from . import _wire
from ._endpoint import Endpoint
from ._errors import (
    AuthenticationError,
    ConfigurationError,
    DatabaseConnectionError,
    ProtocolError,
    ServerError,
    server_error_from_fields,
)
from ._scram import MECHANISM, MECHANISM_PLUS, ScramClient

__all__ = [
    "MAX_NOTICES",
    "Connection",
    "QueryResult",
    "Row",
    "StatementResult",
    "connect",
]

#: How many NoticeResponses a Connection keeps: the most recent ones.
MAX_NOTICES = 100

_RECV_SIZE = 65536
_CLOSE_TIMEOUT = 1.0

Row = Tuple[Optional[str], ...]
_H = TypeVar("_H")


class StatementResult(NamedTuple):
    """The result of one SQL statement.

    *columns* are the column names (empty for a statement that returns no
    rows), *rows* the rows as tuples of text values with None for NULL, *tag*
    the command tag, e.g. ``"SELECT 2"``, ``"INSERT 0 1"``, ``"CREATE TABLE"``.
    """

    columns: tuple[str, ...]
    rows: list[Row]
    tag: str

    @property
    def rowcount(self) -> int | None:
        """The number the command tag ends with (rows returned or affected), or None."""
        return _wire.rowcount_from_tag(self.tag)


_NO_RESULT = StatementResult((), [], "")


class QueryResult(Sequence[StatementResult]):
    """What :meth:`Connection.query` returns: one StatementResult per statement, in order.

    It is a sequence of StatementResult (``len()``, indexing, iteration), and
    ``.columns``, ``.rows``, ``.tag`` and ``.rowcount`` are those of the last
    statement, which is what a single-statement query wants.  An empty query
    string has no statements: ``.rows`` is ``[]`` and ``.tag`` is ``""``.
    """

    __slots__ = ("_results",)

    def __init__(self, results: Sequence[StatementResult]) -> None:
        self._results = tuple(results)

    @property
    def results(self) -> tuple[StatementResult, ...]:
        return self._results

    @property
    def last(self) -> StatementResult:
        return self._results[-1] if self._results else _NO_RESULT

    @property
    def columns(self) -> tuple[str, ...]:
        return self.last.columns

    @property
    def rows(self) -> list[Row]:
        return self.last.rows

    @property
    def tag(self) -> str:
        return self.last.tag

    @property
    def rowcount(self) -> int | None:
        return self.last.rowcount

    @overload
    def __getitem__(self, index: int) -> StatementResult: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[StatementResult]: ...

    def __getitem__(self, index: int | slice) -> StatementResult | Sequence[StatementResult]:
        return self._results[index]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[StatementResult]:
        return iter(self._results)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, QueryResult):
            return self._results == other._results
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"QueryResult({list(self._results)!r})"


class _QueryState:
    """What a query has received so far."""

    __slots__ = ("columns", "copy_out", "deadline", "done", "error", "results", "rows")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.columns: tuple[str, ...] = ()
        self.rows: list[Row] = []
        self.results: list[StatementResult] = []
        self.error: ServerError | None = None
        self.copy_out = False
        self.done = False


class _StartupState:
    """Where the authentication exchange stands."""

    __slots__ = ("authenticated", "deadline", "password", "ready", "scram")

    def __init__(self, password: str | None, deadline: float) -> None:
        self.password = password
        self.deadline = deadline
        self.scram: ScramClient | None = None
        self.authenticated = False
        self.ready = False


class Connection:
    """One connection to the PostgreSQL server at *endpoint*.  Open it with :func:`connect`.

    The constructor only checks its arguments; :func:`connect` makes the
    connection and logs in.  Public state, updated as messages arrive:

    * ``endpoint``: where it connects to (:class:`~minitestdb._endpoint.Endpoint`);
    * ``parameters``: the server's ParameterStatus reports (``server_version``,
      ``server_encoding``, ``TimeZone``, ...);
    * ``notices``: the last :data:`MAX_NOTICES` NoticeResponses, each a dict of
      field codes (``"S"``, ``"C"``, ``"M"``, ...) to values;
    * ``backend_pid``: the server process ID (BackendKeyData), or None;
    * ``transaction_status``: ``"I"``, ``"T"`` or ``"E"`` from the last
      ReadyForQuery (``""`` before the first).
    """

    def __init__(self, endpoint: Endpoint, *, timeout: float = 5.0, application_name: str = "minitestdb") -> None:
        port = endpoint.port
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigurationError(f"The port {port!r} is not a TCP port number (1-65535).")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigurationError(f"The timeout {timeout!r} must be a positive number of seconds.")
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self._op_timeout = self.timeout
        self.application_name = application_name
        self.parameters: dict[str, str] = {}
        self.notices: list[dict[str, str]] = []
        self.backend_pid: int | None = None
        self.transaction_status = ""
        self._sock: socket.socket | None = None
        self._reader = _wire.MessageReader()
        self._async_handlers: dict[bytes, Callable[[bytes], None]] = {
            _wire.NOTICE_RESPONSE: self._on_notice,
            _wire.PARAMETER_STATUS: self._on_parameter_status,
            _wire.NOTIFICATION_RESPONSE: self._on_notification,
        }
        self._startup_handlers: dict[bytes, Callable[[_StartupState, bytes], None]] = {
            _wire.AUTHENTICATION: self._on_authentication,
            _wire.ERROR_RESPONSE: self._on_startup_error,
            _wire.BACKEND_KEY_DATA: self._on_backend_key_data,
            _wire.NEGOTIATE_PROTOCOL_VERSION: self._on_negotiate_protocol_version,
            _wire.READY_FOR_QUERY: self._on_startup_ready,
        }
        self._query_handlers: dict[bytes, Callable[[_QueryState, bytes], None]] = {
            _wire.ROW_DESCRIPTION: self._on_row_description,
            _wire.DATA_ROW: self._on_data_row,
            _wire.COMMAND_COMPLETE: self._on_command_complete,
            _wire.EMPTY_QUERY_RESPONSE: self._on_empty_query,
            _wire.ERROR_RESPONSE: self._on_query_error,
            _wire.READY_FOR_QUERY: self._on_query_ready,
            _wire.COPY_IN_RESPONSE: self._on_copy_in,
            _wire.COPY_OUT_RESPONSE: self._on_copy_out,
            _wire.COPY_BOTH_RESPONSE: self._on_copy_both,
            _wire.COPY_DATA: self._on_copy_data,
            _wire.COPY_DONE: self._on_copy_done,
        }

    # --- opening and closing -----------------------------------------------------------

    def _open(self, settings: Mapping[str, str] | None) -> None:
        """Connect, send the StartupMessage and run the start-up phase up to ReadyForQuery."""
        ep = self.endpoint
        startup = _wire.startup_message(ep.user, ep.dbname, settings, application_name=self.application_name, options=ep.options)
        self._op_timeout = self.timeout
        deadline = time.monotonic() + self.timeout
        self._sock = self._connect_socket()
        try:
            self._send(startup, deadline, "sending the startup message")
            state = _StartupState(ep.password or None, deadline)
            try:
                while not state.ready:
                    msg_type, payload = self._receive(deadline, "logging in")
                    self._dispatch(self._startup_handlers, msg_type, "while logging in")(state, payload)
            except ProtocolError as exc:
                raise self._wrap_protocol_error(exc) from exc
        except BaseException:
            self._abandon()
            raise

    @staticmethod
    def _dispatch(handlers: dict[bytes, _H], msg_type: bytes, context: str) -> _H:
        """The handler for *msg_type*; ProtocolError if the message does not belong here."""
        handler = handlers.get(msg_type)
        if handler is None:
            name = _wire.MESSAGE_NAMES.get(msg_type, repr(msg_type))
            raise ProtocolError(f"The server sent an unexpected {name} message {context}.")
        return handler

    def _connect_socket(self) -> socket.socket:
        where = self._where
        host = self.endpoint.host
        try:
            sock = socket.create_connection((host, self.endpoint.port), timeout=self.timeout)
        except socket.gaierror as exc:
            raise DatabaseConnectionError(f"Could not connect to PostgreSQL at {where}: cannot resolve the host name {host!r} ({exc.strerror}).") from None
        except socket.timeout:
            raise DatabaseConnectionError(f"Could not connect to PostgreSQL at {where}: timed out after {self.timeout:g} s; is the host reachable?") from None
        except ConnectionRefusedError:
            raise DatabaseConnectionError(f"Could not connect to PostgreSQL at {where}: connection refused; is the server running?") from None
        except OSError as exc:
            raise DatabaseConnectionError(f"Could not connect to PostgreSQL at {where}: {exc.strerror or exc}.") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return sock

    def close(self) -> None:
        """Send Terminate and close the socket.  Safe to call twice; never raises."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            sock.settimeout(min(_CLOSE_TIMEOUT, self.timeout))
            sock.sendall(_wire.terminate_message())
        except OSError:
            pass
        finally:
            sock.close()

    def _abandon(self) -> None:
        """Close the socket without Terminate: the stream is in an unknown state."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    @property
    def closed(self) -> bool:
        return self._sock is None

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        ep = self.endpoint
        return f"<Connection host={ep.host!r} port={ep.port} user={ep.user!r} dbname={ep.dbname!r} {state}>"

    # --- information ---------------------------------------------------------------------

    @property
    def server_version(self) -> str:
        """The server's ``server_version`` report, e.g. ``"15.18 (Debian 15.18-1.pgdg120+1)"``."""
        return self.parameters.get("server_version", "")

    @property
    def server_version_num(self) -> int:
        """``server_version`` as a number, e.g. 150018; ProtocolError if the server did not report it."""
        return _wire.server_version_num(self.server_version)

    @property
    def _where(self) -> str:
        return self.endpoint.address

    # --- queries ---------------------------------------------------------------------------

    def query(self, sql: str, *, timeout: float | None = None) -> QueryResult:
        """Run *sql* (one or more statements separated by ``;``) with the simple Query protocol.

        Returns one StatementResult per statement.  If a statement fails, the
        server skips the rest; the connection reads up to ReadyForQuery and then
        raises that ServerError, staying usable.  *timeout* (default: the
        connection's) bounds the whole query; when it passes, the connection is
        closed and DatabaseConnectionError raised.
        """
        if self._sock is None:
            raise DatabaseConnectionError(f"The connection to PostgreSQL at {self._where} is closed; open a new one.")
        message = _wire.query_message(sql)
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ConfigurationError(f"The timeout {timeout!r} must be a positive number of seconds.")
        self._op_timeout = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + self._op_timeout
        state = _QueryState(deadline)
        try:
            self._send(message, deadline, "sending a query")
            while not state.done:
                msg_type, payload = self._receive(deadline, "waiting for a query result")
                self._dispatch(self._query_handlers, msg_type, "in answer to a query")(state, payload)
        except ProtocolError as exc:
            raise self._wrap_protocol_error(exc) from exc
        except DatabaseConnectionError:
            if state.error is not None:
                # Typically a FATAL error (the server shutting down) followed by the close.
                raise DatabaseConnectionError(f"PostgreSQL at {self._where} closed the connection after an error: {state.error.message}") from state.error
            raise
        except BaseException:
            # Interrupted (KeyboardInterrupt...) mid-response: the rest of it would be read as the next query's.
            self._abandon()
            raise
        if state.error is not None:
            raise state.error
        return QueryResult(state.results)

    # --- I/O -------------------------------------------------------------------------------

    def _send(self, data: bytes, deadline: float, during: str) -> None:
        sock = self._live_socket(during)
        sock.settimeout(self._remaining(deadline, during))
        try:
            sock.sendall(data)
        except socket.timeout:
            self._abandon()
            raise self._timeout_error(during) from None
        except OSError as exc:
            self._abandon()
            raise self._lost_error(during, exc) from None

    def _receive(self, deadline: float, during: str) -> tuple[bytes, bytes]:
        """The next frame that is not an asynchronous message (those are handled here)."""
        while True:
            frame = self._reader.next_message()
            if frame is None:
                self._fill(deadline, during)
                continue
            handler = self._async_handlers.get(frame[0])
            if handler is None:
                return frame
            handler(frame[1])

    def _fill(self, deadline: float, during: str) -> None:
        sock = self._live_socket(during)
        sock.settimeout(self._remaining(deadline, during))
        try:
            data = sock.recv(_RECV_SIZE)
        except socket.timeout:
            self._abandon()
            raise self._timeout_error(during) from None
        except OSError as exc:
            self._abandon()
            raise self._lost_error(during, exc) from None
        if not data:
            self._abandon()
            raise DatabaseConnectionError(f"PostgreSQL at {self._where} closed the connection unexpectedly while {during}; the server may have stopped or crashed.")
        self._reader.feed(data)

    def _live_socket(self, during: str) -> socket.socket:
        if self._sock is None:
            raise DatabaseConnectionError(f"The connection to PostgreSQL at {self._where} was closed while {during}.")
        return self._sock

    def _remaining(self, deadline: float, during: str) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._abandon()
            raise self._timeout_error(during)
        return remaining

    def _timeout_error(self, during: str) -> DatabaseConnectionError:
        return DatabaseConnectionError(f"Timed out after {self._op_timeout:g} s waiting for PostgreSQL at {self._where} while {during}; the connection was closed.")

    def _lost_error(self, during: str, exc: OSError) -> DatabaseConnectionError:
        reason = exc.strerror or type(exc).__name__
        return DatabaseConnectionError(f"Lost the connection to PostgreSQL at {self._where} while {during}: {reason}.")

    def _wrap_protocol_error(self, exc: ProtocolError) -> ProtocolError:
        self._abandon()
        return ProtocolError(
            f"PostgreSQL at {self._where} sent invalid protocol data, so the connection was closed: {exc.message}",
            detail=exc.detail,
        )

    # --- asynchronous messages ---------------------------------------------------------------

    def _on_notice(self, payload: bytes) -> None:
        """Protocol, Message Flow, "Asynchronous Operations": NoticeResponse, kept in ``notices``."""
        self.notices.append(_wire.parse_error_fields(payload))
        del self.notices[:-MAX_NOTICES]

    def _on_parameter_status(self, payload: bytes) -> None:
        """Protocol, Message Flow, "Asynchronous Operations" (and "Start-up"): ParameterStatus, kept in ``parameters``."""
        name, value = _wire.parse_parameter_status(payload)
        self.parameters[name] = value

    def _on_notification(self, payload: bytes) -> None:
        """Protocol, Message Flow, "Asynchronous Operations": NotificationResponse, checked and dropped (minitestdb does not LISTEN)."""
        _wire.parse_notification(payload)

    # --- startup -------------------------------------------------------------------------------

    def _on_authentication(self, state: _StartupState, payload: bytes) -> None:
        """Protocol, Message Flow, "Start-up" (and "SASL Authentication"): the Authentication* requests.

        Answers a cleartext, MD5 or SCRAM-SHA-256 password request, checks the
        server's SCRAM signature, and refuses any other method.
        """
        request = _wire.parse_authentication(payload)
        code = request.code
        if state.authenticated:
            raise ProtocolError("The server asked for authentication again after accepting the login.")
        if code == _wire.AUTH_OK:
            if state.scram is not None and not state.scram.done:
                raise ProtocolError("The server accepted the SCRAM login without proving that it knows the password.")
            state.authenticated = True
        elif code == _wire.AUTH_CLEARTEXT_PASSWORD:
            password = self._need_password(state, "a cleartext password")
            self._send_auth(state, _wire.password_message(password.encode("utf-8")))
        elif code == _wire.AUTH_MD5_PASSWORD:
            password = self._need_password(state, "an MD5 password")
            self._send_auth(state, _wire.password_message(_wire.md5_password(self.endpoint.user, password, request.data)))
        elif code == _wire.AUTH_SASL:
            self._start_sasl(state, request.mechanisms)
        elif code == _wire.AUTH_SASL_CONTINUE:
            if state.scram is None:
                raise ProtocolError("The server continued a SASL exchange that was never started.")
            self._send_auth(state, _wire.sasl_response(state.scram.handle_server_first(request.data)))
        elif code == _wire.AUTH_SASL_FINAL:
            if state.scram is None:
                raise ProtocolError("The server finished a SASL exchange that was never started.")
            state.scram.verify_server_final(request.data)
        else:
            name = _wire.AUTH_METHOD_NAMES.get(code, f"unknown method {code}")
            raise AuthenticationError(f"PostgreSQL at {self._where} asks for {name} authentication, which minitestdb does not support; use trust, password, md5 or scram-sha-256 in pg_hba.conf.")

    def _start_sasl(self, state: _StartupState, mechanisms: Sequence[str]) -> None:
        if state.scram is not None:
            raise ProtocolError("The server started a second SASL exchange.")
        if MECHANISM not in mechanisms:
            offered = ", ".join(mechanisms) or "nothing"
            reason = "it requires SCRAM channel binding (SCRAM-SHA-256-PLUS), which needs TLS" if MECHANISM_PLUS in mechanisms else f"it offers only {offered}"
            raise AuthenticationError(f"Cannot log in to PostgreSQL at {self._where}: {reason}, and minitestdb supports only {MECHANISM} without TLS.")
        password = self._need_password(state, "a SCRAM-SHA-256 password")
        state.scram = ScramClient("", password)
        self._send_auth(state, _wire.sasl_initial_response(MECHANISM, state.scram.client_first()))

    def _need_password(self, state: _StartupState, kind: str) -> str:
        if state.password is None:
            raise AuthenticationError(f"PostgreSQL at {self._where} asks for {kind} for user {self.endpoint.user!r}, but no password was given.")
        return state.password

    def _send_auth(self, state: _StartupState, message: bytes) -> None:
        self._send(message, state.deadline, "logging in")

    def _on_startup_error(self, state: _StartupState, payload: bytes) -> None:
        """Protocol, Message Flow, "Start-up": ErrorResponse, which ends the start-up (the server closes the connection)."""
        raise server_error_from_fields(_wire.parse_error_fields(payload))

    def _on_backend_key_data(self, state: _StartupState, payload: bytes) -> None:
        """Protocol, Message Flow, "Start-up": BackendKeyData; the process ID goes to ``backend_pid`` (minitestdb never cancels)."""
        self.backend_pid = _wire.parse_backend_key_data(payload)

    def _on_negotiate_protocol_version(self, state: _StartupState, payload: bytes) -> None:
        """Protocol, Message Flow, "Start-up": NegotiateProtocolVersion, checked for shape and otherwise ignored.

        minitestdb asks for 3.0 with no protocol options, which every server
        supports; the message can only confirm that.
        """
        _wire.parse_negotiate_protocol_version(payload)

    def _on_startup_ready(self, state: _StartupState, payload: bytes) -> None:
        """Protocol, Message Flow, "Start-up": ReadyForQuery, which ends the start-up phase."""
        if not state.authenticated:
            raise ProtocolError("The server said it was ready before the login was accepted.")
        self.transaction_status = _wire.parse_ready_for_query(payload)
        state.ready = True

    # --- query responses -----------------------------------------------------------------------

    def _on_row_description(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "Simple Query": RowDescription, which starts a statement's rows."""
        state.columns = tuple(column.name for column in _wire.parse_row_description(payload))
        state.rows = []

    def _on_data_row(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "Simple Query": DataRow, one row in text format."""
        row = _wire.parse_data_row(payload)
        if len(row) != len(state.columns):
            raise ProtocolError(f"A DataRow has {len(row)} columns where the RowDescription announced {len(state.columns)}.")
        state.rows.append(row)

    def _on_command_complete(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "Simple Query": CommandComplete, which ends one statement."""
        state.results.append(StatementResult(state.columns, state.rows, _wire.parse_command_complete(payload)))
        state.columns, state.rows, state.copy_out = (), [], False

    def _on_empty_query(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "Simple Query": EmptyQueryResponse, the answer to an empty query string."""
        _wire.parse_empty(payload, _wire.EMPTY_QUERY_RESPONSE)

    def _on_query_error(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "Simple Query": ErrorResponse; the first one is raised after ReadyForQuery."""
        if state.error is None:
            state.error = server_error_from_fields(_wire.parse_error_fields(payload))

    def _on_query_ready(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "Simple Query": ReadyForQuery, which ends the query."""
        self.transaction_status = _wire.parse_ready_for_query(payload)
        state.done = True

    def _on_copy_in(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "COPY Operations": CopyInResponse, answered with CopyFail.

        The server then waits for data; refusing it makes the server answer with
        an ErrorResponse and ReadyForQuery, so the connection stays usable.
        """
        _wire.parse_copy_response(payload, _wire.COPY_IN_RESPONSE)
        self._send(
            _wire.copy_fail_message("COPY FROM STDIN is not supported by minitestdb"),
            state.deadline,
            "refusing COPY FROM STDIN",
        )

    def _on_copy_out(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "COPY Operations": CopyOutResponse; each CopyData becomes a one-column row of text."""
        _wire.parse_copy_response(payload, _wire.COPY_OUT_RESPONSE)
        state.columns, state.rows, state.copy_out = ("copy",), [], True

    def _on_copy_both(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "COPY Operations": CopyBothResponse (replication), which minitestdb refuses."""
        raise ProtocolError("The server started a replication (CopyBoth) stream, which minitestdb does not support.")

    def _on_copy_data(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "COPY Operations": CopyData, one row of COPY TO STDOUT output."""
        if not state.copy_out:
            raise ProtocolError("The server sent CopyData outside a COPY.")
        try:
            state.rows.append((payload.decode("utf-8"),))
        except UnicodeDecodeError:
            raise ProtocolError("The server sent COPY data that is not valid UTF-8.") from None

    def _on_copy_done(self, state: _QueryState, payload: bytes) -> None:
        """Protocol, Message Flow, "COPY Operations": CopyDone, the end of COPY TO STDOUT output."""
        if not state.copy_out:
            raise ProtocolError("The server sent CopyDone outside a COPY.")
        _wire.parse_empty(payload, _wire.COPY_DONE)


def connect(
    endpoint: Endpoint,
    *,
    timeout: float = 5.0,
    application_name: str = "minitestdb",
    settings: Mapping[str, str] | None = None,
) -> Connection:
    """Connect to *endpoint* and log in; return the ready Connection.

    An empty ``endpoint.password`` means none (trust authentication); a
    non-empty ``endpoint.options`` is sent as the ``options`` startup parameter
    (e.g. ``-c search_path=app``).  *settings* are extra run-time parameters
    for the session, e.g. ``{"TimeZone": "UTC"}``.  *timeout* bounds the whole
    of connecting and logging in, and later each query.
    """
    conn = Connection(endpoint, timeout=timeout, application_name=application_name)
    conn._open(settings)
    return conn
