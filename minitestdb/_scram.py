"""The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) with SASLprep (RFC 4013), no I/O.

Usage, as PostgreSQL's SASL exchange drives it::

    client = ScramClient("", password)          # PostgreSQL ignores the SCRAM user name
    send(sasl_initial_response(MECHANISM, client.client_first()))
    send(sasl_response(client.handle_server_first(server_first)))
    client.verify_server_final(server_final)   # raises unless the server knows the password

Channel binding is not supported (there is no TLS), so the GS2 header is always
``n,,``.  The password is prepared with SASLprep; as PostgreSQL does, a password
that SASLprep refuses (a prohibited character, a bidirectional-text violation)
is used as its raw UTF-8 bytes instead, so any password that PostgreSQL stored
can be used.

The server's iteration count must be between :data:`MIN_ITERATIONS` and
:data:`MAX_ITERATIONS`.  PostgreSQL's default is 4096; the upper bound
(10,000,000, a few seconds of PBKDF2) stops a hostile or broken server from
making the client compute for minutes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import stringprep
import unicodedata
from typing import Callable

from ._errors import AuthenticationError, ConfigurationError, ProtocolError

__all__ = [
    "GS2_HEADER",
    "MAX_ITERATIONS",
    "MECHANISM",
    "MECHANISM_PLUS",
    "MIN_ITERATIONS",
    "ScramClient",
    "saslprep",
]

MECHANISM = "SCRAM-SHA-256"
MECHANISM_PLUS = "SCRAM-SHA-256-PLUS"
GS2_HEADER = "n,,"
MIN_ITERATIONS = 1
MAX_ITERATIONS = 10_000_000

# --- SASLprep (RFC 4013, on the stringprep tables of RFC 3454 / Unicode 3.2) ---------------

_PROHIBITED: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("a non-ASCII space", stringprep.in_table_c12),
    ("an ASCII control character", stringprep.in_table_c21),
    ("a non-ASCII control character", stringprep.in_table_c22),
    ("a private-use character", stringprep.in_table_c3),
    ("a non-character code point", stringprep.in_table_c4),
    ("a surrogate code point", stringprep.in_table_c5),
    ("a character inappropriate for plain text", stringprep.in_table_c6),
    ("a character inappropriate for canonical representation", stringprep.in_table_c7),
    ("a display-changing or deprecated character", stringprep.in_table_c8),
    ("a tagging character", stringprep.in_table_c9),
    ("an unassigned code point", stringprep.in_table_a1),
)


def saslprep(text: str) -> str:
    """Prepare *text* with SASLprep (RFC 4013) for a stored string, as PostgreSQL does.

    1. Map: characters of table B.1 (commonly mapped to nothing, e.g. U+00AD soft
       hyphen) are removed; non-ASCII spaces (C.1.2, e.g. U+00A0) become U+0020.
    2. Normalise with Unicode 3.2 NFKC (``"\\u2168"`` -> ``"IX"``).
    3. Prohibit tables C.1.2, C.2.1, C.2.2, C.3 to C.9 and, since a password is a
       stored string, unassigned code points (A.1).
    4. Check bidirectional text (RFC 3454 section 6): a string with any RandALCat
       character (D.1) may have no LCat character (D.2) and must start and end
       with a RandALCat character.

    Raises ConfigurationError (a ValueError) naming the rule that failed.
    """
    mapped = "".join(" " if stringprep.in_table_c12(ch) else ch for ch in text if not stringprep.in_table_b1(ch))
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    for ch in prepared:
        for description, in_table in _PROHIBITED:
            if in_table(ch):
                raise ConfigurationError(f"SASLprep refuses the string: it contains {description} (U+{ord(ch):04X}).")
    if any(stringprep.in_table_d1(ch) for ch in prepared):
        if any(stringprep.in_table_d2(ch) for ch in prepared):
            raise ConfigurationError("SASLprep refuses the string: it mixes right-to-left and left-to-right characters.")
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            raise ConfigurationError("SASLprep refuses the string: right-to-left text must start and end with a right-to-left character.")
    return prepared


def _prepare(text: str) -> bytes:
    """SASLprep'd UTF-8 bytes of *text*, or its raw UTF-8 bytes if SASLprep refuses it."""
    try:
        return saslprep(text).encode("utf-8")
    except ConfigurationError:
        return text.encode("utf-8", "surrogatepass")


# --- the exchange --------------------------------------------------------------------------

