"""Pure naming rules: migration inputs, template fingerprints, database and schema names.

Every database or schema minitestdb creates has a name of its own form (a
prefix, a fingerprint, an owner), at most 63 bytes, so that nothing outside
those forms is ever dropped and no two processes (or hosts) collide.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import os
import re
import threading
from typing import NamedTuple, Sequence, Union

from ._container import hostname
from ._errors import ConfigurationError

__all__ = [
    "CLONE_PREFIX",
    "FORMAT_VERSION",
    "MAX_IDENTIFIER_BYTES",
    "SCHEMA_PREFIX",
    "TEMPLATE_PREFIX",
    "TEMP_PREFIX",
    "InputFile",
    "ParsedName",
    "clone_name",
    "fingerprint",
    "host_tag",
    "parse_name",
    "resolve_inputs",
    "schema_name",
    "slug",
    "temp_build_name",
    "template_name",
]

#: Bumped when the way templates are built changes, so old templates are not reused.
FORMAT_VERSION = "1"
MAX_IDENTIFIER_BYTES = 63
TEMPLATE_PREFIX = "mtdb_tpl_"
TEMP_PREFIX = "mtdb_tmp_"
CLONE_PREFIX = "mtdb_"
SCHEMA_PREFIX = "test_"

PathLike = Union[str, "os.PathLike[str]"]
_MAGIC = re.compile(r"[*?[]")


class InputFile(NamedTuple):
    """One migration or seed file: where it is, and the name it is hashed under."""

    path: str
    relative: str


def _expand(item: PathLike) -> list[InputFile]:
    text = os.fspath(item)
    if _MAGIC.search(text):
        # The part before the first wildcard is the base the names are relative to.
        base = os.path.dirname(text[: _MAGIC.search(text).start()]) or "."  # type: ignore[union-attr]
        matches = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
        if not matches:
            raise ConfigurationError(f"The pattern {text!r} matches no file: check the path (relative to {os.getcwd()}).")
        return [InputFile(p, os.path.relpath(p, base)) for p in matches]
    if os.path.isdir(text):
        found = sorted(
            os.path.join(root, name)
            for root, _dirs, names in os.walk(text)
            for name in names
            if name.endswith(".sql")
        )
        if not found:
            raise ConfigurationError(f"The directory {text!r} holds no .sql file.")
        return [InputFile(p, os.path.relpath(p, text)) for p in found]
    if os.path.isfile(text):
        return [InputFile(text, os.path.basename(text))]
    raise ConfigurationError(f"The migration input {text!r} does not exist (relative to {os.getcwd()}).")


def resolve_inputs(items: PathLike | Sequence[PathLike] | None) -> list[InputFile]:
    """Expand paths, globs and directories into files, in order.

    A directory gives its ``*.sql`` files (recursively) in sorted order, a glob its
    matches in sorted order; a list keeps its own order.  A file named twice is
    applied once, where it first appears.
    """
    if items is None:
        return []
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    seen: set[str] = set()
    out: list[InputFile] = []
    for item in items:
        for entry in _expand(item):
            key = os.path.realpath(entry.path)
            if key not in seen:
                seen.add(key)
                out.append(entry)
    return out


def fingerprint(*, sql: Sequence[InputFile], seed: Sequence[InputFile], server_version: int, role: str) -> str:
    """A hex digest over everything that makes a template what it is.

    The tool format version, the server's version, the role, and for each input
    (in order, migrations then seeds) its relative name and the hash of its bytes.
    """
    digest = hashlib.sha256()
    digest.update(f"minitestdb-template/{FORMAT_VERSION}\0{server_version}\0{role}\0".encode())
    for kind, files in (("sql", sql), ("seed", seed)):
        for entry in files:
            with open(entry.path, "rb") as fh:
                content = hashlib.sha256(fh.read()).hexdigest()
            digest.update(f"{kind}\0{entry.relative}\0{content}\0".encode())
    return digest.hexdigest()


def slug(text: str, limit: int = 20) -> str:
    """Lower-case letters, digits and single underscores, at most *limit* characters.

    >>> slug("My Tests/test_users.py::TestX")
    'my_tests_test_users'
    """
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out[:limit].rstrip("_")


def host_tag(host: str | None = None) -> str:
    """Four hex characters naming this host, so owners on other hosts are recognised."""
    return hashlib.sha256((host or hostname()).encode()).hexdigest()[:4]


def _random_hex(nbytes: int) -> str:
    # Random bits for uniqueness, from the same source as the secrets module.
    return os.urandom(nbytes).hex()


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if value == 0:
            return out


def template_name(label: str | None, fp: str) -> str:
    """``mtdb_tpl_<label>_<fingerprint>``: the same inputs always give the same name."""
    middle = slug(label or "", 20)
    name = f"{TEMPLATE_PREFIX}{middle}_{fp[:24]}" if middle else f"{TEMPLATE_PREFIX}{fp[:24]}"
    return name[:MAX_IDENTIFIER_BYTES]


def temp_build_name(fp: str, pid: int | None = None) -> str:
    """The name a template is built under before the rename: ``mtdb_tmp_<fp>_<host><pid>_<rand>``."""
    return f"{TEMP_PREFIX}{fp[:16]}_{host_tag()}{_base36(os.getpid() if pid is None else pid)}_{_random_hex(3)}"


_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _next_counter() -> int:
    with _counter_lock:
        return next(_counter)


def clone_name(label: str | None, fp: str, *, pid: int | None = None, host: str | None = None) -> str:
    """A database name unique across processes and hosts, at most 63 bytes.

    ``mtdb_<label>_<fp8>_<host4><pid36>_<counter36><rand6>``; the label is a slug
    of the caller's name (say, the test's id) to help a person reading
    ``\\l``; the owner part lets :func:`prune` find clones whose process is gone.
    """
    owner = f"{host_tag(host)}{_base36(os.getpid() if pid is None else pid)}"
    tail = f"{fp[:8]}_{owner}_{_base36(_next_counter())}{_random_hex(3)}"
    room = MAX_IDENTIFIER_BYTES - len(CLONE_PREFIX) - len(tail) - 1
    middle = slug(label or "", max(0, min(20, room)))
    return f"{CLONE_PREFIX}{middle}_{tail}" if middle else f"{CLONE_PREFIX}{tail}"


def schema_name(label: str | None = None) -> str:
    """``test_<label>_<host4><pid36>_<counter36><rand6>`` for the schema mode."""
    owner = f"{host_tag()}{_base36(os.getpid())}"
    tail = f"{owner}_{_base36(_next_counter())}{_random_hex(3)}"
    middle = slug(label or "", 20)
    return f"{SCHEMA_PREFIX}{middle}_{tail}" if middle else f"{SCHEMA_PREFIX}{tail}"


_CLONE = re.compile(r"^mtdb_(?:(?P<label>[a-z0-9_]*)_)?(?P<fp>[0-9a-f]{8})_(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)_(?P<rest>[0-9a-z]+)$")
_TEMP = re.compile(r"^mtdb_tmp_(?P<fp>[0-9a-f]{16})_(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)_(?P<rest>[0-9a-f]+)$")
_SCHEMA = re.compile(r"^test_(?:(?P<label>[a-z0-9_]*)_)?(?P<host>[0-9a-f]{4})(?P<pid>[0-9a-z]+)_(?P<rest>[0-9a-z]+)$")


class ParsedName(NamedTuple):
    """What a minitestdb database or schema name says about itself."""

    kind: str  # "template", "temp", "clone" or "schema"
    host: str = ""
    pid: int = 0


def parse_name(name: str) -> ParsedName | None:
    """The kind and owner of a minitestdb name, or None for a name that is not ours."""
    if name.startswith(TEMPLATE_PREFIX):
        return ParsedName("template") if re.match(r"^mtdb_tpl_(?:[a-z0-9_]*_)?[0-9a-f]{24}$", name) else None
    for kind, pattern in (("temp", _TEMP), ("clone", _CLONE), ("schema", _SCHEMA)):
        match = pattern.match(name)
        if match:
            return ParsedName(kind, match.group("host"), int(match.group("pid"), 36))
    return None
