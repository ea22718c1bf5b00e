"""The admin statements templates and clones run, chosen by the server's version: pure.

Every identifier goes through ``quote_ident`` and every value through
``quote_literal``, so a hostile label can never become SQL.  What differs by
version is decided here from ``server_version_num`` and tested with exact
strings: ``DROP DATABASE ... WITH (FORCE)`` from 13, ``STRATEGY FILE_COPY`` from 15.
"""

from __future__ import annotations

from ._wire import quote_ident, quote_literal

__all__ = [
    "LOCK_NAMESPACE",
    "advisory_lock_key",
    "clone_database_sql",
    "drop_database_sql",
    "terminate_sessions_sql",
]

#: First key of every advisory lock minitestdb takes ("mtdb"), so it never meets an application's locks.
LOCK_NAMESPACE = 0x6D746462


def advisory_lock_key(fp: str) -> int:
    """The second advisory-lock key of a template build: 32 bits of its fingerprint, as a signed int4.

    >>> advisory_lock_key("00000000"), advisory_lock_key("ffffffff")
    (-2147483648, 2147483647)
    """
    return int(fp[:8], 16) - 2**31


def terminate_sessions_sql(name: str) -> str:
    """End every other session connected to the database *name*."""
    return f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {quote_literal(name)} AND pid <> pg_backend_pid()"


def drop_database_sql(name: str, version: int) -> list[str]:
    """Drop *name* even while sessions use it: ``WITH (FORCE)`` from 13, terminate-then-drop before.

    >>> drop_database_sql("mtdb_x", 150004)
    ['DROP DATABASE IF EXISTS "mtdb_x" WITH (FORCE)']
    """
    if version >= 130000:
        return [f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)"]
    return [terminate_sessions_sql(name), f"DROP DATABASE IF EXISTS {quote_ident(name)}"]


def clone_database_sql(name: str, template: str, version: int) -> str:
    """Create *name* as a copy of *template*.

    FILE_COPY from 15 on: WAL_LOG (15's default) writes the whole database to WAL,
    twice as slow on a tmpfs.

    >>> clone_database_sql("mtdb_c", "mtdb_tpl_x", 150004)
    'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x" STRATEGY FILE_COPY'
    >>> clone_database_sql("mtdb_c", "mtdb_tpl_x", 140010)
    'CREATE DATABASE "mtdb_c" TEMPLATE "mtdb_tpl_x"'
    """
    strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
    return f"CREATE DATABASE {quote_ident(name)} TEMPLATE {quote_ident(template)}{strategy}"
