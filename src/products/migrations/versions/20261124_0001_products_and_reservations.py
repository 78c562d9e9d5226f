"""products and reservations

Revision ID: 20261124_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from products.models import SEARCH_DOCUMENT

revision = "20261124_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("popularity", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("search", postgresql.TSVECTOR(), sa.Computed(SEARCH_DOCUMENT, persisted=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_products_price_non_negative")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_products_stock_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index("ix_products_category", "products", ["category"])
    op.create_index("ix_products_popularity", "products", ["popularity"])
    op.create_index("ix_products_price", "products", ["price"])
    op.create_index("ix_products_search", "products", ["search"], postgresql_using="gin")

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_ref", sa.String(100), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(10, 2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_reservations_quantity_positive")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="RESTRICT",
                                name=op.f("fk_reservations_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint("order_ref", "product_id", name="uq_reservations_order_ref_product_id"),
    )
    # Deleting a product checks the RESTRICT foreign key: index it so that check is not a scan.
    op.create_index("ix_reservations_product_id", "reservations", ["product_id"])


def downgrade() -> None:
    op.drop_table("reservations")
    op.drop_table("products")
