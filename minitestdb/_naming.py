"""Pure naming rules: template, clone, schema, half-built template and kept names, and parsing them back.

Every database or schema minitestdb creates has a name of its own form (a
prefix, a fingerprint, an owner, a unique suffix), at most 63 bytes, so that
nothing outside those forms is ever dropped and no two processes (or hosts)
collide.  The owner and the unique suffix are arguments (``_owner`` makes them),
so every rule here is tested with exact inputs.

The owner part is ``<host4><pid36>``, followed by ``_k<key36>`` when the owner
holds its owner lock on the server (the key ``prune`` looks up in ``pg_locks``,
on any host).  The second-to-last segment of an older name is ``<host4><pid36>``,
which starts with a hex digit, never ``k``: old and new names never parse as each
other, and an older minitestdb recognises no keyed name (so never drops one).

A failed test's database is kept as ``mtdb_kept_<test>_<n>``: no owner (it
outlives its process on purpose), a number that makes it unique.  No clone name
ever starts with ``mtdb_kept_`` (nor ``mtdb_tpl_``), so each name has one kind.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Iterable, NamedTuple, Sequence

__all__ = [
    "CLONE_PREFIX",
    "KEPT_PREFIX",
    "MAX_IDENTIFIER_BYTES",
    "MAX_OWNER_KEY",
    "SCHEMA_PREFIX",
    "TEMPLATE_PREFIX",
    "TEMP_PREFIX",
    "ParsedName",
    "base36",
    "clone_name",
    "host_tag",
    "kept_name",
    "next_kept_number",
    "owner_key_part",
    "owner_part",
    "parse_name",
    "schema_name",
    "slug",
    "temp_build_name",
    "template_family",
    "template_group",
    "template_name",
    "template_source",
    "unique_part",
]

MAX_IDENTIFIER_BYTES = 63
TEMPLATE_PREFIX = "mtdb_tpl_"
TEMP_PREFIX = "mtdb_tmp_"
CLONE_PREFIX = "mtdb_"
KEPT_PREFIX = "mtdb_kept_"
SCHEMA_PREFIX = "test_"
#: How many hex digits of the fingerprint a template name carries.
TEMPLATE_FP_DIGITS = 24


def slug(text: str, limit: int = 20) -> str:
    """Lower-case letters, digits and single underscores, at most *limit* characters.

    >>> slug("My Tests/test_users.py::TestX")
    'my_tests_test_users'
    """
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out[:limit].rstrip("_")


def base36(value: int) -> str:
    """*value* (0 or more) in base 36, lower case.

    >>> base36(0), base36(35), base36(36)
    ('0', 'z', '10')
    """
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if value == 0:
            return out


def host_tag(host: str) -> str:
    """Four hex characters naming a host inside database and schema names.

    >>> host_tag("ci-runner-7")
    '569f'
    """
    return hashlib.sha256(host.encode()).hexdigest()[:4]


#: The unsigned 32-bit owner keys (the second int4 of the owner lock, as ``pg_locks.objid`` shows it).
MAX_OWNER_KEY = 2**32 - 1


def owner_key_part(key: int) -> str:
    """``k<key36>``: an owner key inside a name (``k`` is no hex digit, so no older owner part starts so).

    >>> owner_key_part(0), owner_key_part(2**32 - 1)
    ('k0', 'k1z141z3')
    """
    if not 0 <= key <= MAX_OWNER_KEY:
        raise ValueError(f"an owner key is an unsigned 32-bit number, not {key}")
    return f"k{base36(key)}"


def owner_part(host: str, pid: int, key: int | None = None) -> str:
    """``<host4><pid36>``, plus ``_k<key36>`` with an owner *key*: the owner part of a clone, schema or half-built template name.

    >>> owner_part("ci-runner-7", 4321), owner_part("ci-runner-7", 4321, 36)
    ('569f3c1', '569f3c1_k10')
    """
    plain = f"{host_tag(host)}{base36(pid)}"
    return plain if key is None else f"{plain}_{owner_key_part(key)}"


def unique_part(count: int, random_hex: str) -> str:
    """A per-process counter and random hex digits: unique among one process's names, and across processes.

    >>> unique_part(37, "c0ffee")
    '11c0ffee'
    """
    return f"{base36(count)}{random_hex}"


def template_name(label: str | None, fp: str) -> str:
    """``mtdb_tpl_<label>_<fingerprint>``: the same inputs always give the same name."""
    middle = slug(label or "", 20)
    digits = fp[:TEMPLATE_FP_DIGITS]
    name = f"{TEMPLATE_PREFIX}{middle}_{digits}" if middle else f"{TEMPLATE_PREFIX}{digits}"
    return name[:MAX_IDENTIFIER_BYTES]


def template_family(name: str) -> str:
    """A template's name without its fingerprint: the builds of one project share it (``prune`` keeps the newest)."""
    return name[: -(TEMPLATE_FP_DIGITS + 1)]


