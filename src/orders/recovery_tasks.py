"""The reconciler's Celery task (beat every SAGA_RECOVERY_INTERVAL seconds; orders.recovery has the why)."""

from celery import shared_task

from orders import outbox, recovery
from orders.clients import ProductsClient
from orders.settings import get_settings
from orders.tasks import publish, task_shards
from worker import task_loop

RECOVER_TASK = "orders.recover_sagas"


@shared_task(name=RECOVER_TASK, ignore_result=True)
def recover_sagas() -> dict:
    """Not retried: beat runs it again in a few seconds, and stuck orders wait safely in the table."""
    return task_loop.run(_recover())


async def _recover() -> dict:
    """One round on every shard, each for the buckets it owns (orders.recovery)."""
    settings = get_settings()
    totals = {"redriven": 0, "confirmed": 0, "failed": 0, "abandoned_claims_released": 0}
    wrote_events = False
    products = ProductsClient(settings)
    try:
        async with task_shards(settings) as shards:
            for index, database in enumerate(shards.databases):
                done = await recovery.reconcile(sessions=database.sessions, shard=index,
                                                deadline_seconds=settings.saga_step_deadline_seconds,
                                                max_recoveries=settings.saga_max_recoveries,
                                                batch_size=settings.saga_recovery_batch_size)
                released = await recovery.release_abandoned_claims(
                    sessions=database.sessions, products=products, batch_size=settings.saga_recovery_batch_size,
                    older_than_seconds=settings.idempotency_abandoned_seconds)
                wrote_events = wrote_events or done.wrote_events
                for key, value in (("redriven", done.redriven), ("confirmed", done.confirmed),
                                   ("failed", done.failed), ("abandoned_claims_released", released)):
                    totals[key] += len(value)
    finally:
        await products.aclose()
    if wrote_events:
        outbox.trigger_relay(publish)
    return totals
