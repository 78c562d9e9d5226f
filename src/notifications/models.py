"""Tables of the notifications service (its own database: seed "database per service").

UNIQUE (order_id, kind): a redelivered notify task finds its row already there and
adds nothing, so a user never sees the same message twice.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from chassis.models import DeadLetterColumns, new_base

Base = new_base()


class NotificationKind(StrEnum):
    ORDER_CONFIRMED = "order_confirmed"
    ORDER_FAILED = "order_failed"
    ORDER_CANCELLED = "order_cancelled"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("order_id", "kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeadLetter(DeadLetterColumns, Base):
    __tablename__ = "dead_letters"
