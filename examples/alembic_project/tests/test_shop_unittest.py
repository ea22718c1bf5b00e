"""Plain unittest (no pytest): the same template, a clone per test.

    python -m unittest discover -s tests -p 'test_shop_unittest.py'
"""

from __future__ import annotations

import os
import unittest

from shop.models import Customer
from shop.service import place_order, revenue_by_domain
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import minitestdb
from minitestdb.testing import DatabaseTestCase

HERE = os.path.dirname(os.path.abspath(__file__))


class ShopTest(DatabaseTestCase):
    migrate = minitestdb.alembic(os.path.join(HERE, "..", "alembic.ini"))

    def setUp(self) -> None:
        super().setUp()
        engine = create_engine(self.database.sqlalchemy_url("psycopg"), poolclass=NullPool)
        self.addCleanup(engine.dispose)
        self.session = Session(engine)
        self.addCleanup(self.session.close)

    def test_customers_come_from_the_migrations(self) -> None:
        self.assertEqual(self.session.scalars(select(Customer.domain).order_by(Customer.id)).all(), ["example.com", "example.org"])

    def test_revenue(self) -> None:
        place_order(self.session, "grace@example.org", 4200)
        self.assertEqual(revenue_by_domain(self.session), {"example.org": 4200})


if __name__ == "__main__":
    unittest.main()
