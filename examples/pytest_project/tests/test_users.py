"""Each test gets its own fresh copy of the migrated, seeded database, also under pytest-xdist.

Run from examples/pytest_project:  python -m pytest -n 2 -p minitestdb.pytest_plugin
"""

from __future__ import annotations

from urllib.parse import urlsplit

import app
import pytest
from app import Query

from minitestdb import Database, ServerError


@pytest.mark.parametrize("email", ["linus@example.com", "ken@example.com", "barbara@example.com", "Edsger@Example.com"])
def test_each_test_starts_from_the_seed(query: Query, email: str) -> None:
    # Whatever ran before, on this worker or another, this database holds only the seed.
    assert app.user_count(query) == 2
    app.sign_up(query, email)
    assert app.user_count(query) == 3


def test_duplicate_email_is_refused(query: Query) -> None:
    with pytest.raises(ServerError) as caught:
        app.sign_up(query, "ADA@example.com")
    assert caught.value.sqlstate == "23505"  # unique_violation
    assert query("select count(*) from orders") == [("1",)]


def test_url_names_this_tests_database(minitestdb_url: str, minitestdb_database: Database) -> None:
    url = urlsplit(minitestdb_url)
    assert url.path == "/" + minitestdb_database.name
    assert url.port == minitestdb_database.port
    assert minitestdb_database.name.startswith("mtdb_")
