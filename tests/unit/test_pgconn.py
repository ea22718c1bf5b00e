"""Unit tests for minitestdb._pgconn against a scripted fake PostgreSQL server on 127.0.0.1.

Each test gives the fake server a script: a function that plays the server's side
of one connection through a :class:`Peer`.  Backend messages are built here with
``struct`` rather than with the module under test, and whatever the server
checks (the exact bytes of a password, a SCRAM proof) is computed here too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import struct
import threading
import time
import unittest
from types import TracebackType
from typing import Callable

from minitestdb._endpoint import Endpoint
from minitestdb._errors import AuthenticationError, ConfigurationError, DatabaseConnectionError, ProtocolError, ServerError
from minitestdb._pgconn import MAX_NOTICES, Connection, QueryResult, StatementResult, connect

PASSWORD = "s3cret-Pa55word"
SERVER_VERSION = "15.18 (Debian 15.18-1.pgdg120+1)"


# --- backend messages, built independently ----------------------------------------------


def frame(msg_type: bytes, payload: bytes = b"") -> bytes:
    return msg_type + struct.pack("!i", len(payload) + 4) + payload


def auth(code: int, data: bytes = b"") -> bytes:
    return frame(b"R", struct.pack("!i", code) + data)


def param(name: str, value: str) -> bytes:
    return frame(b"S", name.encode() + b"\0" + value.encode() + b"\0")


def ready(status: bytes = b"I") -> bytes:
    return frame(b"Z", status)


def key_data(pid: int) -> bytes:
    return frame(b"K", struct.pack("!iI", pid, 0xDEADBEEF))


def row_desc(*names: str) -> bytes:
    body = struct.pack("!h", len(names))
    for name in names:
        body += name.encode() + b"\0" + struct.pack("!IhIhih", 0, 0, 25, -1, -1, 0)
    return frame(b"T", body)


def data_row(*values: str | None) -> bytes:
    body = struct.pack("!h", len(values))
    for value in values:
        if value is None:
            body += struct.pack("!i", -1)
        else:
            raw = value.encode()
            body += struct.pack("!i", len(raw)) + raw
    return frame(b"D", body)


def complete(tag: str) -> bytes:
    return frame(b"C", tag.encode() + b"\0")


def fields_message(msg_type: bytes, **fields: str) -> bytes:
    return frame(msg_type, b"".join(k.encode() + v.encode() + b"\0" for k, v in fields.items()) + b"\0")


def error(code: str, message: str, severity: str = "ERROR") -> bytes:
    return fields_message(b"E", S=severity, V=severity, C=code, M=message)


def notice(message: str) -> bytes:
    return fields_message(b"N", S="NOTICE", V="NOTICE", C="00000", M=message)


def notification(pid: int, channel: str, text: str) -> bytes:
    return frame(b"A", struct.pack("!i", pid) + channel.encode() + b"\0" + text.encode() + b"\0")


# --- the fake server ----------------------------------------------------------------------


class Peer:
    """The server's end of one connection."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.startup: dict[str, str] = {}

    def recv_exact(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise EOFError(f"client closed after {len(data)} of {count} bytes")
            data += chunk
        return data

    def read_startup(self) -> dict[str, str]:
        (length,) = struct.unpack("!i", self.recv_exact(4))
        body = self.recv_exact(length - 4)
        assert struct.unpack("!i", body[:4])[0] == 196608, body[:4]
        assert body.endswith(b"\0\0"), body
        parts = body[4:-2].split(b"\0")
        self.startup = {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts), 2)}
        return self.startup

    def read_message(self) -> tuple[bytes, bytes]:
        header = self.recv_exact(5)
        (length,) = struct.unpack("!i", header[1:])
        return header[:1], self.recv_exact(length - 4)

    def expect(self, msg_type: bytes) -> bytes:
        got, payload = self.read_message()
        assert got == msg_type, (got, payload)
        return payload

    def expect_query(self) -> str:
        payload = self.expect(b"Q")
        assert payload.endswith(b"\0")
        return payload[:-1].decode()

    def expect_terminate(self) -> None:
        assert self.expect(b"X") == b""
        assert self.sock.recv(1) == b"", "data after Terminate"

    def send(self, *messages: bytes) -> None:
        self.sock.sendall(b"".join(messages))

    def finish_login(self, pid: int = 4242) -> None:
        self.send(
            auth(0),
            param("server_version", SERVER_VERSION),
            param("client_encoding", "UTF8"),
            key_data(pid),
            ready(),
        )

    def login_trust(self) -> None:
        self.read_startup()
        self.finish_login()


