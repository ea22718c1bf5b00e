"""Each test gets its own fresh copy of the migrated, seeded database.

Run from examples/unittest_project:  python -m unittest -v
"""

from __future__ import annotations

from typing import Sequence

import app

from minitestdb import ServerError
from minitestdb.testing import DatabaseTestCase


class UsersTest(DatabaseTestCase):
    sql = ("../migrations",)  # relative to this file, so any working directory will do
    seed = ("../seed.sql",)

    def setUp(self) -> None:
        super().setUp()
        self.conn = self.database.connect()
        self.addCleanup(self.conn.close)

    def query(self, sql: str) -> Sequence[app.Row]:
        return self.conn.query(sql).rows

    def test_1_sign_up_adds_a_user(self) -> None:
        self.assertEqual(app.user_count(self.query), 2)
        app.sign_up(self.query, "  Linus@Example.com ")
        app.sign_up(self.query, "ken@example.com")
        self.assertEqual(app.user_count(self.query), 4)

    def test_2_next_test_sees_only_the_seed(self) -> None:
        # test_1 inserted two users into its own database; this one is fresh.
        self.assertEqual(app.user_count(self.query), 2)
        self.assertEqual(self.query("select count(*) from orders"), [("1",)])

    def test_3_duplicate_email_is_refused(self) -> None:
        with self.assertRaises(ServerError) as caught:
            app.sign_up(self.query, "ADA@example.com")
        self.assertEqual(caught.exception.sqlstate, "23505")  # unique_violation
        self.assertTrue(self.database_name.startswith("mtdb_"), self.database_name)
