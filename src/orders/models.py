"""Tables of the orders service (its own database: seed "database per service").

- orders / order_items: the order and what it holds, prices copied at reservation time;
- idempotency_keys: one row per (user, Idempotency-Key), the first response kept >= 24 h;
- outbox: events written in the same transaction as the state change they announce,
  published to Celery by the relay (transactional outbox);
- dead_letters: tasks of this service that exhausted their retries;
- shard_buckets (the directory, used on shard 0) and bucket_ownership (each shard's fence):
  orders are sharded by user (orders.shards); `bucket` on orders and idempotency_keys is the
  user's hash bucket, computed by the database (orders.shard_keys.BUCKET_SQL).
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (BigInteger, Boolean, Computed, DateTime, ForeignKey, Index, Integer, Numeric, SmallInteger,
                        String, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chassis.models import DeadLetterColumns, new_base
from orders.shard_keys import BUCKET_SQL

Base = new_base()


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Order(Base):
    __tablename__ = "orders"
    # Read server-set columns (created_at, updated_at) back with RETURNING on insert and update:
    # an expired attribute would otherwise need a lazy load, which async sessions refuse.
    __mapper_args__ = {"eager_defaults": True}
    # The saga reconciler (orders.recovery) scans orders still waiting, oldest state change first.
    __table_args__ = (Index("ix_orders_in_flight", "updated_at",
                            postgresql_where=text("status IN ('PENDING', 'PAID')")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, Computed(BUCKET_SQL, persisted=True), index=True)
    # The reference products knows the stock reservation by (reserve and release are idempotent on it).
    order_ref: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # How often the saga reconciler re-drove this order; bounded by SAGA_MAX_RECOVERIES.
    recovery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    items: Mapped[list["OrderItem"]] = relationship(back_populates="order", lazy="selectin",
                                                    order_by="OrderItem.id")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, Computed(BUCKET_SQL, persisted=True), index=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="in_flight")  # in_flight | done
    order_ref: Mapped[str] = mapped_column(String(64))
    response_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxEvent(Base):
    __tablename__ = "outbox"
    # The relay scans only unpublished rows, oldest first: a partial index keeps that scan tiny.
    __table_args__ = (Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DeadLetter(DeadLetterColumns, Base):
    __tablename__ = "dead_letters"


class ShardBucket(Base):
    """The directory (shard map): which shard holds each hash bucket. Read on shard 0."""

    __tablename__ = "shard_buckets"

    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(SmallInteger)
    moved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BucketOwnership(Base):
    """This shard's fence: the buckets it serves now (orders.shards.owns)."""

    __tablename__ = "bucket_ownership"

    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    owned: Mapped[bool] = mapped_column(Boolean, default=False)
