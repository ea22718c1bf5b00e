"""Customers, with the reference data every test starts from.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    customers = op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),
    )
    op.bulk_insert(customers, [{"email": "ada@example.com"}, {"email": "grace@example.org"}])


def downgrade() -> None:
    op.drop_table("customers")
