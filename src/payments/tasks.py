"""Celery tasks of the payments service (run by the shared worker, against the payments database).

- payments.charge(order_id, user_id, amount): charge once, then tell orders the outcome
  (payments.events.PaymentSettled, the task orders.payment_result: payments writes only its own database);
- payments.refund(order_id): give the money of a cancelled order back.

The result is sent after the charge is committed. If the worker dies in between, the
charge task is redelivered (acks_late), finds the recorded charge and sends the result
again: orders' handler is idempotent, so "at least once" is enough.
"""

from decimal import Decimal

import structlog
from celery import current_app, shared_task

from payments import service
from payments.events import PaymentSettled
from payments.models import ChargeStatus
from payments.settings import get_settings
from worker import task_loop
from worker.reliable import ReliableTask, task_database

log = structlog.get_logger("payments.tasks")


class PaymentsTask(ReliableTask):
    service_settings = staticmethod(get_settings)


@shared_task(name="payments.charge", base=PaymentsTask, ignore_result=True)
def charge(order_id: int, user_id: int, amount: str) -> str:
    log.info("charge requested", order_id=order_id, amount=amount)
    recorded = task_loop.run(_charge(order_id, user_id, Decimal(amount)))
    settled = PaymentSettled(order_id=order_id, reason=recorded.decline_reason,
                             outcome="declined" if recorded.status == ChargeStatus.DECLINED else "charged")
    task, kwargs = settled.as_task()
    current_app.send_task(task, kwargs=kwargs)  # the app running this task: the worker's
    return settled.outcome


async def _charge(order_id: int, user_id: int, amount: Decimal):
    settings = get_settings()
    async with task_database(settings) as db:
        return await service.charge(db=db, settings=settings, order_id=order_id, user_id=user_id, amount=amount)


@shared_task(name="payments.refund", base=PaymentsTask, ignore_result=True)
def refund(order_id: int) -> bool:
    log.info("refund requested", order_id=order_id)
    return task_loop.run(_refund(order_id))


async def _refund(order_id: int) -> bool:
    async with task_database(get_settings()) as db:
        return await service.refund(db=db, order_id=order_id)
