"""The admin statements templates and clones run, chosen by the server's version: pure.

Every identifier goes through ``quote_ident`` and every value through
``quote_literal``, so a hostile label can never become SQL.  What differs by
version is decided here from ``server_version_num`` and tested with exact
strings: ``DROP DATABASE ... WITH (FORCE)`` from 13, ``STRATEGY FILE_COPY`` from 15,
and which servers minitestdb supports at all (13 and newer: :func:`check_supported`).
"""

from __future__ import annotations

from ._errors import ConfigurationError
from ._wire import quote_ident, quote_literal

__all__ = [
    "LOCK_NAMESPACE",
    "OLDEST_SUPPORTED",
    "advisory_lock_key",
    "check_supported",
    "clone_database_sql",
    "comment_on_database_sql",
    "copy_settings_sql",
    "database_settings_sql",
    "drop_database_sql",
    "format_version",
    "rename_database_sql",
    "terminate_sessions_sql",
]

#: The oldest server minitestdb supports, as ``server_version_num``: PostgreSQL 13 (the
#: oldest major the PostgreSQL project supported when this was written, and the first
#: with ``DROP DATABASE ... WITH (FORCE)``).
OLDEST_SUPPORTED = 130000


def format_version(version: int) -> str:
    """A ``server_version_num`` as people write it: 130016 -> 13.16, 90624 -> 9.6.24.

    >>> format_version(180000), format_version(130016), format_version(90624)
    ('18.0', '13.16', '9.6.24')
    """
    major, rest = divmod(version, 10000)
    if major >= 10:
        return f"{major}.{rest}"
    return f"{major}.{rest // 100}.{rest % 100}"


def check_supported(version: int, where: str = "") -> None:
    """Raise ConfigurationError if the server (``server_version_num`` *version*, at *where*) is older than 13.

    0 means the server did not say (a proxy may not): it is not refused.

    >>> check_supported(130000)
    >>> check_supported(120022, "127.0.0.1:5432")
    Traceback (most recent call last):
    ...
    minitestdb._errors.ConfigurationError: The server at 127.0.0.1:5432 runs PostgreSQL 12.22, but minitestdb supports PostgreSQL 13 and newer: use a newer image or server.
    """
    if 0 < version < OLDEST_SUPPORTED:
        at = f" at {where}" if where else ""
        raise ConfigurationError(
            f"The server{at} runs PostgreSQL {format_version(version)}, but minitestdb supports "
            f"PostgreSQL {OLDEST_SUPPORTED // 10000} and newer: use a newer image or server."
        )


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


def rename_database_sql(name: str, new_name: str) -> str:
    """Rename *name* (nobody may be connected to it).

    >>> rename_database_sql("mtdb_c", "mtdb_kept_test_x_1")
    'ALTER DATABASE "mtdb_c" RENAME TO "mtdb_kept_test_x_1"'
    """
    return f"ALTER DATABASE {quote_ident(name)} RENAME TO {quote_ident(new_name)}"


def comment_on_database_sql(name: str, text: str) -> str:
    """Set the comment of *name* (minitestdb records there when a template was built, or a test's database kept).

    >>> print(comment_on_database_sql("mtdb_kept_x_1", "minitestdb kept at=1.5 test=t.py::test_it's"))
    COMMENT ON DATABASE "mtdb_kept_x_1" IS 'minitestdb kept at=1.5 test=t.py::test_it''s'
    """
    return f"COMMENT ON DATABASE {quote_ident(name)} IS {quote_literal(text)}"


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


def database_settings_sql(name: str) -> str:
    """The per-database settings of *name* (``ALTER DATABASE ... SET``, ``ALTER ROLE ... IN DATABASE ... SET``), one row each: role ('' for all), ``name=value``."""
    return (
        "SELECT coalesce(r.rolname, ''), unnest(s.setconfig) FROM pg_db_role_setting s "
        f"JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = {quote_literal(name)} ORDER BY 1, 2"
    )


# Settings whose stored value is a list of (quoted) identifiers: re-applied as written.
_LIST_OF_IDENTIFIERS = frozenset({"search_path", "temp_tablespaces", "session_preload_libraries", "local_preload_libraries"})


def copy_settings_sql(database: str, settings: list[tuple[str, str]]) -> list[str]:
    """Statements giving *database* the per-database settings a template has (PostgreSQL does not copy them to clones).

    *settings* are :func:`database_settings_sql` rows: (role or '', ``name=value``).

    >>> copy_settings_sql("mtdb_c", [("", "TimeZone=Europe/Paris"), ("", 'search_path="$user", app'), ("app", "work_mem=64MB")])
    ['ALTER DATABASE "mtdb_c" SET "timezone" = \\'Europe/Paris\\'', 'ALTER DATABASE "mtdb_c" SET "search_path" = "$user", app', 'ALTER ROLE "app" IN DATABASE "mtdb_c" SET "work_mem" = \\'64MB\\'']
    """
    out = []
    for role, assignment in settings:
        key, _, value = assignment.partition("=")
        name = key.strip().lower()
        setting = ".".join(quote_ident(part) for part in name.split("."))
        shown = value if name in _LIST_OF_IDENTIFIERS else quote_literal(value)
        target = f"ALTER ROLE {quote_ident(role)} IN DATABASE {quote_ident(database)}" if role else f"ALTER DATABASE {quote_ident(database)}"
        out.append(f"{target} SET {setting} = {shown}")
    return out
