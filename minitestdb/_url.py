"""Parsing ``postgresql://`` URLs (TEST_DATABASE_URL): pure, with redacted errors."""

from __future__ import annotations

from ._errors import ConfigurationError
from ._redact import MASK, redact, register_secret

__all__ = ["DatabaseURL", "format_database_url", "parse_database_url"]


class DatabaseURL:
    """The parts of a ``postgresql://`` URL."""

    __slots__ = ("dbname", "host", "options", "password", "port", "user")

    def __init__(self, *, host: str, port: int, user: str, password: str, dbname: str, options: str = "") -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.dbname = dbname
        self.options = options

    def __repr__(self) -> str:
        return f"DatabaseURL(host={self.host!r}, port={self.port}, user={self.user!r}, dbname={self.dbname!r})"


def parse_database_url(url: str) -> DatabaseURL:
    """Split a ``postgresql://user:password@host:port/dbname`` URL; raise ConfigurationError if malformed.

    >>> parse_database_url("postgres://u:p%40ss@127.0.0.1:6543/app").password
    'p@ss'
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    text = url.strip()
    shown = redact(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"The database URL {shown!r} is malformed ({redact(str(exc))}): use postgresql://USER:PASSWORD@HOST:PORT/DBNAME.") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(f"The database URL {shown!r} does not start with postgresql://: use postgresql://USER:PASSWORD@HOST:PORT/DBNAME.")
    password = unquote(parts.password or "")
    if password:
        register_secret(password)
    query = parse_qs(parts.query)
    host = unquote(parts.hostname or "") or (query.get("host", [""])[0])
    if not host:
        raise ConfigurationError(f"The database URL {shown!r} names no host: use postgresql://USER:PASSWORD@HOST:PORT/DBNAME.")
    if host.startswith("/"):
        raise ConfigurationError(f"The database URL {shown!r} names a Unix socket; minitestdb connects over TCP: give a host name or address.")
    user = unquote(parts.username or "") or "postgres"
    dbname = unquote(parts.path.lstrip("/")) or user
    return DatabaseURL(host=host, port=port or 5432, user=user, password=password, dbname=dbname, options=query.get("options", [""])[0])


def format_database_url(*, user: str, password: str | None, host: str, port: int, dbname: str, options: str = "") -> str:
    """``postgresql://user:password@host:port/dbname[?options=...]``; ``password=None`` masks it.

    >>> format_database_url(user="u", password="p@ss", host="::1", port=5, dbname="d b")
    'postgresql://u:p%40ss@[::1]:5/d%20b'
    """
    from urllib.parse import quote

    secret = MASK if password is None else quote(password, safe="")
    shown_host = f"[{host}]" if ":" in host else host
    url = f"postgresql://{quote(user, safe='')}:{secret}@{shown_host}:{port}/{quote(dbname, safe='')}"
    return url + (f"?options={quote(options, safe='')}" if options else "")
