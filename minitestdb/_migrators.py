"""Migrators: whatever builds a template's schema, with a fingerprint that says when to rebuild.

A migrator is any object with three methods (the :class:`Migrator` protocol, as
Go's pgtestdb has): ``describe()`` names it in messages, ``fingerprint()``
changes whenever the database it builds would, and ``migrate(endpoint)`` builds
it in the (empty) database at *endpoint*.  minitestdb calls ``fingerprint()`` to
name the template and ``migrate()`` once, under the build lock, to build it.

Ready-made: :func:`command` (any argv, run without a shell), :func:`function`
(a Python callable taking the URL) and ``minitestdb.alembic()``.  Their
fingerprints cover the declared *inputs* (files, globs, directories: relative
names and contents), the migrator's identity and an optional *key*; a migrator
with neither inputs nor key is refused, since nothing would tell minitestdb
when to rebuild.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from typing import Callable, Mapping, Protocol, Sequence, Union, runtime_checkable

from ._endpoint import Endpoint
from ._errors import ConfigurationError, MigrationError
from ._migrations import DEFAULT_MIGRATION_TIMEOUT, PathLike
from ._psql import psql_environment

__all__ = [
    "CommandMigrator",
    "FunctionMigrator",
    "MigrateArg",
    "Migrator",
    "command",
    "digest_inputs",
    "function",
    "migration_env",
    "migrator_raised",
    "stable_digest",
    "to_migrator",
]

#: How many lines of a failed migrator's output an error shows.
OUTPUT_TAIL_LINES = 40
_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".venv", "node_modules"})


@runtime_checkable
class Migrator(Protocol):
    """What ``template(migrate=...)`` accepts besides an argv list or a function.

    A few lines are enough for a tool of your own::

        class Sqitch:
            def describe(self) -> str:
                return "sqitch deploy"
            def fingerprint(self) -> str:
                return minitestdb.digest_inputs(["sqitch.plan", "deploy/"])
            def migrate(self, endpoint: minitestdb.Endpoint) -> None:
                subprocess.run(["sqitch", "deploy", endpoint.url], check=True)
    """

    def describe(self) -> str:
        """A short name for messages, e.g. ``command 'alembic upgrade head'``."""

    def fingerprint(self) -> str:
        """A string that changes whenever the database :meth:`migrate` builds would change."""

    def migrate(self, endpoint: Endpoint) -> None:
        """Build the schema (and data) in the database at *endpoint*; raise on failure."""


MigrateArg = Union[Sequence[str], Callable[[str], object], Migrator]


# --- inputs -----------------------------------------------------------------------------


def _files_of(item: PathLike, base: str) -> list[str]:
    text = os.path.expanduser(os.fspath(item))
    path = text if os.path.isabs(text) else os.path.join(base, text)
    if any(ch in text for ch in "*?["):
        matches = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not matches:
            raise ConfigurationError(f"The input pattern {text!r} matches no file (relative to {base}).")
        return matches
    if os.path.isdir(path):
        found = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.endswith(".egg-info"))
            found += [os.path.join(root, n) for n in names if not n.endswith((".pyc", ".pyo")) and not n.startswith(".")]
        return sorted(found)
    if os.path.isfile(path):
        return [path]
    raise ConfigurationError(f"The input {text!r} does not exist (relative to {base}).")


def digest_inputs(items: Sequence[PathLike], base: str | None = None) -> str:
    """One hex digest over files, globs and directories: their names relative to *base* and their contents.

    Directories are walked recursively, leaving out ``__pycache__``, compiled
    files, dot-files and tool caches; the order of *items* does not matter.
    Use it in a migrator of your own::

        def fingerprint(self) -> str:
            return minitestdb.digest_inputs(["schema.rb", "db/"])
    """
    root = os.path.abspath(base or os.getcwd())
    files: dict[str, str] = {}
    for item in items:
        for path in _files_of(item, root):
            files[os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")] = path
    digest = hashlib.sha256()
    for relative in sorted(files):
        with open(files[relative], "rb") as fh:
            digest.update(f"{relative}\0{hashlib.sha256(fh.read()).hexdigest()}\0".encode())
    return digest.hexdigest()


def _identity_fingerprint(kind: str, identity: object, *, inputs: Sequence[PathLike], key: str | None, base: str, shown: str) -> str:
    if not inputs and key is None:
        raise ConfigurationError(
            f"The migrator {shown} has neither inputs nor key, so minitestdb cannot know when to rebuild its template: "
            "pass inputs=[the files it reads] (or --inputs), or key='...' for anything else that decides the schema."
        )
    return stable_digest({"kind": kind, "identity": identity, "inputs": digest_inputs(inputs, base) if inputs else "", "key": key})


def stable_digest(parts: object) -> str:
    """A hex digest of JSON-able *parts* (dict keys sorted; anything else as ``str``): the same parts give the same digest in any process."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# --- running -----------------------------------------------------------------------------


