"""PostgreSQL frontend/backend protocol version 3.0: pure encoding and decoding.

Nothing here touches a socket.  The encoders return the exact bytes of one
frontend message; :class:`MessageReader` cuts a byte stream into
``(type, payload)`` frames; one ``parse_*`` function per backend message turns a
payload into plain values.  Dispatching a frame to the right parser is the
client's job (:mod:`._pgconn` keeps one handler table per protocol phase).
Anything a server could send that is not valid protocol (a length below 4 or
above :data:`MAX_MESSAGE_LENGTH`, an unknown type byte, a payload that ends
early or has bytes left over) raises :class:`~minitestdb._errors.ProtocolError`,
never ``IndexError`` or ``struct.error``.  Values a caller passes that
PostgreSQL cannot accept (a NUL character, an empty identifier) raise
:class:`~minitestdb._errors.ConfigurationError`.

Only the text format and the simple Query sub-protocol are supported: that is
all minitestdb needs to create databases and check that a server answers.
"""

from __future__ import annotations

import hashlib
import re
import struct
from typing import Collection, Iterator, Mapping, NamedTuple

from ._errors import ConfigurationError, ProtocolError

__all__ = [
    "AUTHENTICATION",
    "AUTH_CLEARTEXT_PASSWORD",
    "AUTH_MD5_PASSWORD",
    "AUTH_METHOD_NAMES",
    "AUTH_OK",
    "AUTH_SASL",
    "AUTH_SASL_CONTINUE",
    "AUTH_SASL_FINAL",
    "BACKEND_KEY_DATA",
    "COMMAND_COMPLETE",
    "COPY_BOTH_RESPONSE",
    "COPY_DATA",
    "COPY_DONE",
    "COPY_FAIL",
    "COPY_IN_RESPONSE",
    "COPY_OUT_RESPONSE",
    "DATA_ROW",
    "EMPTY_QUERY_RESPONSE",
    "ERROR_RESPONSE",
    "MAX_FRONTEND_MESSAGE_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "MAX_STARTUP_PACKET_LENGTH",
    "MESSAGE_NAMES",
    "NEGOTIATE_PROTOCOL_VERSION",
    "NOTICE_RESPONSE",
    "NOTIFICATION_RESPONSE",
    "PARAMETER_STATUS",
    "PASSWORD_MESSAGE",
    "PROTOCOL_VERSION",
    "QUERY",
    "READY_FOR_QUERY",
    "ROW_DESCRIPTION",
    "TERMINATE",
    "AuthenticationRequest",
    "ColumnDescription",
    "MessageReader",
    "copy_fail_message",
    "md5_password",
    "parse_authentication",
    "parse_backend_key_data",
    "parse_command_complete",
    "parse_copy_response",
    "parse_data_row",
    "parse_empty",
    "parse_error_fields",
    "parse_negotiate_protocol_version",
    "parse_notification",
    "parse_parameter_status",
    "parse_ready_for_query",
    "parse_row_description",
    "password_message",
    "query_message",
    "quote_ident",
    "quote_literal",
    "rowcount_from_tag",
    "sasl_initial_response",
    "sasl_response",
    "server_version_num",
    "startup_message",
    "terminate_message",
]

# --- constants ------------------------------------------------------------------------

#: Protocol version 3.0 as sent in the StartupMessage: major 3 in the high 16 bits.
PROTOCOL_VERSION = 196608

#: The largest backend message (length field included) minitestdb accepts.  A
#: longer length field is taken as garbage and refused before anything is allocated.
MAX_MESSAGE_LENGTH = 64 * 1024 * 1024

#: The largest frontend message the server accepts (its PQ_LARGE_MESSAGE_LIMIT).
MAX_FRONTEND_MESSAGE_LENGTH = 0x3FFFFFFF

#: The server refuses a StartupMessage longer than this (its MAX_STARTUP_PACKET_LENGTH).
MAX_STARTUP_PACKET_LENGTH = 10000

# Backend message types.
AUTHENTICATION = b"R"
BACKEND_KEY_DATA = b"K"
COMMAND_COMPLETE = b"C"
COPY_BOTH_RESPONSE = b"W"
COPY_IN_RESPONSE = b"G"
COPY_OUT_RESPONSE = b"H"
DATA_ROW = b"D"
EMPTY_QUERY_RESPONSE = b"I"
ERROR_RESPONSE = b"E"
NEGOTIATE_PROTOCOL_VERSION = b"v"
NOTICE_RESPONSE = b"N"
NOTIFICATION_RESPONSE = b"A"
PARAMETER_STATUS = b"S"
READY_FOR_QUERY = b"Z"
ROW_DESCRIPTION = b"T"

