"""A data migration that reads rows: each customer's e-mail domain, computed in Python.

`alembic upgrade head --sql` cannot run this (it needs the rows), which is why
minitestdb runs Alembic against a real database.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("domain", sa.Text, nullable=True))
    connection = op.get_bind()
    for customer_id, email in connection.execute(sa.text("SELECT id, email FROM customers")).all():
        connection.execute(sa.text("UPDATE customers SET domain = :domain WHERE id = :id"), {"domain": email.rsplit("@", 1)[1], "id": customer_id})
    op.alter_column("customers", "domain", nullable=False)


def downgrade() -> None:
    op.drop_column("customers", "domain")
