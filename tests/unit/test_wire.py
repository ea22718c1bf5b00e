"""Unit tests for minitestdb._wire: exact encoder bytes, table-driven parse functions, framing, bad input."""

from __future__ import annotations

import hashlib
import struct
import unittest
from typing import Callable

from minitestdb import _wire
from minitestdb._errors import ConfigurationError, ProtocolError


def frame(msg_type: bytes, payload: bytes) -> bytes:
    """A backend message built independently of the module under test."""
    return msg_type + struct.pack("!i", len(payload) + 4) + payload


def row_description(*names: str) -> bytes:
    body = struct.pack("!h", len(names))
    for name in names:
        body += name.encode() + b"\0" + struct.pack("!IhIhih", 0, 0, 25, -1, -1, 0)
    return body


def data_row(*values: bytes | None) -> bytes:
    body = struct.pack("!h", len(values))
    for value in values:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    return body


Parser = Callable[[bytes], object]


def empty(msg_type: bytes) -> Parser:
    return lambda payload: _wire.parse_empty(payload, msg_type)


def copy_response(msg_type: bytes) -> Parser:
    return lambda payload: _wire.parse_copy_response(payload, msg_type)


#: The parse function for each backend message type (CopyData has none: its payload is the data).
PARSERS: dict[bytes, Parser] = {
    b"R": _wire.parse_authentication,
    b"K": _wire.parse_backend_key_data,
    b"C": _wire.parse_command_complete,
    b"G": copy_response(b"G"),
    b"H": copy_response(b"H"),
    b"W": copy_response(b"W"),
    b"c": empty(b"c"),
    b"D": _wire.parse_data_row,
    b"I": empty(b"I"),
    b"E": _wire.parse_error_fields,
    b"N": _wire.parse_error_fields,
    b"v": _wire.parse_negotiate_protocol_version,
    b"A": _wire.parse_notification,
    b"S": _wire.parse_parameter_status,
    b"Z": _wire.parse_ready_for_query,
    b"T": _wire.parse_row_description,
}


class EncoderTests(unittest.TestCase):
    def test_startup_message_exact_bytes(self) -> None:
        body = struct.pack("!i", 196608) + b"user\0alice\0database\0app\0client_encoding\0UTF8\0application_name\0minitestdb\0TimeZone\0UTC\0\0"
        expected = struct.pack("!i", len(body) + 4) + body
        self.assertEqual(_wire.startup_message("alice", "app", {"TimeZone": "UTC"}), expected)

    def test_startup_message_with_options(self) -> None:
        body = struct.pack("!i", 196608) + b"user\0u\0database\0d\0client_encoding\0UTF8\0options\0-c search_path=s\0TimeZone\0UTC\0\0"
        actual = _wire.startup_message("u", "d", {"TimeZone": "UTC"}, application_name="", options="-c search_path=s")
        self.assertEqual(actual, struct.pack("!i", len(body) + 4) + body)

    def test_startup_message_without_database_or_application_name(self) -> None:
        body = struct.pack("!i", 196608) + b"user\0bob\0client_encoding\0UTF8\0\0"
        self.assertEqual(_wire.startup_message("bob", "", application_name=""), struct.pack("!i", len(body) + 4) + body)

    def test_startup_message_refuses_bad_options(self) -> None:
        cases = {
            "reserved key": ("u", "d", {"client_encoding": "LATIN1"}),
            "user again": ("u", "d", {"user": "x"}),
            "database again": ("u", "d", {"database": "x"}),
            "options among the settings": ("u", "d", {"options": "-c search_path=x"}),
            "application_name among the settings": ("u", "d", {"application_name": "x"}),
            "empty key": ("u", "d", {"": "x"}),
            "NUL in value": ("u", "d", {"search_path": "a\0b"}),
            "NUL in user": ("u\0", "d", None),
            "empty user": ("", "d", None),
            "too long": ("u", "d", {"search_path": "x" * 20000}),
        }
        for name, (user, dbname, settings) in cases.items():
            with self.subTest(name), self.assertRaises(ConfigurationError):
                _wire.startup_message(user, dbname, settings)
        for name, options in {"NUL in options": "-c a=\0", "options too long": "x" * 20000}.items():
            with self.subTest(name), self.assertRaises(ConfigurationError):
                _wire.startup_message("u", "d", options=options)

    def test_simple_encoders_exact_bytes(self) -> None:
        cases = [
            (_wire.query_message("SELECT 1"), b"Q\x00\x00\x00\x0dSELECT 1\x00"),
            (_wire.query_message("é"), b"Q\x00\x00\x00\x07\xc3\xa9\x00"),
            (_wire.password_message(b"secret"), b"p\x00\x00\x00\x0bsecret\x00"),
            (_wire.sasl_response(b"c=biws"), b"p\x00\x00\x00\x0ac=biws"),
            (
                _wire.sasl_initial_response("SCRAM-SHA-256", b"n,,n=,r=abc"),
                b"p\x00\x00\x00\x21SCRAM-SHA-256\x00\x00\x00\x00\x0bn,,n=,r=abc",
            ),
            (_wire.sasl_initial_response("X", None), b"p\x00\x00\x00\x0aX\x00\xff\xff\xff\xff"),
            (_wire.copy_fail_message("no"), b"f\x00\x00\x00\x07no\x00"),
            (_wire.terminate_message(), b"X\x00\x00\x00\x04"),
        ]
        for index, (actual, expected) in enumerate(cases):
            with self.subTest(index):
                self.assertEqual(actual, expected)

    def test_nul_in_sql_or_password_is_refused(self) -> None:
        with self.assertRaises(ConfigurationError):
            _wire.query_message("SELECT '\0'")
        with self.assertRaises(ConfigurationError):
            _wire.password_message(b"a\0b")

    def test_md5_password(self) -> None:
        salt = b"\x01\x02\x03\x04"
        inner = hashlib.md5(b"secretalice").hexdigest()  # noqa: S324
        expected = b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode()  # noqa: S324
        self.assertEqual(_wire.md5_password("alice", "secret", salt), expected)
        self.assertEqual(len(expected), 35)
        # Computed with md5sum(1): md5(md5("postgrespostgres") + "abcd").
        self.assertEqual(_wire.md5_password("postgres", "postgres", b"abcd"), b"md5" + b"0800ba833a175e428fc0110c29998942")
        with self.assertRaises(ProtocolError):
            _wire.md5_password("a", "b", b"123")


