"""pytest: every test starts from the migrated template (two customers, no orders) on a clone of its own."""

from __future__ import annotations

import pytest
from shop.models import Customer, Order
from shop.service import place_order, revenue_by_domain, sign_up
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session


def test_the_data_migration_filled_every_domain(session: Session) -> None:
    assert session.execute(select(Customer.email, Customer.domain).order_by(Customer.id)).all() == [
        ("ada@example.com", "example.com"),
        ("grace@example.org", "example.org"),
    ]


def test_sign_up_and_order(session: Session) -> None:
    sign_up(session, " Linus@Example.COM ")
    place_order(session, "linus@example.com", 1200)
    place_order(session, "ada@example.com", 800)
    session.commit()
    assert revenue_by_domain(session) == {"example.com": 2000}


def test_each_test_has_its_own_database(session: Session) -> None:
    # The previous test committed orders in its own clone; none are here.
    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_orders_must_cost_something(session: Session) -> None:
    with pytest.raises(ValueError, match="cost"):
        place_order(session, "ada@example.com", 0)


def test_the_database_setting_made_by_a_migration_holds_in_the_clone(session: Session) -> None:
    assert session.execute(text("SHOW timezone")).scalar() == "UTC"