# Message types both sides send.
COPY_DATA = b"d"
COPY_DONE = b"c"

# Frontend message types.
COPY_FAIL = b"f"
PASSWORD_MESSAGE = b"p"  # also SASLInitialResponse and SASLResponse
QUERY = b"Q"
TERMINATE = b"X"

# Authentication request codes (the first Int32 of an 'R' message).
AUTH_OK = 0
AUTH_CLEARTEXT_PASSWORD = 3
AUTH_MD5_PASSWORD = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12

#: Names of authentication codes, for error messages about methods minitestdb lacks.
AUTH_METHOD_NAMES: dict[int, str] = {
    AUTH_OK: "ok",
    2: "Kerberos V5",
    AUTH_CLEARTEXT_PASSWORD: "cleartext password",
    AUTH_MD5_PASSWORD: "MD5 password",
    6: "SCM credentials",
    7: "GSSAPI",
    8: "GSSAPI continue",
    9: "SSPI",
    AUTH_SASL: "SASL",
    AUTH_SASL_CONTINUE: "SASL continue",
    AUTH_SASL_FINAL: "SASL final",
}

#: Every backend message type, named as the PostgreSQL documentation spells it
#: (for error messages); :class:`MessageReader` refuses any other type byte.
MESSAGE_NAMES: dict[bytes, str] = {
    AUTHENTICATION: "Authentication",
    BACKEND_KEY_DATA: "BackendKeyData",
    COMMAND_COMPLETE: "CommandComplete",
    COPY_BOTH_RESPONSE: "CopyBothResponse",
    COPY_DATA: "CopyData",
    COPY_DONE: "CopyDone",
    COPY_IN_RESPONSE: "CopyInResponse",
    COPY_OUT_RESPONSE: "CopyOutResponse",
    DATA_ROW: "DataRow",
    EMPTY_QUERY_RESPONSE: "EmptyQueryResponse",
    ERROR_RESPONSE: "ErrorResponse",
    NEGOTIATE_PROTOCOL_VERSION: "NegotiateProtocolVersion",
    NOTICE_RESPONSE: "NoticeResponse",
    NOTIFICATION_RESPONSE: "NotificationResponse",
    PARAMETER_STATUS: "ParameterStatus",
    READY_FOR_QUERY: "ReadyForQuery",
    ROW_DESCRIPTION: "RowDescription",
}

_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")
_UINT32 = struct.Struct("!I")
_INT32_MAX = 0x7FFFFFFF

# --- encoders -------------------------------------------------------------------------


def _cstring(text: str, what: str) -> bytes:
    """*text* as UTF-8 with the terminating NUL; a NUL inside cannot be sent."""
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ConfigurationError(f"The {what} contains a NUL character, which PostgreSQL cannot accept; remove it.")
    return data + b"\0"


def _frame(msg_type: bytes, payload: bytes) -> bytes:
    length = len(payload) + 4
    if length > MAX_FRONTEND_MESSAGE_LENGTH:
        raise ConfigurationError(f"A {length}-byte message is more than PostgreSQL accepts ({MAX_FRONTEND_MESSAGE_LENGTH} bytes); send less at once.")
    return msg_type + _INT32.pack(length) + payload


#: Startup parameters that have their own argument of :func:`startup_message`, and which argument.
_RESERVED_STARTUP_KEYS = {
    "user": "user",
    "database": "dbname",
    "options": "options",
    "application_name": "application_name",
    "client_encoding": "none: it is always UTF8",
}


