"""The admin statements templates and clones run, chosen by the server's version: pure.

Every identifier goes through ``quote_ident`` and every value through
``quote_literal``, so a hostile label can never become SQL.  What differs by
version is decided here from ``server_version_num`` and tested with exact
strings: ``DROP DATABASE ... WITH (FORCE)`` from 13, ``STRATEGY FILE_COPY`` from 15,
and which servers minitestdb supports at all (13 and newer: :func:`check_supported`).
So are the advisory locks: template builds, owners (a live process holds its
owner key, which ``prune`` reads back from ``pg_locks``) and prune claims each
have a key space of their own.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

from ._errors import ConfigurationError
from ._wire import quote_ident, quote_literal

__all__ = [
    "LOCK_NAMESPACE",
    "OLDEST_SUPPORTED",
    "OWNER_NAMESPACE",
    "PRUNE_NAMESPACE",
    "advisory_lock_key",
    "check_supported",
    "clone_database_sql",
    "comment_on_database_sql",
    "copy_settings_sql",
    "database_settings_sql",
    "drop_database_sql",
    "format_version",
    "held_owner_keys_sql",
    "int4",
    "minitestdb_databases_sql",
    "owner_lock_seen_sql",
    "owner_lock_sql",
    "parse_owner_keys",
    "prune_claim_key",
    "prune_claim_sql",
    "prune_release_sql",
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


#: First key of the owner locks ("mtow"): a live process holds (OWNER_NAMESPACE, its owner key) in shared mode.
OWNER_NAMESPACE = 0x6D746F77
#: First key of the prune claims ("mtpr"): who scans a template's clones for dead owners, at most once a minute.
PRUNE_NAMESPACE = 0x6D747072
#: Keepalives for the admin sessions, so the server lets go of a lost machine's owner lock within about two minutes (not hours).
_KEEPALIVES = (("tcp_keepalives_idle", 60), ("tcp_keepalives_interval", 10), ("tcp_keepalives_count", 6))


def int4(key: int) -> int:
    """An unsigned 32-bit key (as ``pg_locks`` shows it) as the signed int4 the advisory-lock functions take.

    >>> int4(0), int4(2**31 - 1), int4(2**31), int4(2**32 - 1)
    (0, 2147483647, -2147483648, -1)
    """
    return key - 2**32 if key >= 2**31 else key


def owner_lock_sql(key: int) -> str:
    """Take the owner lock of *key* in shared mode (every connection of one process holds it), with keepalives; one row: ``t`` or ``f``.

    Shared, and tried: no minitestdb session ever asks for it exclusively, so it
    is granted at once; ``f`` would mean somebody else's session does.

    >>> for part in owner_lock_sql(2**32 - 1).split(", set_config"): print(part)
    SELECT set_config('tcp_keepalives_idle', '60', false)
    ('tcp_keepalives_interval', '10', false)
    ('tcp_keepalives_count', '6', false), pg_try_advisory_lock_shared(1836347255, -1)
    """
    keepalives = ", ".join(f"set_config({quote_literal(name)}, '{value}', false)" for name, value in _KEEPALIVES)
    return f"SELECT {keepalives}, pg_try_advisory_lock_shared({OWNER_NAMESPACE}, {int4(key)})"


def owner_lock_seen_sql(key: int) -> str:
    """Whether this session's owner lock of *key* shows in ``pg_locks`` (a pooler may hand the lock to another session, a server may hide it): one count.

    ``pg_locks`` shows the two int4 keys as unsigned oids, ``classid`` and ``objid``, with ``objsubid`` 2.

    >>> print(owner_lock_seen_sql(5))
    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1836347255 AND objid = 5 AND objsubid = 2 AND granted AND pid = pg_backend_pid()
    """
    return f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {OWNER_NAMESPACE} AND objid = {key} AND objsubid = 2 AND granted AND pid = pg_backend_pid()"


def held_owner_keys_sql() -> str:
    """Every owner key some session holds, in any database, of any role (``pg_locks`` shows every session's locks to every user)."""
    return f"SELECT DISTINCT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = {OWNER_NAMESPACE} AND objsubid = 2 AND granted"


def parse_owner_keys(rows: Sequence[Sequence[str | None]]) -> frozenset[int]:
    """The keys of :func:`held_owner_keys_sql`'s rows.

    >>> sorted(parse_owner_keys([("5",), ("4294967295",), (None,)]))
    [5, 4294967295]
    """
    return frozenset(int(row[0]) for row in rows if row and row[0] is not None)


def prune_claim_key(fp: str, bucket: int) -> int:
    """The second key of the claim to scan the clones of template *fp* in minute *bucket*, as a signed int4.

    >>> prune_claim_key("ab" * 32, 28333333), prune_claim_key("ab" * 32, 28333334) != prune_claim_key("ab" * 32, 28333333)
    (265576719, True)
    """
    digest = hashlib.sha256(f"{fp}/{bucket}".encode()).digest()
    return int4(int.from_bytes(digest[:4], "big"))


def prune_claim_sql(fp: str, bucket: int) -> str:
    """Claim the scan of template *fp*'s clones for minute *bucket*: ``t`` for the one session that gets it, ``f`` for the others.

    The claim is a session lock kept until the session ends, so nobody else scans in that minute.

    >>> print(prune_claim_sql("ab" * 32, 28333333))
    SELECT pg_try_advisory_lock(1836347506, 265576719)
    """
    return f"SELECT pg_try_advisory_lock({PRUNE_NAMESPACE}, {prune_claim_key(fp, bucket)})"


def prune_release_sql(fp: str, bucket: int) -> str:
    """Let go of an older claim (one per template and session is enough: the lock table is shared and bounded).

    >>> print(prune_release_sql("ab" * 32, 28333333))
    SELECT pg_advisory_unlock(1836347506, 265576719)
    """
    return f"SELECT pg_advisory_unlock({PRUNE_NAMESPACE}, {prune_claim_key(fp, bucket)})"


def minitestdb_databases_sql(fp: str | None = None) -> str:
    """minitestdb's databases, oldest first, one row each: name, comment, how many sessions use it.

    With *fp*, only the clones and half-built builds of the template of that fingerprint
    (what a process scans when it builds or finds the template).

    >>> print(minitestdb_databases_sql().split(" FROM pg_database d ")[-1])
    WHERE d.datname LIKE 'mtdb\\_%' ORDER BY d.oid
    >>> print(minitestdb_databases_sql("0123456789abcdef" * 4).split(" FROM pg_database d ")[-1])
    WHERE (d.datname LIKE 'mtdb\\_%\\_01234567\\_%' OR d.datname LIKE 'mtdb\\_tmp\\_0123456789abcdef\\_%') ORDER BY d.oid
    """
    if fp is None:
        where = "d.datname LIKE 'mtdb\\_%'"
    else:
        if not re.fullmatch(r"[0-9a-f]{16,}", fp):
            raise ValueError(f"a fingerprint is hex digits, not {fp!r}")
        # In LIKE, "\_" is a literal underscore (standard_conforming_strings is on from 9.1).
        where = f"(d.datname LIKE 'mtdb\\_%\\_{fp[:8]}\\_%' OR d.datname LIKE 'mtdb\\_tmp\\_{fp[:16]}\\_%')"
    return (
        "SELECT d.datname, coalesce(shobj_description(d.oid, 'pg_database'), ''), "
        "(SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname) "
        f"FROM pg_database d WHERE {where} ORDER BY d.oid"
    )


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
