"""Tables of the products service (its own database: seed "database per service").

Indexes follow the queries (seed: "Stage 6: Database Optimization", indexing): `category`
for the filter, `popularity` and `price` for the sorts, and a GIN index over a generated
`tsvector` column for full-text search. CHECK constraints keep stock and price from ever
going negative, whatever the code above them does.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from chassis.models import new_base

Base = new_base()

# Name weighs more than description in the ranking ('A' > 'B').
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('english', coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')"
)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        Index("ix_products_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(60), index=True)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), index=True)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    # Views/sales score; the seed gives it a Zipf-like skew so ~20% of products get ~80% of traffic.
    popularity: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # Product page views, written behind in batches (products/views.py): the flushed total.
    views: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True), deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class Reservation(Base):
    """Stock held for one order: one row per (order_ref, product), so reserving is idempotent per order."""

    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("order_ref", "product_id", name="uq_reservations_order_ref_product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_ref: Mapped[str] = mapped_column(String(100))
    # RESTRICT: a product that stock is held for cannot disappear under the order.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # the price when reserved: what the order pays
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ViewBatch(Base):
    """A write-behind batch of views already added to `products.views`: replaying it adds nothing."""

    __tablename__ = "view_batches"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
