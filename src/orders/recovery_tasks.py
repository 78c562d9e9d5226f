"""The reconciler's Celery task (beat every SAGA_RECOVERY_INTERVAL seconds; orders.recovery has the why)."""

from celery import shared_task

from orders import outbox, recovery
from orders.clients import ProductsClient
from orders.settings import get_settings
from orders.tasks import publish
from worker import task_loop
from worker.reliable import task_database

RECOVER_TASK = "orders.recover_sagas"


@shared_task(name=RECOVER_TASK, ignore_result=True)
def recover_sagas() -> dict:
    """Not retried: beat runs it again in a few seconds, and stuck orders wait safely in the table."""
    return task_loop.run(_recover())


async def _recover() -> dict:
    settings = get_settings()
    async with task_database(settings) as db:
        done = await recovery.reconcile(sessions=db.sessions, deadline_seconds=settings.saga_step_deadline_seconds,
                                        max_recoveries=settings.saga_max_recoveries,
                                        batch_size=settings.saga_recovery_batch_size)
        products = ProductsClient(settings)
        try:
            released = await recovery.release_abandoned_claims(
                sessions=db.sessions, products=products, batch_size=settings.saga_recovery_batch_size,
                older_than_seconds=settings.idempotency_abandoned_seconds)
        finally:
            await products.aclose()
    if done.wrote_events:
        outbox.trigger_relay(publish)
    return {"redriven": len(done.redriven), "confirmed": len(done.confirmed), "failed": len(done.failed),
            "abandoned_claims_released": len(released)}