def temp_build_name(fp: str, *, owner: str, suffix: str) -> str:
    """The name a template is built under before the rename: ``mtdb_tmp_<fp16>_<owner>_<suffix>``.

    >>> temp_build_name("ab" * 32, owner="1a2b3f", suffix="c0ffee")
    'mtdb_tmp_abababababababab_1a2b3f_c0ffee'
    """
    return f"{TEMP_PREFIX}{fp[:16]}_{owner}_{suffix}"


def clone_name(label: str | None, fp: str, *, owner: str, suffix: str) -> str:
    """A database name unique across processes and hosts, at most 63 bytes.

    ``mtdb_<label>_<fp8>_<owner>_<suffix>``; the label is a slug of the caller's
    name (say, the test's id) to help a person reading ``\\l``; the owner part
    (host tag and pid) lets ``prune`` find clones whose process is gone.

    >>> clone_name("test_users", "0123456789abcdef", owner="1a2b3f", suffix="1c0ffee")
    'mtdb_test_users_01234567_1a2b3f_1c0ffee'
    """
    tail = f"{fp[:8]}_{owner}_{suffix}"
    # Room is left for the "_<n>" (up to 4 digits) Django's parallel test workers append.
    room = MAX_IDENTIFIER_BYTES - len(CLONE_PREFIX) - len(tail) - 1 - len("_9999")
    middle = slug(label or "", max(0, min(20, room)))
    if middle.split("_", 1)[0] in _RESERVED_WORDS:
        # "mtdb_kept_..." and "mtdb_tpl_..." name other kinds: such a label gets a "c" in front.
        middle = slug("c_" + middle, max(0, min(20, room)))
    return f"{CLONE_PREFIX}{middle}_{tail}" if middle else f"{CLONE_PREFIX}{tail}"


def template_source(label: str | None, directories: Sequence[str]) -> str:
    """Where a template comes from, for ``prune``: its label, else the common directory of its inputs.

    *directories* are absolute: those of the sql and seed files and the
    migrator's working directory.  ``""`` when there is neither (``prune`` then
    groups it by name, as for templates built before sources were recorded).

    >>> template_source(None, ["/p/app/migrations", "/p/app", "/p/app/seeds"])
    'dir:/p/app'
    >>> template_source("users", ["/p/app"])
    'label:users'
    """
    if label and label.strip():
        return f"label:{label.strip()}"
    return f"dir:{os.path.commonpath(list(directories))}" if directories else ""


def template_group(name: str, source: str) -> str:
    """The group ``prune`` keeps the newest templates of: their source, else (templates built before sources were recorded) their name without the fingerprint.

    >>> template_group("mtdb_tpl_aaaaaaaaaaaaaaaaaaaaaaaa", "dir:/p/app"), template_group("mtdb_tpl_users_aaaaaaaaaaaaaaaaaaaaaaaa", "")
    ('source dir:/p/app', 'name mtdb_tpl_users')
    """
    return f"source {source}" if source else f"name {template_family(name)}"


def kept_name(label: str | None, number: int) -> str:
    """``mtdb_kept_<label>_<n>``, at most 63 bytes: the name a failed test's database is kept under.

    >>> kept_name("test_signup[pg-15]", 3)
    'mtdb_kept_test_signup_pg_15_3'
    """
    tail = f"_{number}"
    middle = slug(label or "", MAX_IDENTIFIER_BYTES - len(KEPT_PREFIX) - len(tail))
    return f"{KEPT_PREFIX}{middle}{tail}" if middle else f"{KEPT_PREFIX}{number}"


def next_kept_number(label: str | None, existing: Iterable[str]) -> int:
    """One more than the highest number among the *existing* kept names for *label* (1 for the first).

    >>> next_kept_number("test_a", ["mtdb_kept_test_a_1", "mtdb_kept_test_a_b_7", "mtdb_kept_test_a_4", "mtdb_kept_test_ab_9"])
    5
    """
    highest = 0
    for name in existing:
        number = name.rsplit("_", 1)[-1]
        if number.isdigit() and kept_name(label, int(number)) == name:
            highest = max(highest, int(number))
    return highest + 1


