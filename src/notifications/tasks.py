"""Celery task of the notifications service: record a message for a user (idempotent per order and kind)."""

import structlog
from celery import shared_task

from notifications import service
from notifications.models import NotificationKind
from notifications.settings import get_settings
from worker import task_loop
from worker.reliable import PermanentError, ReliableTask, task_database

log = structlog.get_logger("notifications.tasks")


class NotificationsTask(ReliableTask):
    service_settings = staticmethod(get_settings)


@shared_task(name="notifications.notify", base=NotificationsTask, ignore_result=True)
def notify(order_id: int, user_id: int, kind: str, reason: str | None = None) -> bool:
    log.info("notify requested", order_id=order_id, kind=kind)
    try:
        notification_kind = NotificationKind(kind)
    except ValueError as error:
        raise PermanentError(f"unknown notification kind {kind!r}") from error
    return task_loop.run(_notify(order_id, user_id, notification_kind, reason))


async def _notify(order_id: int, user_id: int, kind: NotificationKind, reason: str | None) -> bool:
    async with task_database(get_settings()) as db:
        return await service.notify(db=db, user_id=user_id, order_id=order_id, kind=kind, reason=reason)