def migration_env(endpoint: Endpoint, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a migrator command runs with: psql's (*base* plus ``PG*`` and ``DATABASE_URL``) and ``TEST_DATABASE_URL``."""
    env = psql_environment(endpoint, os.environ if base is None else base)
    env["TEST_DATABASE_URL"] = endpoint.url
    return env


def _tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _stream_to_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class CommandMigrator:
    """Runs an argv (never through a shell) against the database being built; see :func:`command`."""

    def __init__(
        self, argv: Sequence[str], *, inputs: Sequence[PathLike] = (), key: str | None = None, cwd: str | None = None, timeout: float | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        if isinstance(argv, str):
            raise ConfigurationError(f"The migrate command {argv!r} is a string, which would need a shell: pass a list, e.g. {argv.split()!r} (or shlex.split it).")
        if not argv or not all(isinstance(part, str) for part in argv):
            raise ConfigurationError(f"The migrate command must be a non-empty list of strings, not {argv!r}.")
        self.argv = list(argv)
        self.inputs = list(inputs)
        self.key = key
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.timeout = DEFAULT_MIGRATION_TIMEOUT if timeout is None else timeout
        self.env = dict(env or {})

    def __repr__(self) -> str:
        return f"<minitestdb.command {self.argv!r}>"

    def describe(self) -> str:
        return f"command `{shlex.join(self.argv)}`"

    def fingerprint(self) -> str:
        return _identity_fingerprint("command", self.argv, inputs=self.inputs, key=self.key, base=self.cwd, shown=self.describe())

    def migrate(self, endpoint: Endpoint) -> None:
        env = migration_env(endpoint)
        env.update(self.env)
        try:
            proc = subprocess.Popen(self.argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            raise MigrationError(f"The migrator {self.describe()} could not be started ({exc.strerror}): check the command and PATH.", migrator=self.describe()) from None
        output: list[str] = []
        # Read in a thread, so the timeout holds even when the command prints nothing.
        reader = threading.Thread(target=_collect, args=(proc, output, _stream_to_terminal()), daemon=True)
        reader.start()
        try:
            code = proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            reader.join(5)
            raise MigrationError(
                f"The migrator {self.describe()} did not finish within {self.timeout:g} s: look for a lock wait, a prompt, or a slow step.",
                migrator=self.describe(), output=_tail("".join(output)), detail="output tail:\n" + _tail("".join(output)),
            ) from None
        except BaseException:
            _kill_group(proc)  # Ctrl-C: leave no migration running
            raise
        reader.join(5)
        if code != 0:
            text = _tail("".join(output))
            last = text.splitlines()[-1].strip() if text.strip() else "no output"
            raise MigrationError(
                f"The migrator {self.describe()} failed with exit code {code}: {last[:300]}; fix it and run again.",
                migrator=self.describe(), exit_code=code, output=text, detail=f"exit code {code}\noutput tail:\n{text}",
            )


def _collect(proc: subprocess.Popen[bytes], output: list[str], echo: bool) -> None:
    if proc.stdout is None:
        return
    for raw in iter(proc.stdout.readline, b""):
        line = raw.decode("utf-8", "replace")
        output.append(line)
        del output[: max(0, len(output) - 10 * OUTPUT_TAIL_LINES)]
        if echo:
            sys.stderr.write(line)
            sys.stderr.flush()
    proc.stdout.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


class FunctionMigrator:
    """Calls a Python function with the URL of the database being built; see :func:`function`."""

    def __init__(self, fn: Callable[[str], object], *, inputs: Sequence[PathLike] = (), key: str | None = None, cwd: str | None = None) -> None:
        if not callable(fn):
            raise ConfigurationError(f"migrate= takes an argv list, a function or a migrator, not {fn!r}.")
        self.fn = fn
        self.inputs = list(inputs)
        self.key = key
        self.cwd = os.path.abspath(cwd or os.getcwd())

    def __repr__(self) -> str:
        return f"<minitestdb.function {self._name()}>"

    def _name(self) -> str:
        return f"{getattr(self.fn, '__module__', '?')}.{getattr(self.fn, '__qualname__', type(self.fn).__qualname__)}"

    def describe(self) -> str:
        return "function " + self._name()

    def fingerprint(self) -> str:
        return _identity_fingerprint("function", self._name(), inputs=self.inputs, key=self.key, base=self.cwd, shown=self.describe())

    def migrate(self, endpoint: Endpoint) -> None:
        try:
            self.fn(endpoint.url)
        except Exception as exc:
            raise migrator_raised(self.describe(), exc) from exc


def migrator_raised(shown: str, exc: BaseException) -> MigrationError:
    """The error for a migrator that raised: which one, the exception's type and first line; where it came from in ``.output``."""
    first = str(exc).splitlines()[0][:300] if str(exc) else "no message"
    detail = _frames(exc)
    return MigrationError(f"The migrator {shown} raised {type(exc).__name__}: {first}; fix it and run again.", migrator=shown, output=detail, detail=detail)


def _frames(exc: BaseException) -> str:
    """Where an exception came from, innermost last, like a traceback without its source lines."""
    lines, tb = [], exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        lines.append(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}')
        tb = tb.tb_next
    return _tail("\n".join([*lines, f"{type(exc).__name__}: {exc}"]))


def command(
    argv: Sequence[str], *, inputs: Sequence[PathLike] = (), key: str | None = None, cwd: str | None = None, timeout: float | None = None, env: Mapping[str, str] | None = None
) -> CommandMigrator:
    """A migrator that runs *argv* (a list: never a shell) in *cwd* (default: the current directory).

    It runs with ``DATABASE_URL``, ``TEST_DATABASE_URL`` and the ``PG*`` variables
    pointing at the template being built (plus *env*), with a *timeout*; its
    output is captured, shown on failure (tail, redacted), and streamed to stderr
    when stderr is a terminal.  *inputs* (relative to *cwd*) and *key* make its fingerprint.
    """
    return CommandMigrator(argv, inputs=inputs, key=key, cwd=cwd, timeout=timeout, env=env)


def function(fn: Callable[[str], object], *, inputs: Sequence[PathLike] = (), key: str | None = None, cwd: str | None = None) -> FunctionMigrator:
    """A migrator that calls ``fn(url)``; its fingerprint is the function's module and name, *inputs* and *key*."""
    return FunctionMigrator(fn, inputs=inputs, key=key, cwd=cwd)


def to_migrator(migrate: MigrateArg, *, inputs: Sequence[PathLike] = (), key: str | None = None, cwd: str | None = None, timeout: float | None = None) -> Migrator:
    """What ``template(migrate=...)`` means: an argv list, a function ``(url) -> None``, or a migrator object.

    *inputs* and *key* given to ``template()`` go to an argv or a function; for a
    migrator object they are added by :class:`WithExtraInputs`.
    """
    if isinstance(migrate, Migrator):
        return WithExtraInputs(migrate, inputs=inputs, key=key, cwd=cwd) if (inputs or key is not None) else migrate
    if isinstance(migrate, (str, bytes)) or (isinstance(migrate, (list, tuple)) and migrate and all(isinstance(p, str) for p in migrate)):
        return CommandMigrator(migrate, inputs=inputs, key=key, cwd=cwd, timeout=timeout)
    if callable(migrate):
        return FunctionMigrator(migrate, inputs=inputs, key=key, cwd=cwd)
    raise ConfigurationError(f"migrate= takes an argv list, a function (url) -> None, or a migrator object (minitestdb.command, minitestdb.alembic), not {migrate!r}.")


class WithExtraInputs:
    """A migrator whose fingerprint also covers extra *inputs* and a *key* given to ``template()``."""

    def __init__(self, inner: Migrator, *, inputs: Sequence[PathLike], key: str | None, cwd: str | None) -> None:
        self.inner = inner
        self.inputs = list(inputs)
        self.key = key
        self.cwd = os.path.abspath(cwd or os.getcwd())

    def describe(self) -> str:
        return self.inner.describe()

    def fingerprint(self) -> str:
        extra = digest_inputs(self.inputs, self.cwd) if self.inputs else ""
        return stable_digest([self.inner.fingerprint(), extra, self.key])

    def migrate(self, endpoint: Endpoint) -> None:
        self.inner.migrate(endpoint)
