"""The application code under test: it takes a SQLAlchemy session and knows nothing of minitestdb."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.models import Customer, Order


def sign_up(session: Session, email: str) -> Customer:
    email = email.strip().lower()
    customer = Customer(email=email, domain=email.rsplit("@", 1)[1])
    session.add(customer)
    session.flush()
    return customer


def place_order(session: Session, email: str, total_cents: int) -> Order:
    if total_cents <= 0:
        raise ValueError("an order must cost something")
    customer = session.scalars(select(Customer).where(Customer.email == email)).one()
    order = Order(customer=customer, total_cents=total_cents)
    session.add(order)
    session.flush()
    return order


def revenue_by_domain(session: Session) -> dict[str, int]:
    rows = session.execute(select(Customer.domain, func.sum(Order.total_cents)).join(Order).group_by(Customer.domain).order_by(Customer.domain))
    return {domain: int(total) for domain, total in rows}