def startup_message(
    user: str,
    dbname: str,
    settings: Mapping[str, str] | None = None,
    *,
    application_name: str = "minitestdb",
    options: str = "",
) -> bytes:
    """The StartupMessage for protocol 3.0.

    It carries ``user``, ``database`` (*dbname*, left out when empty, so the
    server uses the user name), ``client_encoding=UTF8``, ``application_name``
    (left out when empty), ``options`` (libpq's command-line options such as
    ``-c search_path=app``, left out when empty) and then *settings* in order:
    any run-time parameter, e.g. ``{"TimeZone": "UTC"}``.  *settings* may not
    repeat the five keys above; a NUL anywhere, an empty key or a packet longer
    than the server accepts raise ConfigurationError.
    """
    if not user:
        raise ConfigurationError("A user name is needed to connect to PostgreSQL; pass user=...")
    pairs: list[tuple[str, str]] = [("user", user)]
    if dbname:
        pairs.append(("database", dbname))
    pairs.append(("client_encoding", "UTF8"))
    if application_name:
        pairs.append(("application_name", application_name))
    if options:
        pairs.append(("options", options))
    for key, value in (settings or {}).items():
        if not key:
            raise ConfigurationError("A startup setting has an empty name; give every setting a name.")
        if key in _RESERVED_STARTUP_KEYS:
            raise ConfigurationError(f"The startup setting {key!r} is set by minitestdb itself (its own argument: {_RESERVED_STARTUP_KEYS[key]}); leave it out of the settings.")
        pairs.append((key, value))
    body = b"".join(_cstring(key, "startup setting name") + _cstring(value, f"value of {key}") for key, value in pairs)
    packet = _INT32.pack(PROTOCOL_VERSION) + body + b"\0"
    length = len(packet) + 4
    if length > MAX_STARTUP_PACKET_LENGTH:
        raise ConfigurationError(f"The startup packet would be {length} bytes, more than PostgreSQL accepts ({MAX_STARTUP_PACKET_LENGTH}); shorten the options or settings.")
    return _INT32.pack(length) + packet


def query_message(sql: str) -> bytes:
    """A simple-protocol Query message: ``'Q'``, length, the SQL text, NUL."""
    return _frame(QUERY, _cstring(sql, "SQL text"))


def password_message(password: bytes) -> bytes:
    """A PasswordMessage carrying *password* (cleartext or the md5 form) and its NUL."""
    if b"\0" in password:
        raise ConfigurationError("The password contains a NUL character, which PostgreSQL cannot accept; remove it.")
    return _frame(PASSWORD_MESSAGE, password + b"\0")


def sasl_initial_response(mechanism: str, data: bytes | None) -> bytes:
    """A SASLInitialResponse: the chosen mechanism and the client's first message (None: no data, length -1)."""
    tail = _INT32.pack(-1) if data is None else _INT32.pack(len(data)) + data
    return _frame(PASSWORD_MESSAGE, _cstring(mechanism, "SASL mechanism name") + tail)


def sasl_response(data: bytes) -> bytes:
    """A SASLResponse: the next SASL message of the client, with no terminator."""
    return _frame(PASSWORD_MESSAGE, data)


def copy_fail_message(reason: str) -> bytes:
    """A CopyFail message, which ends a COPY FROM STDIN the client cannot feed."""
    return _frame(COPY_FAIL, _cstring(reason, "CopyFail reason"))


def terminate_message() -> bytes:
    """The Terminate message: ``b"X\\x00\\x00\\x00\\x04"``."""
    return _frame(TERMINATE, b"")


def md5_password(user: str | bytes, password: str | bytes, salt: bytes) -> bytes:
    """The reply to AuthenticationMD5Password: ``b"md5" + md5(md5(password + user).hexdigest() + salt).hexdigest()``.

    Strings are encoded as UTF-8.  The result has no NUL: wrap it with
    :func:`password_message`.
    """
    if len(salt) != 4:
        raise ProtocolError(f"The MD5 salt from the server is {len(salt)} bytes long instead of 4.")
    user_b = user.encode("utf-8") if isinstance(user, str) else user
    password_b = password.encode("utf-8") if isinstance(password, str) else password
    # MD5 is what this (legacy) authentication method is made of; it is not our choice.
    inner = hashlib.md5(password_b + user_b).hexdigest().encode("ascii")  # noqa: S324
    return b"md5" + hashlib.md5(inner + salt).hexdigest().encode("ascii")  # noqa: S324


# --- decoders -------------------------------------------------------------------------------
#
# One parse function per backend message the client reads, named after the message
# (see "Message Formats" in the protocol chapter of the PostgreSQL documentation).
# Each checks the whole payload: a field that runs past the end, a missing NUL or
# bytes after the last field raise ProtocolError.


class AuthenticationRequest(NamedTuple):
    """An Authentication ('R') message: the request *code*, the bytes after it, and for SASL the mechanisms."""

    code: int
    data: bytes
    mechanisms: tuple[str, ...] = ()


class ColumnDescription(NamedTuple):
    """One field of a RowDescription."""

    name: str
    table_oid: int
    column_number: int
    type_oid: int
    type_size: int
    type_modifier: int
    format_code: int


