"""The project's fixtures: where the migrations are, and a query function per test."""

from __future__ import annotations

import pathlib
from typing import Iterator, List

import pytest
from app import Query

from minitestdb import Database

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def minitestdb_sql() -> List[str]:
    """Overrides the plugin's fixture (it must stay session-scoped): the migrations to build the template from."""
    return [str(HERE / "migrations")]


@pytest.fixture
def query(minitestdb_database: Database) -> Iterator[Query]:
    """Runs SQL in this test's own fresh database."""
    with minitestdb_database.connect() as conn:
        yield lambda sql: conn.query(sql).rows
