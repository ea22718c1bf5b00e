"""Where a server or database is: one immutable value, built in one place.

An :class:`Endpoint` is host, port, user, password, database name and (for the
schema mode) the ``options`` startup setting.  Servers, databases, the CLI, the
wire client and psql all take and hand out this one shape; its ``url``, ``env``
and :meth:`Endpoint.from_url` are the only places a URL or a ``PG*``
environment is written or read.  Pure: no sockets, no processes.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Dict, Sequence
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ._errors import ConfigurationError
from ._redact import MASK, Masked, redact, register_secret

__all__ = ["SQLALCHEMY_DRIVERS", "Endpoint", "EndpointView", "format_address", "sqlalchemy_scheme"]

#: SQLAlchemy's PostgreSQL drivers, in the order one is chosen when none is named:
#: psycopg2 first, as SQLAlchemy's own ``postgresql://`` does.
SQLALCHEMY_DRIVERS = ("psycopg2", "psycopg", "pg8000", "asyncpg")

_URL_FORM = "postgresql://USER:PASSWORD@HOST:PORT/DBNAME"


def format_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets.

    >>> format_address("::1", 5432)
    '[::1]:5432'
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def sqlalchemy_scheme(driver: str | None, installed: Sequence[str] = ()) -> str:
    """SQLAlchemy's URL scheme for *driver*, else for the first of :data:`SQLALCHEMY_DRIVERS` in *installed*.

    >>> sqlalchemy_scheme("asyncpg"), sqlalchemy_scheme(None, ["pg8000", "psycopg"]), sqlalchemy_scheme(None)
    ('postgresql+asyncpg', 'postgresql+psycopg', 'postgresql')
    """
    if driver is None:
        driver = next((name for name in SQLALCHEMY_DRIVERS if name in installed), None)
    return f"postgresql+{driver}" if driver else "postgresql"


class Endpoint:
    """Host, port, user, password, database (and libpq ``options``) of one PostgreSQL database.

    Immutable and hashable.  Its ``repr`` masks the password, and so do the
    reprs of the URLs, environments and keyword arguments it hands out (see
    :class:`Masked`).  ``password`` itself is a plain string: some drivers
    (asyncpg) take nothing else.

    >>> e = Endpoint(host="127.0.0.1", port=5433, user="app", password="p@ss", dbname="test")
    >>> print(e.url)  # the real URL for drivers; its repr masks the password
    postgresql://app:p%40ss@127.0.0.1:5433/test
    >>> e.url
    'postgresql://app:***@127.0.0.1:5433/test'
    >>> e.replace(dbname="other").redacted_url
    'postgresql://app:***@127.0.0.1:5433/other'
    """

    __slots__ = ("dbname", "host", "options", "password", "port", "user")

    host: str
    port: int
    user: str
    password: str
    dbname: str
    options: str

    def __init__(self, *, host: str, port: int, user: str, password: str, dbname: str, options: str = "") -> None:
        for name, value in (("host", host), ("port", port), ("user", user), ("password", password), ("dbname", dbname), ("options", options)):
            object.__setattr__(self, name, value)
        register_secret(password)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Endpoint is immutable: use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Endpoint is immutable: {name} cannot be deleted")

    def _key(self) -> tuple[str, int, str, str, str, str]:
        return (self.host, self.port, self.user, self.password, self.dbname, self.options)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Endpoint({self.redacted_url!r})"

    def replace(self, *, dbname: str | None = None, options: str | None = None, password: str | None = None) -> Endpoint:
        """The same server with another database, ``options`` or password."""
        return Endpoint(
            host=self.host, port=self.port, user=self.user,
            password=self.password if password is None else password,
            dbname=self.dbname if dbname is None else dbname,
            options=self.options if options is None else options,
        )

    @property
    def address(self) -> str:
        """``host:port`` (for messages: no user, no password)."""
        return format_address(self.host, self.port)

    def _format_url(self, secret: str, scheme: str = "postgresql") -> str:
        url = f"{scheme}://{quote(self.user, safe='')}:{secret}@{format_address(self.host, self.port)}/{quote(self.dbname, safe='')}"
        return url + (f"?options={quote(self.options, safe='')}" if self.options else "")

    @property
    def url(self) -> str:
        """``postgresql://user:password@host:port/dbname[?options=...]``, password included (masked in its ``repr``)."""
        return Masked(self._format_url(quote(self.password, safe="")), self.redacted_url)

    def sqlalchemy_url(self, driver: str | None = None, installed: Sequence[str] = ()) -> str:
        """The URL for SQLAlchemy's ``create_engine``: ``postgresql+DRIVER://...``; see :func:`sqlalchemy_scheme`.

        >>> Endpoint(host="h", port=1, user="u", password="pw", dbname="d").sqlalchemy_url("psycopg")
        'postgresql+psycopg://u:***@h:1/d'
        """
        scheme = sqlalchemy_scheme(driver, installed)
        return Masked(self._format_url(quote(self.password, safe=""), scheme), self._format_url(MASK, scheme))

    @property
    def connect_kwargs(self) -> dict[str, Any]:
        """host, port, user, password and database as keyword arguments, for drivers that take no URL (pg8000, asyncpg).

        >>> Endpoint(host="h", port=1, user="u", password="pw", dbname="d").connect_kwargs
        {'host': 'h', 'port': 1, 'user': 'u', 'password': '***', 'database': 'd'}
        """
        return _ConnectKwargs(host=self.host, port=self.port, user=self.user, password=self.password, database=self.dbname)

    @property
    def redacted_url(self) -> str:
        """The URL with the password masked: for messages and reprs."""
        return self._format_url(MASK)

    @property
    def env(self) -> dict[str, str]:
        """libpq's variables and ``DATABASE_URL`` for this database.

        >>> sorted(Endpoint(host="h", port=1, user="u", password="pw", dbname="d").env)
        ['DATABASE_URL', 'PGDATABASE', 'PGHOST', 'PGPASSWORD', 'PGPORT', 'PGUSER']
        """
        env = {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": Masked(self.password, MASK),
            "PGDATABASE": self.dbname,
            "DATABASE_URL": self.url,
        }
        if self.options:
            env["PGOPTIONS"] = self.options
        return env

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        """Parse a ``postgresql://user:password@host:port/dbname`` URL; ConfigurationError (redacted) if malformed.

        >>> print(Endpoint.from_url("postgres://u:p%40ss@127.0.0.1:6543/app").password)
        p@ss
        >>> Endpoint.from_url("postgresql://db.example/").dbname
        'postgres'
        """
        text = url.strip()
        parts = urlsplit(text)
        # Known before anything is shown, so no part of it can appear in a message.
        password = unquote(parts.password or "")
        if password:
            register_secret(password)
        shown = redact(text)
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(f"The database URL {shown!r} is malformed ({redact(str(exc))}): use {_URL_FORM}.") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise ConfigurationError(f"The database URL {shown!r} does not start with postgresql://: use {_URL_FORM}.")
        query = parse_qs(parts.query)
        host = unquote(parts.hostname or "") or query.get("host", [""])[0]
        if not host:
            raise ConfigurationError(f"The database URL {shown!r} names no host: use {_URL_FORM}.")
        if host.startswith("/"):
            raise ConfigurationError(f"The database URL {shown!r} names a Unix socket; minitestdb connects over TCP: give a host name or address.")
        user = unquote(parts.username or "") or "postgres"
        dbname = unquote(parts.path.lstrip("/")) or user
        return cls(host=host, port=port or 5432, user=user, password=password, dbname=dbname, options=query.get("options", [""])[0])