class _Cursor:
    """Reads fields from one message payload; running past its end is a ProtocolError."""

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def fail(self, problem: str) -> ProtocolError:
        return ProtocolError(f"Malformed {self._what} message from the server: {problem}.")

    def _need(self, count: int, field: str) -> int:
        start = self._pos
        if count < 0 or start + count > len(self._data):
            raise self.fail(f"the {field} runs past the end of the {len(self._data)}-byte message")
        self._pos = start + count
        return start

    def int16(self, field: str) -> int:
        start = self._need(2, field)
        value: int = _INT16.unpack_from(self._data, start)[0]
        return value

    def int32(self, field: str) -> int:
        start = self._need(4, field)
        value: int = _INT32.unpack_from(self._data, start)[0]
        return value

    def uint32(self, field: str) -> int:
        start = self._need(4, field)
        value: int = _UINT32.unpack_from(self._data, start)[0]
        return value

    def byte(self, field: str) -> int:
        start = self._need(1, field)
        return self._data[start]

    def take(self, count: int, field: str) -> bytes:
        start = self._need(count, field)
        return self._data[start : start + count]

    def rest(self) -> bytes:
        data = self._data[self._pos :]
        self._pos = len(self._data)
        return data

    def cstring(self, field: str, *, errors: str = "strict") -> str:
        end = self._data.find(b"\0", self._pos)
        if end < 0:
            raise self.fail(f"the {field} has no terminating NUL")
        raw = self._data[self._pos : end]
        self._pos = end + 1
        try:
            return raw.decode("utf-8", errors)
        except UnicodeDecodeError:
            raise self.fail(f"the {field} is not valid UTF-8") from None

    def count(self, field: str) -> int:
        """An Int16 count of the fields that follow; a negative one is malformed."""
        value = self.int16(field)
        if value < 0:
            raise self.fail(f"the {field} is {value}")
        return value

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise self.fail(f"{len(self._data) - self._pos} unexpected bytes follow its last field")


def parse_authentication(payload: bytes) -> AuthenticationRequest:
    """Decode an Authentication ('R') message and check its shape for the codes minitestdb handles.

    For AuthenticationMD5Password *data* is the 4-byte salt; for
    AuthenticationSASL *mechanisms* lists the mechanisms offered; for
    AuthenticationSASLContinue and AuthenticationSASLFinal (and codes minitestdb
    does not handle) *data* is everything after the code.
    """
    cur = _Cursor(payload, "Authentication")
    code = cur.int32("request code")
    if code in (AUTH_OK, AUTH_CLEARTEXT_PASSWORD):
        cur.finish()
        return AuthenticationRequest(code, b"")
    if code == AUTH_MD5_PASSWORD:
        salt = cur.take(4, "MD5 salt")
        cur.finish()
        return AuthenticationRequest(code, salt)
    if code == AUTH_SASL:
        data = payload[4:]
        mechanisms: list[str] = []
        while True:
            name = cur.cstring("SASL mechanism name")
            if not name:
                break
            mechanisms.append(name)
        cur.finish()
        return AuthenticationRequest(code, data, tuple(mechanisms))
    return AuthenticationRequest(code, cur.rest())


def parse_error_fields(payload: bytes) -> dict[str, str]:
    """Decode the fields of an ErrorResponse ('E') or NoticeResponse ('N') into ``{code: value}``.

    Values that are not valid UTF-8 (an early startup error in a server's own
    encoding) are decoded with replacement characters rather than refused, so an
    error can always be shown.
    """
    cur = _Cursor(payload, "ErrorResponse/NoticeResponse")
    fields: dict[str, str] = {}
    while True:
        code = cur.byte("field type")
        if code == 0:
            break
        fields[chr(code)] = cur.cstring(f"field {chr(code)!r}", errors="replace")
    cur.finish()
    return fields


def parse_row_description(payload: bytes) -> tuple[ColumnDescription, ...]:
    """Decode a RowDescription ('T') into one ColumnDescription per column."""
    cur = _Cursor(payload, "RowDescription")
    columns = []
    for index in range(cur.count("column count")):
        field = f"column {index + 1}"
        columns.append(
            ColumnDescription(
                name=cur.cstring(f"{field} name"),
                table_oid=cur.uint32(f"{field} table OID"),
                column_number=cur.int16(f"{field} column number"),
                type_oid=cur.uint32(f"{field} type OID"),
                type_size=cur.int16(f"{field} type size"),
                type_modifier=cur.int32(f"{field} type modifier"),
                format_code=cur.int16(f"{field} format code"),
            )
        )
    cur.finish()
    return tuple(columns)


