"""Real drivers take what a Database hands out, without glue: .url, .connect_kwargs, .sqlalchemy_url(), .env.

The drivers are throwaway test tools (CI installs them in its tools venv); without
one, its test skips, or fails under MINITESTDB_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import shutil
import subprocess
import unittest
from typing import Any

import minitestdb
from tests.integration.support import skip_or_fail, sql_dir, start_module_server

SERVER: minitestdb.Server


def setUpModule() -> None:
    global SERVER
    SERVER = start_module_server()


def tearDownModule() -> None:
    SERVER.close()


def need(*modules: str) -> list[Any]:
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        skip_or_fail(f"the driver test needs {', '.join(missing)} in this interpreter (CI installs them in its tools venv)")
    return [importlib.import_module(name) for name in modules]


class DriversTest(unittest.TestCase):
    def setUp(self) -> None:
        directory = sql_dir(self, {"001_notes.sql": "create table notes (body text); insert into notes values ('from the template');"})
        self.database = SERVER.template(directory, pool=0).clone(self._testMethodName)
        self.addCleanup(self.database.drop)

    def note(self, rows: Any) -> None:
        self.assertEqual([tuple(row) for row in rows], [("from the template",)])

    def test_pg8000_takes_connect_kwargs(self) -> None:
        (pg8000_dbapi,) = need("pg8000.dbapi")
        conn = pg8000_dbapi.connect(**self.database.connect_kwargs)
        try:
            cursor = conn.cursor()
            cursor.execute("select body from notes")
            self.note(cursor.fetchall())
        finally:
            conn.close()

    def test_asyncpg_takes_connect_kwargs_and_the_url(self) -> None:
        (asyncpg,) = need("asyncpg")

        async def read(**how: Any) -> Any:
            conn = await asyncpg.connect(**how)
            try:
                return await conn.fetch("select body from notes")
            finally:
                await conn.close()

        self.note(asyncio.run(read(**self.database.connect_kwargs)))
        self.note(asyncio.run(read(dsn=self.database.url)))

    def test_psycopg_takes_the_url(self) -> None:
        (psycopg,) = need("psycopg")
        with psycopg.connect(self.database.url) as conn:
            self.note(conn.execute("select body from notes").fetchall())

    def test_psycopg2_takes_the_url(self) -> None:
        (psycopg2,) = need("psycopg2")
        conn = psycopg2.connect(self.database.url)
        try:
            with conn.cursor() as cursor:
                cursor.execute("select body from notes")
                self.note(cursor.fetchall())
        finally:
            conn.close()

    def test_sqlalchemy_takes_sqlalchemy_url_with_and_without_a_driver(self) -> None:
        sqlalchemy, _ = need("sqlalchemy", "psycopg")
        for url in (self.database.sqlalchemy_url("psycopg"), self.database.sqlalchemy_url("pg8000"), self.database.sqlalchemy_url("psycopg2"), self.database.sqlalchemy_url()):
            with self.subTest(scheme=url.split("://")[0]):
                engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
                try:
                    with engine.connect() as conn:
                        self.note(conn.execute(sqlalchemy.text("select body from notes")).all())
                finally:
                    engine.dispose()

    def test_psql_takes_env(self) -> None:
        psql = shutil.which("psql")
        if psql is None:
            skip_or_fail("the host has no psql")
        env = {**os.environ, **self.database.env}
        out = subprocess.run([psql, "-XAtc", "select body from notes"], env=env, capture_output=True, text=True, timeout=30, check=True, stdin=subprocess.DEVNULL)
        self.assertEqual(out.stdout.strip(), "from the template")


if __name__ == "__main__":
    unittest.main()