class ParserTests(unittest.TestCase):
    def test_parse_functions_table(self) -> None:
        cases: list[tuple[bytes, bytes, object]] = [
            (b"R", struct.pack("!i", 0), _wire.AuthenticationRequest(0, b"")),
            (b"R", struct.pack("!i", 3), _wire.AuthenticationRequest(3, b"")),
            (b"R", struct.pack("!i", 5) + b"salt", _wire.AuthenticationRequest(5, b"salt")),
            (
                b"R",
                struct.pack("!i", 10) + b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0",
                _wire.AuthenticationRequest(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
            ),
            (b"R", struct.pack("!i", 11) + b"r=abc", _wire.AuthenticationRequest(11, b"r=abc")),
            (b"R", struct.pack("!i", 12) + b"v=xyz", _wire.AuthenticationRequest(12, b"v=xyz")),
            (b"R", struct.pack("!i", 7), _wire.AuthenticationRequest(7, b"")),
            (b"S", b"server_version\x0015.4\x00", ("server_version", "15.4")),
            (b"S", b"x\x00bad \xff\x00", ("x", "bad \ufffd")),
            (b"K", struct.pack("!i", 4242) + b"\x00\x00\x00\x07", 4242),
            (b"K", struct.pack("!i", 1) + b"k" * 256, 1),
            (b"Z", b"I", "I"),
            (b"Z", b"T", "T"),
            (b"Z", b"E", "E"),
            (b"C", b"INSERT 0 3\x00", "INSERT 0 3"),
            (b"I", b"", None),
            (b"E", b"SERROR\x00C42P01\x00Mno such table\x00\x00", {"S": "ERROR", "C": "42P01", "M": "no such table"}),
            (b"N", b"SNOTICE\x00Mhello\x00\x00", {"S": "NOTICE", "M": "hello"}),
            (b"D", data_row(b"1", None, "é".encode()), ("1", None, "é")),
            (b"D", data_row(), ()),
            (b"D", data_row(b""), ("",)),
            (b"v", struct.pack("!ii", 0, 1) + b"_pq_.x\0", (0, ("_pq_.x",))),
            (b"A", struct.pack("!i", 7) + b"chan\0hi\0", (7, "chan", "hi")),
            (b"H", b"\x00" + struct.pack("!hh", 1, 0), (0, (0,))),
            (b"G", b"\x00" + struct.pack("!hhh", 2, 0, 0), (0, (0, 0))),
            (b"W", b"\x00" + struct.pack("!h", 0), (0, ())),
            (b"c", b"", None),
        ]
        for msg_type, payload, expected in cases:
            with self.subTest(msg_type=msg_type, payload=payload):
                actual = PARSERS[msg_type](payload)
                self.assertEqual(actual, expected)
                self.assertIs(type(actual), type(expected))

    def test_row_description(self) -> None:
        payload = struct.pack("!h", 2)
        payload += b"id\0" + struct.pack("!IhIhih", 16384, 1, 23, 4, -1, 0)
        payload += b"name\0" + struct.pack("!IhIhih", 16384, 2, 25, -1, -1, 0)
        columns = _wire.parse_row_description(payload)
        self.assertEqual([c.name for c in columns], ["id", "name"])
        self.assertEqual(columns[0], _wire.ColumnDescription("id", 16384, 1, 23, 4, -1, 0))
        self.assertEqual(columns[1].type_oid, 25)

    def test_error_fields_tolerate_bad_utf8(self) -> None:
        fields = _wire.parse_error_fields(b"SFATAL\x00Mbad \xff byte\x00\x00")
        self.assertEqual(fields, {"S": "FATAL", "M": "bad \ufffd byte"})

    def test_every_backend_type_has_a_parser_and_a_name(self) -> None:
        # CopyData is the one message whose payload is taken as it is.
        self.assertEqual(set(PARSERS) | {_wire.COPY_DATA}, set(_wire.MESSAGE_NAMES))

    def test_malformed_payloads_raise_protocol_error(self) -> None:
        cases = {
            "auth empty": (b"R", b""),
            "auth short code": (b"R", b"\x00\x00"),
            "md5 salt short": (b"R", struct.pack("!i", 5) + b"ab"),
            "md5 salt long": (b"R", struct.pack("!i", 5) + b"abcde"),
            "auth ok with extra": (b"R", struct.pack("!i", 0) + b"x"),
            "cleartext with extra": (b"R", struct.pack("!i", 3) + b"x"),
            "sasl list unterminated": (b"R", struct.pack("!i", 10) + b"SCRAM-SHA-256\0"),
            "sasl trailing bytes": (b"R", struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0x"),
            "data row value past end": (b"D", struct.pack("!hi", 1, 10) + b"abc"),
            "data row missing column": (b"D", struct.pack("!hi", 2, 1) + b"a"),
            "data row negative length": (b"D", struct.pack("!hi", 1, -2)),
            "data row negative count": (b"D", struct.pack("!h", -1)),
            "data row trailing bytes": (b"D", data_row(b"a") + b"zz"),
            "data row bad utf8": (b"D", data_row(b"\xff\xfe")),
            "data row count only half": (b"D", b"\x00"),
            "row description truncated": (b"T", struct.pack("!h", 1) + b"id\0" + b"\x00\x00"),
            "row description no nul": (b"T", struct.pack("!h", 1) + b"id"),
            "row description negative count": (b"T", struct.pack("!h", -1)),
            "row description trailing bytes": (b"T", row_description("a") + b"z"),
            "row description bad utf8": (b"T", row_description("a").replace(b"a\0", b"\xff\0")),
            "error unterminated": (b"E", b"SERROR\x00Mno end"),
            "error no final nul": (b"E", b"SERROR\x00"),
            "error trailing": (b"E", b"SERROR\x00\x00junk"),
            "notice unterminated": (b"N", b"SNOTICE\x00"),
            "command complete no nul": (b"C", b"SELECT 1"),
            "command complete trailing": (b"C", b"SELECT 1\x00x"),
            "parameter status one string": (b"S", b"server_version\x00"),
            "parameter status trailing": (b"S", b"a\x00b\x00c"),
            "ready bad status": (b"Z", b"Q"),
            "ready empty": (b"Z", b""),
            "ready long": (b"Z", b"II"),
            "key data short": (b"K", b"\x00\x00\x00\x01\x00"),
            "key data no pid": (b"K", b"\x00\x00"),
            "key data key too long": (b"K", struct.pack("!i", 1) + b"k" * 257),
            "empty query with payload": (b"I", b"x"),
            "copy done with payload": (b"c", b"x"),
            "negotiate truncated": (b"v", struct.pack("!ii", 0, 2) + b"a\0"),
            "negotiate negative count": (b"v", struct.pack("!ii", 0, -1)),
            "negotiate trailing": (b"v", struct.pack("!ii", 0, 0) + b"x"),
            "notification truncated": (b"A", b"\x00\x00"),
            "notification no payload": (b"A", struct.pack("!i", 7) + b"chan\0"),
            "notification trailing": (b"A", struct.pack("!i", 7) + b"chan\0hi\0x"),
            "copy response truncated": (b"H", b"\x00\x00\x02\x00\x00"),
            "copy response negative count": (b"G", b"\x00" + struct.pack("!h", -1)),
            "copy response trailing": (b"W", b"\x00" + struct.pack("!h", 0) + b"x"),
        }
        for name, (msg_type, payload) in cases.items():
            with self.subTest(name), self.assertRaises(ProtocolError):
                PARSERS[msg_type](payload)

    def test_every_prefix_of_valid_messages_fails_cleanly(self) -> None:
        # Truncating a valid payload anywhere must give ProtocolError, never IndexError/struct.error.
        messages = [
            (b"D", data_row(b"hello", None, b"x")),
            (b"T", row_description("a", "bb")),
            (b"E", b"SERROR\x00C42P01\x00Mx\x00\x00"),
            (b"S", b"a\x00b\x00"),
            (b"R", struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0"),
            (b"R", struct.pack("!i", 5) + b"salt"),
            (b"v", struct.pack("!ii", 0, 1) + b"_pq_.x\0"),
            (b"A", struct.pack("!i", 7) + b"chan\0hi\0"),
            (b"K", struct.pack("!i", 4242) + b"\x00\x00\x00\x07"),
            (b"C", b"SELECT 1\x00"),
            (b"Z", b"I"),
            (b"H", b"\x00" + struct.pack("!hh", 1, 0)),
        ]
        for msg_type, payload in messages:
            for cut in range(len(payload)):
                with self.subTest(msg_type=msg_type, cut=cut), self.assertRaises(ProtocolError):
                    PARSERS[msg_type](payload[:cut])

    def test_rowcount_from_tag(self) -> None:
        cases = {"SELECT 3": 3, "INSERT 0 5": 5, "UPDATE 0": 0, "CREATE TABLE": None, "BEGIN": None, "": None, "COPY 12": 12}
        for tag, expected in cases.items():
            with self.subTest(tag):
                self.assertEqual(_wire.rowcount_from_tag(tag), expected)


class MessageReaderTests(unittest.TestCase):
    def test_frames_split_anywhere(self) -> None:
        stream = frame(b"S", b"a\0b\0") + frame(b"Z", b"I") + frame(b"D", data_row(b"x" * 100))
        expected = [(b"S", b"a\0b\0"), (b"Z", b"I"), (b"D", data_row(b"x" * 100))]
        for chunk in (1, 2, 3, 5, 7, len(stream)):
            reader = _wire.MessageReader()
            got: list[tuple[bytes, bytes]] = []
            for start in range(0, len(stream), chunk):
                reader.feed(stream[start : start + chunk])
                got.extend(reader)
            with self.subTest(chunk=chunk):
                self.assertEqual(got, expected)
                self.assertEqual(reader.buffered, 0)

    def test_incomplete_frame_waits(self) -> None:
        reader = _wire.MessageReader()
        reader.feed(frame(b"C", b"SELECT 1\0")[:-1])
        self.assertIsNone(reader.next_message())
        reader.feed(b"\0")
        self.assertEqual(reader.next_message(), (b"C", b"SELECT 1\0"))
        self.assertIsNone(reader.next_message())

    def test_bad_headers_fail_at_once(self) -> None:
        cases = {
            "length below 4": b"Z" + struct.pack("!i", 3),
            "negative length": b"Z" + struct.pack("!i", -1),
            "huge length": b"D" + struct.pack("!i", 2**31 - 1),
            "just over the limit": b"D" + struct.pack("!i", _wire.MAX_MESSAGE_LENGTH + 1),
            "unknown type": b"?",
            "http answer": b"HTTP/1.1 400 Bad Request\r\n",
        }
        for name, data in cases.items():
            reader = _wire.MessageReader()
            reader.feed(data)
            with self.subTest(name), self.assertRaises(ProtocolError):
                reader.next_message()

    def test_known_types_by_default_are_the_backend_types(self) -> None:
        for msg_type in _wire.MESSAGE_NAMES:
            reader = _wire.MessageReader()
            reader.feed(frame(msg_type, b"x"))
            with self.subTest(msg_type=msg_type):
                self.assertEqual(reader.next_message(), (msg_type, b"x"))
        for msg_type in (_wire.QUERY, _wire.TERMINATE, _wire.PASSWORD_MESSAGE, b"\0"):
            reader = _wire.MessageReader()
            reader.feed(frame(msg_type, b""))
            with self.subTest(msg_type=msg_type), self.assertRaises(ProtocolError):
                reader.next_message()

    def test_limit_is_inclusive_and_configurable(self) -> None:
        reader = _wire.MessageReader(max_length=8)
        reader.feed(frame(b"d", b"1234"))
        self.assertEqual(reader.next_message(), (b"d", b"1234"))
        reader.feed(frame(b"d", b"12345"))
        with self.assertRaises(ProtocolError):
            reader.next_message()

    def test_known_types(self) -> None:
        reader = _wire.MessageReader(known_types={b"Z"})
        reader.feed(frame(b"S", b"a\0b\0"))
        with self.assertRaises(ProtocolError):
            reader.next_message()
        anything = _wire.MessageReader(accept_any_type=True)
        anything.feed(frame(b"?", b"x"))
        self.assertEqual(anything.next_message(), (b"?", b"x"))

    def test_many_frames_compact_buffer(self) -> None:
        reader = _wire.MessageReader()
        one = frame(b"D", data_row(b"y" * 1000))
        reader.feed(one * 200 + one[:10])
        self.assertEqual(sum(1 for _ in reader), 200)
        self.assertEqual(reader.buffered, 10)
        reader.feed(one[10:])
        self.assertEqual(reader.next_message(), (b"D", data_row(b"y" * 1000)))


class QuotingTests(unittest.TestCase):
    def test_quote_ident(self) -> None:
        cases = {"abc": '"abc"', "MixedCase": '"MixedCase"', 'a"b': '"a""b"', "sp ace;drop": '"sp ace;drop"', "é": '"é"'}
        for value, expected in cases.items():
            with self.subTest(value):
                self.assertEqual(_wire.quote_ident(value), expected)
        for bad in ("", "a\0b"):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError):
                _wire.quote_ident(bad)

    def test_quote_literal(self) -> None:
        cases = {
            "abc": "'abc'",
            "it's": "'it''s'",
            "": "''",
            "a\\b": "E'a\\\\b'",
            "'\\'": "E'''\\\\'''",
        }
        for value, expected in cases.items():
            with self.subTest(value):
                self.assertEqual(_wire.quote_literal(value), expected)
        with self.assertRaises(ConfigurationError):
            _wire.quote_literal("a\0b")

    def test_server_version_num(self) -> None:
        cases = {
            "15.18 (Debian 15.18-1.pgdg120+1)": 150018,
            "16.2": 160002,
            "10.5": 100005,
            "9.6.24": 90624,
            "9.6beta1": 90600,
            "18beta1": 180000,
            "17devel": 170000,
            "13": 130000,
        }
        for text, expected in cases.items():
            with self.subTest(text):
                self.assertEqual(_wire.server_version_num(text), expected)
        for bad in ("", "devel", "v15"):
            with self.subTest(bad=bad), self.assertRaises(ProtocolError):
                _wire.server_version_num(bad)


class ConstantTests(unittest.TestCase):
    def test_protocol_constants(self) -> None:
        self.assertEqual(_wire.PROTOCOL_VERSION, 3 << 16)
        self.assertEqual(_wire.MAX_MESSAGE_LENGTH, 64 * 1024 * 1024)
        backend = [_wire.AUTHENTICATION, _wire.ERROR_RESPONSE, _wire.NOTICE_RESPONSE, _wire.READY_FOR_QUERY, _wire.ROW_DESCRIPTION]
        backend += [_wire.DATA_ROW, _wire.COMMAND_COMPLETE, _wire.EMPTY_QUERY_RESPONSE, _wire.PARAMETER_STATUS]
        backend += [_wire.BACKEND_KEY_DATA, _wire.NEGOTIATE_PROTOCOL_VERSION]
        self.assertEqual(b"".join(backend), b"RENZTDCISKv")
        self.assertEqual(_wire.QUERY + _wire.PASSWORD_MESSAGE + _wire.TERMINATE, b"QpX")
        codes = (_wire.AUTH_OK, _wire.AUTH_CLEARTEXT_PASSWORD, _wire.AUTH_MD5_PASSWORD, _wire.AUTH_SASL, _wire.AUTH_SASL_CONTINUE, _wire.AUTH_SASL_FINAL)
        self.assertEqual(codes, (0, 3, 5, 10, 11, 12))
        self.assertTrue(set(backend) <= set(_wire.MESSAGE_NAMES))


if __name__ == "__main__":
    unittest.main()