def parse_data_row(payload: bytes) -> tuple[str | None, ...]:
    """Decode a DataRow ('D') in text format: one ``str`` per column, ``None`` for NULL."""
    cur = _Cursor(payload, "DataRow")
    values: list[str | None] = []
    for index in range(cur.count("column count")):
        length = cur.int32(f"column {index + 1} length")
        if length == -1:
            values.append(None)
            continue
        if length < -1:
            raise cur.fail(f"column {index + 1} has length {length}")
        raw = cur.take(length, f"column {index + 1} value")
        try:
            values.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise cur.fail(f"column {index + 1} is not valid UTF-8") from None
    cur.finish()
    return tuple(values)


def parse_command_complete(payload: bytes) -> str:
    """Decode a CommandComplete ('C') into its command tag, e.g. ``"INSERT 0 3"``."""
    cur = _Cursor(payload, "CommandComplete")
    tag = cur.cstring("command tag")
    cur.finish()
    return tag


def rowcount_from_tag(tag: str) -> int | None:
    """The row count a command tag ends with (``"SELECT 3"`` -> 3, ``"INSERT 0 5"`` -> 5), else None."""
    last = tag.rpartition(" ")[2]
    if " " in tag and last.isascii() and last.isdigit():  # isascii: Python 3.7+
        return int(last)
    return None


def parse_empty(payload: bytes, msg_type: bytes) -> None:
    """Check a message that has no fields (EmptyQueryResponse 'I', CopyDone 'c'): its payload must be empty."""
    if payload:
        name = MESSAGE_NAMES.get(msg_type, repr(msg_type))
        raise ProtocolError(f"Malformed {name} message from the server: it should be empty but has {len(payload)} bytes.")


def parse_parameter_status(payload: bytes) -> tuple[str, str]:
    """Decode a ParameterStatus ('S') into ``(name, value)``."""
    cur = _Cursor(payload, "ParameterStatus")
    name = cur.cstring("parameter name")
    value = cur.cstring("parameter value", errors="replace")
    cur.finish()
    return name, value


def parse_backend_key_data(payload: bytes) -> int:
    """Decode a BackendKeyData ('K') into the backend's process ID, checking the cancel key's length (4 to 256 bytes)."""
    cur = _Cursor(payload, "BackendKeyData")
    pid = cur.int32("process ID")
    key = cur.rest()
    if not 4 <= len(key) <= 256:
        raise cur.fail(f"the secret key is {len(key)} bytes long")
    return pid


def parse_ready_for_query(payload: bytes) -> str:
    """Decode a ReadyForQuery ('Z') into its transaction status, ``"I"``, ``"T"`` or ``"E"``."""
    cur = _Cursor(payload, "ReadyForQuery")
    status = chr(cur.byte("transaction status"))
    cur.finish()
    if status not in ("I", "T", "E"):
        raise cur.fail(f"the transaction status is {status!r}")
    return status


def parse_negotiate_protocol_version(payload: bytes) -> tuple[int, tuple[str, ...]]:
    """Decode a NegotiateProtocolVersion ('v') into ``(newest minor version, unrecognized options)``."""
    cur = _Cursor(payload, "NegotiateProtocolVersion")
    newest = cur.int32("newest minor version")
    count = cur.int32("option count")
    if count < 0:
        raise cur.fail(f"the option count is {count}")
    options = tuple(cur.cstring("option name") for _ in range(count))
    cur.finish()
    return newest, options


def parse_notification(payload: bytes) -> tuple[int, str, str]:
    """Decode a NotificationResponse ('A'), sent for a LISTEN channel, into ``(process ID, channel, payload)``."""
    cur = _Cursor(payload, "NotificationResponse")
    pid = cur.int32("process ID")
    channel = cur.cstring("channel name")
    text = cur.cstring("payload")
    cur.finish()
    return pid, channel, text


def parse_copy_response(payload: bytes, msg_type: bytes) -> tuple[int, tuple[int, ...]]:
    """Decode a CopyInResponse ('G'), CopyOutResponse ('H') or CopyBothResponse ('W') into ``(overall format, column formats)``."""
    cur = _Cursor(payload, MESSAGE_NAMES.get(msg_type, repr(msg_type)))
    overall = cur.byte("overall format")
    formats = tuple(cur.int16("column format") for _ in range(cur.count("column count")))
    cur.finish()
    return overall, formats


# --- framing --------------------------------------------------------------------------------


