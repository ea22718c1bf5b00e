"""The application code under test: sign-up rules over any ``query(sql) -> rows`` function.

It knows nothing of minitestdb: the tests hand it a connection's ``query``.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

Row = Tuple[Optional[str], ...]
Query = Callable[[str], Sequence[Row]]


def literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings is on)."""
    return "'" + text.replace("'", "''") + "'"


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if email.count("@") != 1 or email.startswith("@") or email.endswith("@"):
        raise ValueError(f"not an email address: {email!r}")
    return email


def sign_up(query: Query, email: str) -> int:
    """Create a user; returns the new id."""
    rows = query(f"insert into users (email) values ({literal(normalize_email(email))}) returning id")  # noqa: S608
    return int(rows[0][0] or 0)


def user_count(query: Query) -> int:
    return int(query("select count(*) from users")[0][0] or 0)
