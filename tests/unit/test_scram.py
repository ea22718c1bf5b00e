"""Unit tests for minitestdb._scram: the RFC 7677 vector, SASLprep tables, and refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unittest

from minitestdb._errors import AuthenticationError, ConfigurationError, ProtocolError
from minitestdb._scram import MAX_ITERATIONS, ScramClient, saslprep

# RFC 7677 section 3.
RFC_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_CLIENT_FINAL = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def expected_client_final(client_first_bare: bytes, server_first: bytes, password: bytes) -> tuple[bytes, bytes]:
    """The client-final and server-final messages, computed here independently of the module."""
    attrs = dict(part.split(b"=", 1) for part in server_first.split(b","))
    salted = hashlib.pbkdf2_hmac("sha256", password, base64.b64decode(attrs[b"s"]), int(attrs[b"i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    without_proof = b"c=biws,r=" + attrs[b"r"]
    auth = client_first_bare + b"," + server_first + b"," + without_proof
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth, "sha256").digest()
    proof = bytes(x ^ y for x, y in zip(client_key, signature))
    server_sig = hmac.new(hmac.new(salted, b"Server Key", "sha256").digest(), auth, "sha256").digest()
    return without_proof + b",p=" + base64.b64encode(proof), b"v=" + base64.b64encode(server_sig)


class Rfc7677VectorTests(unittest.TestCase):
    def test_rfc_vector(self) -> None:
        client = ScramClient("user", "pencil", nonce=RFC_NONCE)
        self.assertEqual(client.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        self.assertEqual(client.handle_server_first(RFC_SERVER_FIRST), RFC_CLIENT_FINAL)
        self.assertFalse(client.done)
        client.verify_server_final(RFC_SERVER_FINAL)
        self.assertTrue(client.done)

    def test_independent_computation_matches_rfc(self) -> None:
        # Guards the helper the other tests rely on.
        final, server_final = expected_client_final(b"n=user,r=" + RFC_NONCE.encode(), RFC_SERVER_FIRST, b"pencil")
        self.assertEqual((final, server_final), (RFC_CLIENT_FINAL, RFC_SERVER_FINAL))

    def test_saslprep_applies_to_password(self) -> None:
        # U+00AD is mapped to nothing, so "pen\u00adcil" authenticates as "pencil".
        client = ScramClient("user", "pen\u00adcil", nonce=RFC_NONCE)
        client.client_first()
        self.assertEqual(client.handle_server_first(RFC_SERVER_FIRST), RFC_CLIENT_FINAL)

    def test_postgresql_style_empty_username(self) -> None:
        client = ScramClient("", "pencil", nonce="abc")
        self.assertEqual(client.client_first(), b"n,,n=,r=abc")

    def test_username_is_escaped(self) -> None:
        client = ScramClient("a=b,c", "pw", nonce="abc")
        self.assertEqual(client.client_first(), b"n,,n=a=3Db=2Cc,r=abc")

    def test_prohibited_password_falls_back_to_raw_bytes(self) -> None:
        password = "pen\u0007cil"  # BEL is prohibited by SASLprep; PostgreSQL then uses the raw bytes
        client = ScramClient("", password, nonce="abc")
        client.client_first()
        server_first = b"r=abcXYZ,s=" + base64.b64encode(b"salty") + b",i=10"
        final, server_final = expected_client_final(b"n=,r=abc", server_first, password.encode())
        self.assertEqual(client.handle_server_first(server_first), final)
        client.verify_server_final(server_final)
        self.assertTrue(client.done)

    def test_random_nonces(self) -> None:
        first = ScramClient("", "x").nonce
        second = ScramClient("", "x").nonce
        self.assertNotEqual(first, second)
        self.assertGreaterEqual(len(first), 24)
        self.assertNotIn(",", first)

    def test_bad_injected_nonce(self) -> None:
        for bad in ("a,b", "sp ace", "é"):
            with self.subTest(bad), self.assertRaises(ConfigurationError):
                ScramClient("", "x", nonce=bad)


class ScramRefusalTests(unittest.TestCase):
    def started(self) -> ScramClient:
        client = ScramClient("user", "pencil", nonce=RFC_NONCE)
        client.client_first()
        return client

    def test_wrong_server_signature(self) -> None:
        client = self.started()
        client.handle_server_first(RFC_SERVER_FIRST)
        wrong = b"v=" + base64.b64encode(b"\x00" * 32)
        with self.assertRaises(ProtocolError):
            client.verify_server_final(wrong)
        self.assertFalse(client.done)

    def test_server_signature_for_other_password(self) -> None:
        client = self.started()
        client.handle_server_first(RFC_SERVER_FIRST)
        _, other = expected_client_final(b"n=user,r=" + RFC_NONCE.encode(), RFC_SERVER_FIRST, b"pencil2")
        with self.assertRaises(ProtocolError):
            client.verify_server_final(other)

    def test_server_error_attribute(self) -> None:
        client = self.started()
        client.handle_server_first(RFC_SERVER_FIRST)
        with self.assertRaises(AuthenticationError) as caught:
            client.verify_server_final(b"e=invalid-proof")
        self.assertIn("invalid-proof", str(caught.exception))

    def test_bad_server_final(self) -> None:
        for bad in (b"x=abc", b"v=not base64!", b"", b"\xff"):
            client = self.started()
            client.handle_server_first(RFC_SERVER_FIRST)
            with self.subTest(bad), self.assertRaises(ProtocolError):
                client.verify_server_final(bad)

    def test_bad_server_first(self) -> None:
        salt = b"s=W22ZaJ0SNY7soEsUEjb6gQ=="
        cases = {
            "nonce not extending": b"r=someoneelse," + salt + b",i=4096",
            "nonce only prefix of client": b"r=rOprNG," + salt + b",i=4096",
            "nonce not extended": b"r=" + RFC_NONCE.encode() + b"," + salt + b",i=4096",
            "salt not base64": b"r=" + RFC_NONCE.encode() + b"X,s=***,i=4096",
            "salt empty": b"r=" + RFC_NONCE.encode() + b"X,s=,i=4096",
            "iterations zero": b"r=" + RFC_NONCE.encode() + b"X," + salt + b",i=0",
            "iterations too many": b"r=" + RFC_NONCE.encode() + b"X," + salt + b",i=" + str(MAX_ITERATIONS + 1).encode(),
            "iterations not a number": b"r=" + RFC_NONCE.encode() + b"X," + salt + b",i=4k",
            "iterations unicode digits": f"r={RFC_NONCE}X,s=AAAA,i=\u0664\u0660".encode(),
            "iterations negative": b"r=" + RFC_NONCE.encode() + b"X," + salt + b",i=-1",
            "attributes out of order": b"s=AAAA,r=" + RFC_NONCE.encode() + b"X,i=4096",
            "missing iterations": b"r=" + RFC_NONCE.encode() + b"X," + salt,
            "mandatory extension": b"m=ext,r=" + RFC_NONCE.encode() + b"X," + salt + b",i=4096",
            "garbage": b"hello",
            "empty": b"",
            "not utf8": b"r=\xff\xfe",
        }
        for name, message in cases.items():
            client = self.started()
            with self.subTest(name), self.assertRaises(ProtocolError):
                client.handle_server_first(message)

    def test_out_of_order(self) -> None:
        client = ScramClient("user", "pencil", nonce=RFC_NONCE)
        with self.assertRaises(ProtocolError):
            client.handle_server_first(RFC_SERVER_FIRST)
        client = ScramClient("user", "pencil", nonce=RFC_NONCE)
        client.client_first()
        with self.assertRaises(ProtocolError):
            client.verify_server_final(RFC_SERVER_FINAL)
        with self.assertRaises(ProtocolError):
            client.client_first()


class SaslprepTests(unittest.TestCase):
    def test_mapping_and_normalisation(self) -> None:
        cases = {
            "I\u00adX": "IX",  # RFC 4013 example: soft hyphen mapped to nothing
            "user": "user",
            "USER": "USER",
            "\u00aa": "a",  # RFC 4013 example: NFKC
            "\u2168": "IX",  # RFC 4013 example: ROMAN NUMERAL NINE
            "a\u00a0b": "a b",  # non-ASCII space (C.1.2) mapped to SPACE
            "a\u3000b": "a b",
            "a\u200bb": "ab",  # ZERO WIDTH SPACE is in B.1
            "\ufb01": "fi",
            "": "",
            "\u0627\u0031\u0628": "\u0627\u0031\u0628",  # RTL text starting and ending with RandALCat
        }
        for value, expected in cases.items():
            with self.subTest(value=value):
                self.assertEqual(saslprep(value), expected)

    def test_prohibited(self) -> None:
        cases = {
            "ASCII control (C.2.1)": "a\u0007b",
            "DEL (C.2.1)": "a\u007fb",
            "non-ASCII control (C.2.2)": "a\u0085b",
            "private use (C.3)": "a\ue000b",
            "non-character (C.4)": "a\ufffeb",
            "surrogate (C.5)": "a\ud800b",
            "inappropriate for plain text (C.6)": "a\ufffcb",
            "ideographic description (C.7)": "a\u2ff0b",
            "change display (C.8)": "a\u200eb",
            "tagging (C.9)": "a\U000e0001b",
            "unassigned in Unicode 3.2 (A.1)": "a\u0221b",
        }
        for name, value in cases.items():
            with self.subTest(name), self.assertRaises(ConfigurationError):
                saslprep(value)

    def test_bidi(self) -> None:
        cases = {
            "RandALCat first, not last (RFC 4013 example)": "\u0627\u0031",
            "mixed RandALCat and LCat": "\u0627a\u0628",
            "RandALCat last only": "1\u0627",
        }
        for name, value in cases.items():
            with self.subTest(name), self.assertRaises(ConfigurationError):
                saslprep(value)

    def test_error_does_not_echo_the_string(self) -> None:
        with self.assertRaises(ConfigurationError) as caught:
            saslprep("hunter2\u0007")
        self.assertNotIn("hunter2", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
