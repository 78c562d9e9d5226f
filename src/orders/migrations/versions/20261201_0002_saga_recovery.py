"""saga recovery: re-drive counter per order and an index over the orders still in flight

Revision ID: ord0002
Revises: ord0001
Create Date: 2026-12-01 05:45:00
"""

from alembic import op
import sqlalchemy as sa

revision = 'ord0002'
down_revision = 'ord0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('orders', sa.Column('recovery_attempts', sa.Integer(), server_default='0', nullable=False))
    # The reconciler scans only orders still waiting, oldest state change first.
    op.create_index('ix_orders_in_flight', 'orders', ['updated_at'], unique=False,
                    postgresql_where=sa.text("status IN ('PENDING', 'PAID')"))


def downgrade() -> None:
    op.drop_index('ix_orders_in_flight', table_name='orders', postgresql_where=sa.text("status IN ('PENDING', 'PAID')"))
    op.drop_column('orders', 'recovery_attempts')