# printable = %x21-2B / %x2D-7E: printable ASCII except ','.
_NONCE_RE = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
_ITERATIONS_RE = re.compile(r"[0-9]{1,10}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _escape_username(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _attributes(message: bytes, what: str) -> list[tuple[str, str]]:
    """Split a SCRAM message into ``(letter, value)`` pairs; anything else is a ProtocolError."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"The server's SCRAM {what} is not valid UTF-8.") from None
    pairs = []
    for part in text.split(","):
        if len(part) < 2 or part[1] != "=" or not ("a" <= part[0] <= "z" or "A" <= part[0] <= "Z"):
            raise ProtocolError(f"The server's SCRAM {what} is malformed: {text!r}.")
        pairs.append((part[0], part[2:]))
    return pairs


class ScramClient:
    """One SCRAM-SHA-256 authentication, from client-first to the check of the server's signature.

    *username* goes into the client-first message's ``n=`` attribute (escaped
    and SASLprep'd); PostgreSQL ignores it and takes the user from the startup
    packet, so a PostgreSQL client passes ``""`` as libpq does.  *nonce* is the
    client nonce; leave it None for a fresh random one (pass one only to
    reproduce a known exchange in a test).  Calls must come in order:
    :meth:`client_first`, :meth:`handle_server_first`, :meth:`verify_server_final`;
    anything out of order or malformed from the server raises ProtocolError.
    """

    def __init__(self, username: str, password: str, nonce: str | None = None) -> None:
        if nonce is None:
            nonce = base64.b64encode(os.urandom(18)).decode("ascii")
        elif not _NONCE_RE.fullmatch(nonce):
            raise ConfigurationError("A SCRAM client nonce must be printable ASCII without commas.")
        self._nonce = nonce
        self._password = _prepare(password)
        prepared_user = _prepare(username).decode("utf-8", "surrogatepass")
        self._client_first_bare = f"n={_escape_username(prepared_user)},r={nonce}"
        self._server_signature: bytes | None = None
        self._state = "start"

    @property
    def nonce(self) -> str:
        """The client nonce."""
        return self._nonce

    @property
    def done(self) -> bool:
        """True once the server's final message has been verified."""
        return self._state == "done"

    def _advance(self, expected: str, new: str, step: str) -> None:
        if self._state != expected:
            raise ProtocolError(f"The SCRAM exchange is out of order: the server's {step} came at the wrong time.")
        self._state = new

    def client_first(self) -> bytes:
        """The client-first-message: ``n,,n=<user>,r=<client nonce>``."""
        self._advance("start", "sent-first", "first request")
        return (GS2_HEADER + self._client_first_bare).encode("utf-8")

    def handle_server_first(self, message: bytes) -> bytes:
        """Check the server-first-message and return the client-final-message with the proof."""
        self._advance("sent-first", "sent-final", "server-first-message")
        attrs = _attributes(message, "server-first-message")
        if attrs[0][0] == "m":
            raise ProtocolError("The server's SCRAM server-first-message asks for an extension minitestdb does not support.")
        if len(attrs) < 3 or [key for key, _ in attrs[:3]] != ["r", "s", "i"]:
            raise ProtocolError("The server's SCRAM server-first-message lacks the nonce, salt and iteration count in that order.")
        server_nonce, salt_b64, iterations_text = (value for _, value in attrs[:3])
        if not (server_nonce.startswith(self._nonce) and len(server_nonce) > len(self._nonce) and _NONCE_RE.fullmatch(server_nonce)):
            raise ProtocolError("The server's SCRAM nonce does not extend the client's nonce; the exchange was tampered with.")
        try:
            salt = base64.b64decode(salt_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("The server's SCRAM salt is not valid base64.") from None
        if not salt:
            raise ProtocolError("The server's SCRAM salt is empty.")
        if not _ITERATIONS_RE.fullmatch(iterations_text):
            raise ProtocolError(f"The server's SCRAM iteration count {iterations_text!r} is not a number.")
        iterations = int(iterations_text)
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise ProtocolError(f"The server's SCRAM iteration count {iterations} is outside {MIN_ITERATIONS}..{MAX_ITERATIONS}.")

        salted = hashlib.pbkdf2_hmac("sha256", self._password, salt, iterations)
        client_key = _hmac(salted, b"Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        channel_binding = _b64(GS2_HEADER.encode("ascii"))
        final_without_proof = f"c={channel_binding},r={server_nonce}"
        auth_message = b",".join((self._client_first_bare.encode("utf-8"), message, final_without_proof.encode("ascii")))
        client_signature = _hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, client_signature))
        self._server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{final_without_proof},p={_b64(proof)}".encode("ascii")

    def verify_server_final(self, message: bytes) -> None:
        """Check the server-final-message's signature; ProtocolError if it is wrong.

        A server that reports an error (``e=...``) raises AuthenticationError.
        """
        self._advance("sent-final", "checking", "server-final-message")
        attrs = _attributes(message, "server-final-message")
        key, value = attrs[0]
        if key == "e":
            raise AuthenticationError(f"The server refused the SCRAM authentication: {value}.")
        if key != "v":
            raise ProtocolError("The server's SCRAM server-final-message has no verifier.")
        try:
            signature = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("The server's SCRAM signature is not valid base64.") from None
        expected = self._server_signature or b""
        if not hmac.compare_digest(signature, expected):
            raise ProtocolError("The server's SCRAM signature is wrong, so it does not know the password; it may not be the server you meant.")
        self._state = "done"
