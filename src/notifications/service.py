"""Messages for the user about their orders, recorded once per (order, kind)."""

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.db import Database
from notifications.models import Notification, NotificationKind

log = structlog.get_logger("notifications")


def compose(*, kind: NotificationKind, order_id: int, reason: str | None) -> str:
    """The message text the user reads."""
    match kind:
        case NotificationKind.ORDER_CONFIRMED:
            return f"Your order #{order_id} is confirmed: payment received, it is on its way."
        case NotificationKind.ORDER_FAILED:
            return f"Your order #{order_id} could not be completed ({reason or 'payment failed'}); nothing was charged."
        case NotificationKind.ORDER_CANCELLED:
            refund = " Your payment will be refunded." if reason == "refunded" else ""
            return f"Your order #{order_id} was cancelled.{refund}"


async def notify(*, db: Database, user_id: int, order_id: int, kind: NotificationKind, reason: str | None) -> bool:
    """Record the notification; False if it already existed (a redelivered task)."""
    async with db.sessions.begin() as session:
        created = await session.scalar(
            insert(Notification)
            .values(user_id=user_id, order_id=order_id, kind=kind,
                    message=compose(kind=kind, order_id=order_id, reason=reason))
            .on_conflict_do_nothing(index_elements=["order_id", "kind"])
            .returning(Notification.id)
        )
    log.info("notification", order_id=order_id, kind=kind, created=created is not None)
    return created is not None


async def get_all(*, session: AsyncSession, user_id: int, limit: int, offset: int) -> list[Notification]:
    """The caller's notifications, newest first."""
    return list(await session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc())
        .limit(limit).offset(offset)
    ))
