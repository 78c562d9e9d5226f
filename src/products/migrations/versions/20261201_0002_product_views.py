"""product views (write-behind) and the batches already applied

Revision ID: 20261201_0002
Revises: 20261124_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "20261201_0002"
down_revision = "20261124_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: Postgres adds the column without rewriting the table.
    op.add_column("products", sa.Column("views", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "view_batches",
        sa.Column("batch_id", sa.String(100), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_view_batches")),
    )
    op.create_index("ix_view_batches_applied_at", "view_batches", ["applied_at"])


def downgrade() -> None:
    op.drop_index("ix_view_batches_applied_at", table_name="view_batches")
    op.drop_table("view_batches")
    op.drop_column("products", "views")
