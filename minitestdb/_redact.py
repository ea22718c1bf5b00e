"""Keep secrets out of every string a person may see.

Passwords are registered here when a server is created or connected to; every
error message, diagnostic and log line passes through :func:`redact` before it
leaves the package.  Password-bearing URLs (``scheme://user:pw@host``) and
``NAME=value`` assignments of password variables are masked even when the
password was never registered.
"""

from __future__ import annotations

import re
import threading
from typing import Iterable

__all__ = ["MASK", "Masked", "redact", "redact_argv", "register_secret"]

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

# user:password@ in any URL-ish string; the password runs to the last '@' before a space
# (as urlsplit reads it: an unescaped '@' belongs to the password).
# The placeholder PASSWORD (upper case, in help texts) is left alone.
_URL_PASSWORD = re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?!PASSWORD@)(?P<pw>\S*)(?P<post>@)")
# PGPASSWORD=..., POSTGRES_PASSWORD=..., password=... (libpq keyword form)
_ASSIGNED_PASSWORD = re.compile(
    r"(?P<pre>\b(?:[A-Z_]*PASSWORD|password)=)(?P<pw>'[^']*'|\"[^\"]*\"|[^\s&;,]+)",
)


class Masked(str):
    """A string that is its value everywhere (drivers, environments, argv, ``print``) but shows *shown* in its ``repr``.

    URLs and passwords handed to tests are Masked: pytest prints a test's
    arguments and locals with ``repr`` in its failure report, so the password
    never reaches the report.

    >>> url = Masked("postgresql://u:s3cret@h/d", "postgresql://u:***@h/d")
    >>> url == "postgresql://u:s3cret@h/d", repr(url), str(url)
    (True, "'postgresql://u:***@h/d'", 'postgresql://u:s3cret@h/d')
    """

    shown: str

    def __new__(cls, value: str, shown: str) -> Masked:
        self = super().__new__(cls, value)
        self.shown = shown
        return self

    def __repr__(self) -> str:
        return repr(self.shown)

    def __reduce__(self) -> tuple[type[Masked], tuple[str, str]]:
        return (Masked, (str(self), self.shown))


# A secret at least this long is masked even when cut off: unittest's assertEqual shortens
# long strings to "<prefix>[76 chars]<suffix>", which can end or start inside a password.
_CUT_SECRET = 16
_CUT_PIECE = 12


def _mask_cut(text: str, secret: str) -> str:
    """*text* with the longest start or end of *secret* (at least _CUT_PIECE characters) masked."""
    for piece in (secret[:_CUT_PIECE], secret[-_CUT_PIECE:]):
        if piece not in text:
            continue
        start = piece == secret[:_CUT_PIECE]
        for size in range(len(secret) - 1, _CUT_PIECE - 1, -1):
            cut = secret[:size] if start else secret[-size:]
            if cut in text:
                text = text.replace(cut, MASK)
                break
    return text


def register_secret(secret: str) -> None:
    """Remember *secret* so that :func:`redact` masks it everywhere from now on."""
    # Very short strings would mask ordinary words; our passwords are long.
    if secret and len(secret) >= 4:
        with _lock:
            _secrets.add(secret)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """Return *text* with registered secrets, *extra* secrets and URL passwords masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets.union(s for s in extra if s), key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
        if len(secret) >= _CUT_SECRET:
            text = _mask_cut(text, secret)
    text = _URL_PASSWORD.sub(lambda m: m.group("pre") + MASK + m.group("post"), text)
    return _ASSIGNED_PASSWORD.sub(lambda m: m.group("pre") + MASK, text)


def redact_argv(argv: Iterable[str]) -> list[str]:
    """Redact each argument of a command line (for errors and diagnostics)."""
    return [redact(arg) for arg in argv]
