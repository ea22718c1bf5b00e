"""The Alembic migrator without Alembic: inputs found from the ini, the driver chosen, fingerprints."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest

from minitestdb import _alembic
from minitestdb._alembic import AlembicMigrator, alembic, sqlalchemy_driver
from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError
from tests.unit.support import doctests

load_tests = doctests(_alembic)


class DriverTest(unittest.TestCase):
    def test_table(self) -> None:
        for configured, installed, expected in (
            ("postgresql+psycopg://localhost/shop", [], "postgresql+psycopg"),
            ("postgresql+asyncpg://u@h/d", ["psycopg2"], "postgresql+asyncpg"),
            ("postgres+pg8000://u@h/d", ["psycopg2"], "postgresql+pg8000"),
            ("postgresql://u@h/d", ["psycopg", "pg8000"], "postgresql+psycopg"),
            ("driver://user:pass@localhost/dbname", ["psycopg2", "psycopg"], "postgresql+psycopg2"),
            ("", ["pg8000"], "postgresql+pg8000"),
            ("", [], "postgresql"),
        ):
            with self.subTest(configured=configured, installed=installed):
                self.assertEqual(sqlalchemy_driver(configured, installed), expected)


class IniTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="minitestdb-alembic-")
        self.addCleanup(shutil.rmtree, self.tmp)
        for relative, text in (
            ("db/env.py", "# env\n"),
            ("db/versions/0001_a.py", "revision = '0001'\n"),
            ("extra_versions/0002_b.py", "revision = '0002'\n"),
            ("unrelated/notes.txt", "not an input\n"),
        ):
            path = os.path.join(self.tmp, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as fh:
                fh.write(text)

    def ini(self, body: str, name: str = "alembic.ini") -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "w") as fh:
            fh.write(body)
        return path

    def test_inputs_come_from_the_ini(self) -> None:
        for script_location in ("%(here)s/db", "db"):
            with self.subTest(script_location=script_location):
                migrator = alembic(self.ini(f"[alembic]\nscript_location = {script_location}\nversion_locations = %(here)s/extra_versions\nsqlalchemy.url = postgresql+psycopg://x/y\n"))
                self.assertEqual(
                    migrator.inputs,
                    [os.path.join(self.tmp, "alembic.ini"), os.path.join(self.tmp, "db"), os.path.join(self.tmp, "extra_versions")],
                )
                self.assertEqual(migrator.cwd, self.tmp)
                self.assertEqual(migrator.configured_url, "postgresql+psycopg://x/y")

    def test_the_fingerprint_follows_the_versions_not_unrelated_files(self) -> None:
        migrator = alembic(self.ini("[alembic]\nscript_location = db\n"))
        base = migrator.fingerprint()
        with open(os.path.join(self.tmp, "unrelated", "notes.txt"), "a") as fh:
            fh.write("more\n")
        self.assertEqual(base, migrator.fingerprint())
        with open(os.path.join(self.tmp, "db", "versions", "0003_c.py"), "w") as fh:
            fh.write("revision = '0003'\n")
        self.assertNotEqual(base, migrator.fingerprint())
        self.assertNotEqual(migrator.fingerprint(), alembic(os.path.join(self.tmp, "alembic.ini"), revision="0001").fingerprint())
        self.assertNotEqual(migrator.fingerprint(), alembic(os.path.join(self.tmp, "alembic.ini"), key="v2").fingerprint())

    def test_bad_configs_are_clear_errors(self) -> None:
        with self.assertRaises(ConfigurationError) as ctx:
            alembic(os.path.join(self.tmp, "missing.ini"))
        self.assertIn("does not exist", str(ctx.exception))
        with self.assertRaises(ConfigurationError) as ctx:
            alembic(self.ini("[loggers]\nkeys = root\n", "other.ini"))
        self.assertIn("no script_location", str(ctx.exception))

    def test_the_url_keeps_the_ini_driver_and_the_template_database(self) -> None:
        migrator = AlembicMigrator(self.ini("[alembic]\nscript_location = db\nsqlalchemy.url = postgresql+asyncpg://localhost/app\n"))
        endpoint = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="p@ss", dbname="mtdb_tmp_x")
        self.assertEqual(migrator._url(endpoint), "postgresql+asyncpg://postgres:p%40ss@127.0.0.1:5999/mtdb_tmp_x")
        self.assertIn("alembic upgrade head", migrator.describe())


if __name__ == "__main__":
    unittest.main()
