"""Tables of the payments service (its own database: seed "database per service").

`charges.order_id` is UNIQUE: it is what makes a redelivered charge task harmless
(at most one charge per order, whatever the queue does).
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from chassis.models import DeadLetterColumns, new_base

Base = new_base()


class ChargeStatus(StrEnum):
    CHARGED = "charged"
    DECLINED = "declined"
    REFUNDED = "refunded"


class Charge(Base):
    __tablename__ = "charges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(16))
    provider_ref: Mapped[str] = mapped_column(String(64))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeadLetter(DeadLetterColumns, Base):
    __tablename__ = "dead_letters"