Script = Callable[[Peer], None]


class FakeServer:
    """Accepts one connection on 127.0.0.1 and runs *script* on it in a thread."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port: int = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.finished = False
        self.conn: socket.socket | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.listener.settimeout(10)
            conn, _ = self.listener.accept()
            self.conn = conn
            with conn:
                conn.settimeout(10)
                self.script(Peer(conn, self.stop))
            self.finished = True
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop.set()
        self.thread.join(3)
        if self.thread.is_alive() and self.conn is not None:
            try:
                self.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.thread.join(5)
        self.listener.close()
        if exc_type is None:
            if self.error is not None:
                raise AssertionError(f"fake server script failed: {self.error!r}") from self.error
            if not self.finished:
                raise AssertionError("fake server script did not finish")


def endpoint(port: int, password: str = PASSWORD, options: str = "") -> Endpoint:
    return Endpoint(host="127.0.0.1", port=port, user="alice", password=password, dbname="appdb", options=options)


def open_conn(server: FakeServer, password: str = PASSWORD, *, timeout: float = 5.0, **kwargs: object) -> Connection:
    return connect(endpoint(server.port, password), timeout=timeout, **kwargs)  # type: ignore[arg-type]


def ignore_os_errors(script: Script) -> Script:
    """For scripts that end when the client gives up on them."""

    def run(peer: Peer) -> None:
        try:
            script(peer)
        except (OSError, EOFError):
            pass

    return run


# --- tests -----------------------------------------------------------------------------------


class TrustAndQueryTests(unittest.TestCase):
    def test_trust_login_and_queries(self) -> None:
        seen: dict[str, object] = {}

        def script(peer: Peer) -> None:
            seen["startup"] = peer.read_startup()
            peer.finish_login(pid=4242)
            seen["sql"] = peer.expect_query()
            peer.send(
                row_desc("a", "b"),
                data_row("1", None),
                data_row("2", "héllo"),
                complete("SELECT 2"),
                complete("CREATE TABLE"),
                notice("table t created"),
                param("TimeZone", "UTC"),
                complete("INSERT 0 1"),
                ready(),
            )
            seen["empty"] = peer.expect_query()
            peer.send(frame(b"I"), ready())
            peer.expect_terminate()

        with FakeServer(script) as server:
            with open_conn(server, "", settings={"TimeZone": "UTC"}) as conn:
                self.assertEqual(conn.backend_pid, 4242)
                self.assertEqual(conn.server_version, SERVER_VERSION)
                self.assertEqual(conn.server_version_num, 150018)
                self.assertEqual(conn.transaction_status, "I")
                result = conn.query("SELECT ...; CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
                self.assertEqual(len(result), 3)
                self.assertEqual(result[0], StatementResult(("a", "b"), [("1", None), ("2", "héllo")], "SELECT 2"))
                self.assertEqual(result[0].rowcount, 2)
                self.assertEqual(result[1], StatementResult((), [], "CREATE TABLE"))
                self.assertIsNone(result[1].rowcount)
                self.assertEqual((result.tag, result.rows, result.columns, result.rowcount), ("INSERT 0 1", [], (), 1))
                self.assertEqual([r.tag for r in result], ["SELECT 2", "CREATE TABLE", "INSERT 0 1"])
                self.assertEqual(conn.notices[-1]["M"], "table t created")
                self.assertEqual(conn.parameters["TimeZone"], "UTC")
                empty = conn.query("")
                self.assertEqual((len(empty), empty.rows, empty.tag), (0, [], ""))
                self.assertEqual(empty, QueryResult([]))
            self.assertTrue(conn.closed)
            conn.close()  # idempotent
        self.assertEqual(
            seen["startup"],
            {"user": "alice", "database": "appdb", "client_encoding": "UTF8", "application_name": "minitestdb", "TimeZone": "UTC"},
        )
        self.assertEqual(seen["sql"], "SELECT ...; CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        self.assertEqual(seen["empty"], "")

    def test_endpoint_options_application_name_and_repr(self) -> None:
        seen: dict[str, object] = {}

        def script(peer: Peer) -> None:
            seen["startup"] = peer.read_startup()
            peer.finish_login()
            peer.expect_terminate()

        with FakeServer(script) as server:
            target = endpoint(server.port, options="-c search_path=app_schema")
            conn = connect(target, application_name="mytests")
            self.assertIs(conn.endpoint, target)
            text = repr(conn)
            for part in ("127.0.0.1", str(server.port), "alice", "dbname='appdb'", "open"):
                self.assertIn(part, text)
            self.assertNotIn(PASSWORD, text)
            conn.close()
            self.assertIn("closed", repr(conn))
        self.assertEqual(
            seen["startup"],
            {"user": "alice", "database": "appdb", "client_encoding": "UTF8", "application_name": "mytests", "options": "-c search_path=app_schema"},
        )

    def test_notifications_are_checked_not_stored(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(notification(77, "chan", "hello"), complete("LISTEN"), notification(78, "chan", ""), ready())
            peer.expect_query()
            peer.send(frame(b"A", struct.pack("!i", 79) + b"chan\0"))
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server:
            conn = open_conn(server)
            self.assertEqual(conn.query("LISTEN chan").tag, "LISTEN")
            self.assertFalse(hasattr(conn, "notifications"))
            with self.assertRaises(ProtocolError) as caught:
                conn.query("SELECT 1")
            self.assertIn("NotificationResponse", str(caught.exception))
            self.assertTrue(conn.closed)

    def test_query_error_then_connection_still_usable(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(complete("SELECT 1"), error("42P01", 'relation "nope" does not exist'), ready())
            peer.expect_query()
            peer.send(row_desc("x"), data_row("7"), complete("SELECT 1"), ready())
            peer.expect_terminate()

        with FakeServer(script) as server, open_conn(server) as conn:
            with self.assertRaises(ServerError) as caught:
                conn.query("SELECT 1; SELECT * FROM nope")
            self.assertNotIsInstance(caught.exception, AuthenticationError)
            self.assertEqual(caught.exception.sqlstate, "42P01")
            self.assertIn('relation "nope" does not exist', str(caught.exception))
            self.assertFalse(conn.closed)
            self.assertEqual(conn.query("SELECT 7").rows, [("7",)])

    def test_server_error_text_is_redacted(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(error("42601", f'syntax error at or near "{PASSWORD}"'), ready())
            peer.expect_terminate()

        with FakeServer(script) as server, open_conn(server) as conn:
            with self.assertRaises(ServerError) as caught:
                conn.query("ALTER ROLE x PASSWORD")
            self.assertNotIn(PASSWORD, str(caught.exception))
            self.assertNotIn(PASSWORD, caught.exception.full_text())
            self.assertNotIn(PASSWORD, repr(caught.exception.fields))

    def test_notices_are_bounded(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(*(notice(f"n{i}") for i in range(MAX_NOTICES + 50)), complete("DO"), ready())
            peer.expect_terminate()

        with FakeServer(script) as server, open_conn(server) as conn:
            self.assertEqual(conn.query("DO $$ ... $$").tag, "DO")
            self.assertEqual(len(conn.notices), MAX_NOTICES)
            self.assertEqual(conn.notices[0]["M"], "n50")
            self.assertEqual(conn.notices[-1]["M"], f"n{MAX_NOTICES + 49}")

    def test_copy_from_stdin_is_refused_and_connection_survives(self) -> None:
        seen: dict[str, bytes] = {}

        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(frame(b"G", b"\x00" + struct.pack("!hh", 1, 0)))
            seen["fail"] = peer.expect(b"f")
            peer.send(error("57014", "COPY from stdin failed"), ready())
            peer.expect_query()
            peer.send(frame(b"H", b"\x00" + struct.pack("!h", 0)), frame(b"d", b"1\tx\n"), frame(b"c"), complete("COPY 1"), ready())
            peer.expect_terminate()

        with FakeServer(script) as server, open_conn(server) as conn:
            with self.assertRaises(ServerError) as caught:
                conn.query("COPY t FROM STDIN")
            self.assertEqual(caught.exception.sqlstate, "57014")
            out = conn.query("COPY t TO STDOUT")
            self.assertEqual((out.rows, out.tag), ([("1\tx\n",)], "COPY 1"))
        self.assertTrue(seen["fail"].endswith(b"\0"))

    def test_configuration_errors(self) -> None:
        cases: dict[str, tuple[Endpoint, dict[str, object]]] = {
            "port 0": (endpoint(0, ""), {}),
            "port too big": (endpoint(65536, ""), {}),
            "timeout 0": (endpoint(5432, ""), {"timeout": 0}),
            "timeout True": (endpoint(5432, ""), {"timeout": True}),
            "user among the settings": (endpoint(5432, ""), {"settings": {"user": "bob"}}),
            "options among the settings": (endpoint(5432, ""), {"settings": {"options": "-c search_path=x"}}),
            "NUL in the options": (endpoint(5432, "", options="-c a=\0"), {}),
        }
        for name, (target, kwargs) in cases.items():
            with self.subTest(name), self.assertRaises(ConfigurationError):
                connect(target, **kwargs)  # type: ignore[arg-type]


class PasswordAuthTests(unittest.TestCase):
    def test_cleartext(self) -> None:
        seen: dict[str, bytes] = {}

        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(3))
            seen["password"] = peer.expect(b"p")
            peer.finish_login()
            peer.expect_terminate()

        with FakeServer(script) as server, open_conn(server) as conn:
            self.assertFalse(conn.closed)
        self.assertEqual(seen["password"], PASSWORD.encode() + b"\0")

    def test_md5(self) -> None:
        seen: dict[str, bytes] = {}
        salt = b"\x9a\x00\xff\x17"

        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(5, salt))
            seen["password"] = peer.expect(b"p")
            peer.finish_login()
            peer.expect_terminate()

        with FakeServer(script) as server, open_conn(server):
            pass
        inner = hashlib.md5((PASSWORD + "alice").encode()).hexdigest().encode()  # noqa: S324
        self.assertEqual(seen["password"], b"md5" + hashlib.md5(inner + salt).hexdigest().encode() + b"\0")  # noqa: S324

    def test_password_required_but_missing(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(3))
            self.assertEqual(peer.sock.recv(1), b"")

        with FakeServer(script) as server:
            with self.assertRaises(AuthenticationError) as caught:
                open_conn(server, "")
            self.assertIn("no password", str(caught.exception))

    def test_auth_failure_28p01(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(3))
            peer.expect(b"p")
            peer.send(error("28P01", 'password authentication failed for user "alice"', "FATAL"))

        with FakeServer(script) as server:
            with self.assertRaises(AuthenticationError) as caught:
                open_conn(server, "wrong-password-123")
            err = caught.exception
            self.assertEqual(err.sqlstate, "28P01")
            self.assertIn("password authentication failed", str(err))
            for text in (str(err), repr(err), err.full_text()):
                self.assertNotIn("wrong-password-123", text)

    def test_startup_error_other_than_auth(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(0), error("3D000", 'database "appdb" does not exist', "FATAL"))

        with FakeServer(script) as server:
            with self.assertRaises(ServerError) as caught:
                open_conn(server)
            self.assertNotIsInstance(caught.exception, AuthenticationError)
            self.assertEqual(caught.exception.sqlstate, "3D000")

    def test_unsupported_auth_method(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(7))

        with FakeServer(ignore_os_errors(script)) as server:
            with self.assertRaises(AuthenticationError) as caught:
                open_conn(server)
            self.assertIn("GSSAPI", str(caught.exception))


class ScramTests(unittest.TestCase):
    SALT = b"0123456789abcdef"
    ITERATIONS = 4096

    def scram_script(self, seen: dict[str, object], *, tamper_signature: bool = False) -> Script:
        salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), self.SALT, self.ITERATIONS)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()

        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))
            initial = peer.expect(b"p")
            mechanism, _, rest = initial.partition(b"\0")
            assert mechanism == b"SCRAM-SHA-256", mechanism
            (length,) = struct.unpack("!i", rest[:4])
            client_first = rest[4:]
            assert len(client_first) == length
            assert client_first.startswith(b"n,,n=,r="), client_first
            client_first_bare = client_first[3:]
            nonce = client_first_bare[len(b"n=,r=") :] + b"SERVERPART"
            server_first = b"r=" + nonce + b",s=" + base64.b64encode(self.SALT) + b",i=" + str(self.ITERATIONS).encode()
            peer.send(auth(11, server_first))
            client_final = peer.expect(b"p")
            without_proof, _, proof_attr = client_final.rpartition(b",")
            assert without_proof == b"c=biws,r=" + nonce, without_proof
            assert proof_attr.startswith(b"p="), proof_attr
            auth_message = client_first_bare + b"," + server_first + b"," + without_proof
            signature = hmac.new(stored_key, auth_message, "sha256").digest()
            recovered = bytes(x ^ y for x, y in zip(base64.b64decode(proof_attr[2:]), signature))
            seen["proof_ok"] = hashlib.sha256(recovered).digest() == stored_key
            server_signature = hmac.new(server_key, auth_message, "sha256").digest()
            if tamper_signature:
                server_signature = bytes(b ^ 1 for b in server_signature)
            peer.send(auth(12, b"v=" + base64.b64encode(server_signature)))
            if tamper_signature:
                assert peer.sock.recv(1) == b""
                return
            peer.finish_login()
            peer.expect_terminate()

        return script

    def test_full_exchange(self) -> None:
        seen: dict[str, object] = {}
        with FakeServer(self.scram_script(seen)) as server, open_conn(server) as conn:
            self.assertEqual(conn.backend_pid, 4242)
        self.assertIs(seen["proof_ok"], True)

    def test_wrong_server_signature(self) -> None:
        seen: dict[str, object] = {}
        with FakeServer(self.scram_script(seen, tamper_signature=True)) as server:
            with self.assertRaises(ProtocolError) as caught:
                open_conn(server)
            self.assertIn("signature", str(caught.exception))
        self.assertIs(seen["proof_ok"], True)

    def test_plus_only_is_refused(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(10, b"SCRAM-SHA-256-PLUS\0\0"))
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server:
            with self.assertRaises(AuthenticationError) as caught:
                open_conn(server)
            self.assertIn("channel binding", str(caught.exception))

    def test_unknown_sasl_mechanism(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(10, b"OAUTHBEARER\0\0"))
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server:
            with self.assertRaises(AuthenticationError) as caught:
                open_conn(server)
            self.assertIn("OAUTHBEARER", str(caught.exception))

    def test_ok_before_scram_finished_is_refused(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(10, b"SCRAM-SHA-256\0\0"))
            peer.expect(b"p")
            peer.finish_login()

        with FakeServer(ignore_os_errors(script)) as server, self.assertRaises(ProtocolError):
            open_conn(server)

    def test_nonce_mismatch(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(auth(10, b"SCRAM-SHA-256\0\0"))
            peer.expect(b"p")
            peer.send(auth(11, b"r=notyours,s=QUJD,i=4096"))

        with FakeServer(ignore_os_errors(script)) as server:
            with self.assertRaises(ProtocolError) as caught:
                open_conn(server)
            self.assertIn("nonce", str(caught.exception))


class BrokenServerTests(unittest.TestCase):
    def assert_connection_error(self, err: BaseException, server: FakeServer, *words: str) -> None:
        self.assertIsInstance(err, DatabaseConnectionError)
        self.assertIsInstance(err, ConnectionError)
        text = str(err)
        self.assertIn(f"127.0.0.1:{server.port}", text)
        for word in words:
            self.assertIn(word, text)
        for shown in (text, repr(err), err.full_text() if isinstance(err, DatabaseConnectionError) else ""):
            self.assertNotIn(PASSWORD, shown)

    def test_server_closes_mid_query(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(row_desc("a"), data_row("1"))

        with FakeServer(script) as server:
            conn = open_conn(server)
            with self.assertRaises(DatabaseConnectionError) as caught:
                conn.query("SELECT 1")
            self.assert_connection_error(caught.exception, server, "closed the connection")
            self.assertTrue(conn.closed)
            with self.assertRaises(DatabaseConnectionError) as again:
                conn.query("SELECT 1")
            self.assert_connection_error(again.exception, server, "closed")
            conn.close()

    def test_truncated_message_then_close(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(b"D\x00\x00\x00\x20\x00\x01")

        with FakeServer(script) as server:
            conn = open_conn(server)
            with self.assertRaises(DatabaseConnectionError) as caught:
                conn.query("SELECT 1")
            self.assert_connection_error(caught.exception, server)
            self.assertTrue(conn.closed)

    def test_fatal_error_then_close(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(error("57P01", "terminating connection due to administrator command", "FATAL"))

        with FakeServer(script) as server:
            conn = open_conn(server)
            with self.assertRaises(DatabaseConnectionError) as caught:
                conn.query("SELECT 1")
            self.assert_connection_error(caught.exception, server, "administrator command")
            self.assertIsInstance(caught.exception.__cause__, ServerError)

    def test_garbage_type_byte(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(b"@\x00\x00\x00\x04")
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server:
            conn = open_conn(server)
            with self.assertRaises(ProtocolError) as caught:
                conn.query("SELECT 1")
            self.assertIn(f"127.0.0.1:{server.port}", str(caught.exception))
            self.assertTrue(conn.closed)

    def test_not_postgresql_at_all(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server, self.assertRaises(ProtocolError):
            open_conn(server)

    def test_wrong_message_in_query_phase(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(auth(0))
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server:
            conn = open_conn(server)
            with self.assertRaises(ProtocolError):
                conn.query("SELECT 1")
            self.assertTrue(conn.closed)

    def test_data_row_not_matching_description(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(row_desc("a", "b"), data_row("1"))
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server, self.assertRaises(ProtocolError):
            open_conn(server).query("SELECT 1, 2")

    def test_oversized_length_fails_fast(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            peer.send(b"D" + struct.pack("!i", 2**31 - 1) + b"\x00" * 100)
            assert peer.sock.recv(1) == b""

        with FakeServer(script) as server:
            conn = open_conn(server, timeout=5.0)
            start = time.monotonic()
            with self.assertRaises(ProtocolError) as caught:
                conn.query("SELECT 1")
            self.assertLess(time.monotonic() - start, 2.0)
            self.assertIn("2147483647", str(caught.exception))

    def test_silent_server_times_out(self) -> None:
        def script(peer: Peer) -> None:
            peer.read_startup()
            peer.stop.wait(5)

        with FakeServer(script) as server:
            start = time.monotonic()
            with self.assertRaises(DatabaseConnectionError) as caught:
                open_conn(server, timeout=0.5)
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, 0.45)
            self.assertLess(elapsed, 0.5 + 1.0)
            self.assert_connection_error(caught.exception, server, "Timed out")

    def test_trickling_server_hits_the_deadline(self) -> None:
        endless = param("x", "y" * 20) * 1000

        def script(peer: Peer) -> None:
            peer.read_startup()
            give_up = time.monotonic() + 5  # so that a client without a deadline fails instead of hanging
            for byte in endless:
                if peer.stop.is_set() or time.monotonic() > give_up:
                    return
                peer.sock.sendall(bytes([byte]))
                time.sleep(0.1)

        with FakeServer(ignore_os_errors(script)) as server:
            start = time.monotonic()
            with self.assertRaises(DatabaseConnectionError) as caught:
                open_conn(server, timeout=1.0)
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, 0.95)
            self.assertLess(elapsed, 1.0 + 1.0)
            self.assert_connection_error(caught.exception, server, "Timed out")

    def test_query_deadline_covers_trickle(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()
            peer.expect_query()
            give_up = time.monotonic() + 5
            for byte in notice("x" * 10) * 1000:
                if peer.stop.is_set() or time.monotonic() > give_up:
                    return
                peer.sock.sendall(bytes([byte]))
                time.sleep(0.05)

        with FakeServer(ignore_os_errors(script)) as server:
            conn = open_conn(server)
            start = time.monotonic()
            with self.assertRaises(DatabaseConnectionError) as caught:
                conn.query("SELECT pg_sleep(10)", timeout=0.6)
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, 0.55)
            self.assertLess(elapsed, 0.6 + 1.0)
            self.assertIn("Timed out after 0.6 s", str(caught.exception))
            self.assertTrue(conn.closed)

    def test_connection_refused(self) -> None:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        with self.assertRaises(DatabaseConnectionError) as caught:
            connect(endpoint(port), timeout=2.0)
        err = caught.exception
        self.assertIn(f"127.0.0.1:{port}", str(err))
        self.assertIn("refused", str(err))
        for text in (str(err), repr(err), err.full_text(), repr(err.args)):
            self.assertNotIn(PASSWORD, text)

    def test_close_never_raises_on_dead_socket(self) -> None:
        def script(peer: Peer) -> None:
            peer.login_trust()

        with FakeServer(script) as server:
            conn = open_conn(server)
        time.sleep(0.05)
        conn.close()
        conn.close()
        self.assertTrue(conn.closed)


if __name__ == "__main__":
    unittest.main()