def schema_name(label: str | None, *, owner: str, suffix: str) -> str:
    """``test_<label>_<owner>_<suffix>`` for the schema mode.

    >>> schema_name(None, owner="1a2b3f", suffix="1c0ffee")
    'test_1a2b3f_1c0ffee'
    """
    tail = f"{owner}_{suffix}"
    middle = slug(label or "", 20)
    return f"{SCHEMA_PREFIX}{middle}_{tail}" if middle else f"{SCHEMA_PREFIX}{tail}"


_RESERVED_WORDS = frozenset({"kept", "tpl"})
# The label is a slug: words of [a-z0-9] joined by single underscores.
_KEPT = re.compile(r"^mtdb_kept_(?:[a-z0-9]+(?:_[a-z0-9]+)*_)?[0-9]+$")
_TEMPLATE = re.compile(r"^mtdb_tpl_(?:[a-z0-9_]*_)?[0-9a-f]{24}$")
# A clone may end in _<n>: Django's parallel test workers use <test database>_<n>.
_CLONE = re.compile(r"^mtdb_(?:(?P<label>[a-z0-9_]*)_)?(?P<fp>[0-9a-f]{8})_(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)_(?P<rest>[0-9a-z]+)(?:_[0-9]{1,4})?$")
_TEMP = re.compile(r"^mtdb_tmp_(?P<fp>[0-9a-f]{16})_(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)_(?P<rest>[0-9a-f]+)$")
_SCHEMA = re.compile(r"^test_(?:(?P<label>[a-z0-9_]*)_)?(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)_(?P<rest>[0-9a-z]+)$")
# The same with the owner key: `_k<key36>` after the owner.  A unique part is a counter and 6 hex
# digits (7 characters or more), so a Django copy's `_<n>` (4 digits at most) is never taken for it.
_KEY = r"_k(?P<key>[0-9a-z]{1,7})"
_KEYED_CLONE = re.compile(r"^mtdb_(?:(?P<label>[a-z0-9_]*)_)?(?P<fp>[0-9a-f]{8})_(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)" + _KEY + r"_(?P<rest>[0-9a-z]{7,})(?:_[0-9]{1,4})?$")
_KEYED_TEMP = re.compile(r"^mtdb_tmp_(?P<fp>[0-9a-f]{16})_(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)" + _KEY + r"_(?P<rest>[0-9a-f]+)$")
_KEYED_SCHEMA = re.compile(r"^test_(?:(?P<label>[a-z0-9_]*)_)?(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)" + _KEY + r"_(?P<rest>[0-9a-z]{7,})$")


class ParsedName(NamedTuple):
    """What a minitestdb database or schema name says about itself."""

    kind: str  # "template", "temp", "clone", "schema" or "kept" (no owner: host "" and pid 0)
    host: str = ""
    pid: int = 0
    #: The owner key (None in names made before owner keys, or by an owner that could not show its lock).
    key: int | None = None


def parse_name(name: str) -> ParsedName | None:
    """The kind and owner of a minitestdb name, or None for a name that is not ours.

    >>> parse_name("mtdb_test_users_01234567_1a2b3f_1c0ffee")
    ParsedName(kind='clone', host='1a2b', pid=123, key=None)
    >>> parse_name("mtdb_test_users_01234567_1a2b3f_k10_1c0ffee")
    ParsedName(kind='clone', host='1a2b', pid=123, key=36)
    >>> parse_name("app_production") is None
    True
    """
    if name.startswith(TEMPLATE_PREFIX):
        return ParsedName("template") if _TEMPLATE.match(name) else None
    if name.startswith(KEPT_PREFIX):
        return ParsedName("kept") if _KEPT.match(name) else None
    for kind, pattern in _OWNED:
        match = pattern.match(name)
        if match:
            key = match.groupdict().get("key")
            owner_key = int(key, 36) if key is not None else None
            if owner_key is not None and owner_key > MAX_OWNER_KEY:
                return None
            return ParsedName(kind, match.group("host"), int(match.group("pid"), 36), owner_key)
    return None


_OWNED = (("temp", _KEYED_TEMP), ("temp", _TEMP), ("clone", _KEYED_CLONE), ("clone", _CLONE), ("schema", _KEYED_SCHEMA), ("schema", _SCHEMA))