class _ConnectKwargs(Dict[str, Any]):
    """Keyword arguments for a driver: a plain dict of plain values (asyncpg accepts only exact ``str``), whose repr masks the password."""

    def __repr__(self) -> str:
        return repr({key: MASK if key == "password" and value else value for key, value in self.items()})


class EndpointView:
    """The parts of ``self.endpoint`` as attributes, for the objects that hand one out (servers, databases)."""

    endpoint: Endpoint

    @property
    def host(self) -> str:
        return self.endpoint.host

    @property
    def port(self) -> int:
        return self.endpoint.port

    @property
    def user(self) -> str:
        return self.endpoint.user

    @property
    def password(self) -> str:
        return self.endpoint.password

    @property
    def dbname(self) -> str:
        """The database to connect to (in the schema mode, the server's own)."""
        return self.endpoint.dbname

    @property
    def url(self) -> str:
        """The connection URL, password included: hand it to the code under test."""
        return self.endpoint.url

    @property
    def redacted_url(self) -> str:
        """The URL with the password masked."""
        return self.endpoint.redacted_url

    @property
    def env(self) -> dict[str, str]:
        """libpq's variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, and PGOPTIONS in the schema mode) and DATABASE_URL."""
        return self.endpoint.env

    @property
    def connect_kwargs(self) -> dict[str, Any]:
        """``host``, ``port``, ``user``, ``password``, ``database``: ``pg8000.connect(**db.connect_kwargs)``, ``asyncpg.connect(**...)``."""
        return self.endpoint.connect_kwargs

    def sqlalchemy_url(self, driver: str | None = None) -> str:
        """The URL for SQLAlchemy: ``postgresql+DRIVER://...`` (*driver* ``"psycopg"``, ``"asyncpg"``...).

        Without *driver*, the first installed of psycopg2, psycopg, pg8000 and
        asyncpg (none is imported); ``postgresql://`` if none is.
        """
        installed = [] if driver else [name for name in SQLALCHEMY_DRIVERS if importlib.util.find_spec(name) is not None]
        return self.endpoint.sqlalchemy_url(driver, installed)
