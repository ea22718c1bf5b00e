"""How minitestdb's messages spell a command a person can run next: one program name, one ``--server`` rule.

Pure.  The library's hints say ``python -m minitestdb`` (it always works); the
CLI re-spells them as it was invoked (``_cli.as_invoked``).  A hint always
names its server: ``--server NAME`` for a shared server (never left to the
reader's ``MINITESTDB_SERVER``), or, for ``TEST_DATABASE_URL``'s server, the
note that the variable must be set as it was.
"""

from __future__ import annotations

__all__ = ["LIBRARY_PROGRAM", "ON_TEST_DATABASE_URL", "command_hint"]

#: How the library's own hints spell the program.
LIBRARY_PROGRAM = "python -m minitestdb"
#: Said after the hints for a server that came from TEST_DATABASE_URL (they take it from there).
ON_TEST_DATABASE_URL = "with the same TEST_DATABASE_URL set"


def command_hint(command: str, *args: str, server: str | None, program: str = LIBRARY_PROGRAM) -> str:
    """`` `PROGRAM COMMAND [--server NAME] ARGS` `` for the shared server *server* (None: TEST_DATABASE_URL's).

    >>> command_hint("drop", "mtdb_x", server="ci")
    '`python -m minitestdb drop --server ci mtdb_x`'
    >>> command_hint("psql", "-d", "mtdb_x", server=None, program="minitestdb")
    '`minitestdb psql -d mtdb_x`'
    """
    import shlex  # only when a hint is shown: about 1 ms off every `import minitestdb`

    words = [command] + (["--server", server] if server is not None else []) + list(args)
    return f"`{program} {' '.join(shlex.quote(word) for word in words)}`"
