"""The project's fixtures: Alembic builds the template once; each test gets a SQLAlchemy session on its own clone."""

from __future__ import annotations

import pathlib
from typing import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import minitestdb

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def minitestdb_migrate() -> minitestdb.Migrator:
    """Overrides the plugin's fixture: `alembic upgrade head`, its inputs found from alembic.ini."""
    return minitestdb.alembic(HERE / "alembic.ini")


@pytest.fixture
def session(minitestdb_database: minitestdb.Database) -> Iterator[Session]:
    """A session on this test's own database (a clone of the migrated template)."""
    engine = create_engine(minitestdb_database.sqlalchemy_url("psycopg"), poolclass=NullPool)
    with Session(engine) as session:
        yield session
    engine.dispose()