class MessageReader:
    """Cuts a stream of backend bytes into ``(type, payload)`` frames, with no I/O.

    Feed it whatever arrived with :meth:`feed`, then take complete frames with
    :meth:`next_message` (None until one is complete) or by iterating.  The
    header is checked as soon as it arrives: a type byte not in *known_types*
    (default: the backend types, the keys of :data:`MESSAGE_NAMES`), unless
    *accept_any_type*, or a
    length field below 4 or above *max_length* raises ProtocolError at once, so
    a garbage length never makes anyone wait for, or allocate, a huge body.
    After a ProtocolError the reader stays failed: the stream has no frame
    boundary left to resynchronise on.
    """

    def __init__(
        self,
        *,
        max_length: int = MAX_MESSAGE_LENGTH,
        known_types: Collection[bytes] | None = None,
        accept_any_type: bool = False,
    ) -> None:
        self._buffer = bytearray()
        self._pos = 0
        self._max_length = max_length
        self._known: frozenset[bytes] | None
        if accept_any_type:
            self._known = None
        else:
            self._known = frozenset(MESSAGE_NAMES if known_types is None else known_types)

    def feed(self, data: bytes) -> None:
        """Append bytes received from the server."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """How many received bytes are not yet returned as frames."""
        return len(self._buffer) - self._pos

    def next_message(self) -> tuple[bytes, bytes] | None:
        """The next complete ``(type, payload)`` frame, or None if more bytes are needed."""
        buf, pos = self._buffer, self._pos
        available = len(buf) - pos
        if available < 1:
            return None
        msg_type = bytes(buf[pos : pos + 1])
        if self._known is not None and msg_type not in self._known:
            raise ProtocolError(f"The server sent a message of unknown type {msg_type!r}.")
        if available < 5:
            return None
        length: int = _INT32.unpack_from(buf, pos + 1)[0]
        if length < 4:
            raise ProtocolError(f"The server sent a {msg_type!r} message with an impossible length of {length}.")
        if length > self._max_length:
            raise ProtocolError(f"The server sent a {msg_type!r} message of {length} bytes, more than the {self._max_length}-byte limit.")
        end = pos + 1 + length
        if len(buf) < end:
            return None
        payload = bytes(buf[pos + 5 : end])
        if end == len(buf):
            buf.clear()
            self._pos = 0
        elif end > 65536:
            del buf[:end]
            self._pos = 0
        else:
            self._pos = end
        return msg_type, payload

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        while True:
            frame = self.next_message()
            if frame is None:
                return
            yield frame


# --- quoting and versions ---------------------------------------------------------------------


def quote_ident(name: str) -> str:
    """Quote *name* as a PostgreSQL identifier, doubling each ``"``: ``a"b`` becomes ``"a""b"``.

    Always quotes, so case and special characters are kept.  An empty name or
    one with a NUL character raises ConfigurationError (PostgreSQL accepts
    neither).  PostgreSQL truncates identifiers longer than 63 bytes; that is
    left to the server.
    """
    if not name:
        raise ConfigurationError("An SQL identifier cannot be empty; give a name.")
    if "\0" in name:
        raise ConfigurationError("An SQL identifier cannot contain a NUL character; remove it.")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote *value* as a PostgreSQL string literal: ``it's`` -> ``'it''s'``.

    Single quotes are doubled.  If *value* has a backslash, the ``E'...'`` form
    is used with each backslash doubled too, so the literal means the same
    whatever ``standard_conforming_strings`` is (as PostgreSQL's own
    ``quote_literal()`` does).  A NUL character raises ConfigurationError:
    PostgreSQL text cannot hold one.
    """
    if "\0" in value:
        raise ConfigurationError("An SQL string cannot contain a NUL character; remove it.")
    quoted = value.replace("'", "''")
    if "\\" in quoted:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


_VERSION_RE = re.compile(r"\s*([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?")


def server_version_num(server_version: str) -> int:
    """The ``server_version_num`` form of a ``server_version`` string.

    ``"15.18 (Debian 15.18-1.pgdg120+1)"`` -> 150018, ``"9.6.24"`` -> 90624,
    ``"18beta1"`` and ``"17devel"`` -> 180000 and 170000 (a pre-release counts
    as its major version's .0).  A string that does not start with a number
    raises ProtocolError.
    """
    match = _VERSION_RE.match(server_version)
    if match is None:
        raise ProtocolError(f"Cannot read a version number from the server_version {server_version!r}.")
    major = int(match.group(1))
    minor = int(match.group(2) or 0)
    if major >= 10:
        return major * 10000 + minor
    patch = int(match.group(3) or 0)
    return major * 10000 + minor * 100 + patch
