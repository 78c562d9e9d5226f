"""Celery tasks of the orders service (run by the shared worker, against the orders database).

- orders.relay_outbox: publish outbox rows (beat every second, and right after each commit);
- orders.payment_result: payments' answer moves the order on (PAID -> CONFIRMED, or FAILED);
- orders.release_stock: compensation, give a reservation back to products;
- orders.purge_idempotency_keys: hourly, forget keys older than their retention.

Tasks take ids and plain values, run their async code on the worker process's own loop and
pooled engines (worker.task_loop: one per shard, `task_shards`) and are idempotent (delivery is
at least once). Each shard has its own outbox, relayed on its own; an answer about an order finds
the shard that holds it now (orders.shards.Shards.user_of_order).
"""

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from celery import current_app, shared_task

from orders import idempotency, outbox, service
from orders.clients import ProductsClient
from orders.resharding import shard_urls
from orders.settings import get_settings
from orders.shards import Shards
from worker import task_loop
from worker.reliable import PermanentError, ReliableTask

log = structlog.get_logger("orders.tasks")


class OrdersTask(ReliableTask):
    service_settings = staticmethod(get_settings)


@asynccontextmanager
async def task_shards(settings) -> AsyncIterator[Shards]:
    """Every shard for one task run: this worker process's pooled engine of each (worker.task_loop),
    kept open for the next task."""
    yield Shards([task_loop.database(settings.model_copy(update={"database_url": url}))
                  for url in shard_urls(settings)])


def send(task: str, kwargs: dict, *, retry: bool = True) -> None:
    """outbox.Publish on the Celery app running these tasks (the worker's: it registers this module),
    so orders never imports the Celery app and the worker's import of orders is one-way."""
    current_app.send_task(task, kwargs=kwargs, retry=retry)


@functools.cache
def relay_queued() -> outbox.QueuedRelayMarker:
    """The marker lives beside the queue it describes (the broker's Redis). Made on first use, not at
    import: only then is the worker's Celery app the current one (imported first, its broker_url is None)."""
    return outbox.QueuedRelayMarker(current_app.conf.broker_url)


def publish(task: str, kwargs: dict, *, retry: bool = True) -> None:
    """outbox.Publish for the tasks: `send`, with relay triggers coalesced (outbox.coalescing)."""
    outbox.coalescing(send, relay_queued())(task, kwargs, retry=retry)


@shared_task(name=outbox.RELAY_TASK, ignore_result=True)
def relay_outbox() -> int:
    """Not retried: beat runs it again within a second, and the rows wait safely in the table."""
    return task_loop.run(_relay())


async def _relay() -> int:
    """Each shard's outbox in turn; a shard that is down waits for the next run without holding up the others."""
    settings = get_settings()
    relay_queued().clear()  # before any SELECT: a commit from now on queues a new run (outbox.QueuedRelayMarker)
    published, failure = 0, None
    async with task_shards(settings) as shards:
        for index, database in enumerate(shards.databases):
            try:
                published += await outbox.relay(sessions=database.sessions, publish=publish,
                                                batch_size=settings.outbox_batch_size, shard=index)
            except Exception as error:
                failure = error
                log.warning("outbox relay of a shard failed", shard=index, error=repr(error))
    if published:
        log.info("outbox relayed", published=published)
    if failure is not None and not published:
        raise failure
    return published


@shared_task(name="orders.payment_result", base=OrdersTask, ignore_result=True)
def payment_result(order_id: int, outcome: str, reason: str | None = None) -> None:
    log.info("payment result received", order_id=order_id, outcome=outcome)
    task_loop.run(_payment_result(order_id, outcome, reason))


async def _payment_result(order_id: int, outcome: str, reason: str | None) -> None:
    async with task_shards(get_settings()) as shards:
        user_id = await shards.user_of_order(order_id)
        if user_id is None:
            raise PermanentError(f"order {order_id} does not exist")
        try:
            wrote_events = await service.record_payment(sessions=shards.for_user(user_id), order_id=order_id,
                                                        outcome=outcome, reason=reason)
        except LookupError as error:
            raise PermanentError(str(error)) from error
    if wrote_events:
        outbox.trigger_relay(publish)


@shared_task(name="orders.release_stock", base=OrdersTask, ignore_result=True)
def release_stock(order_ref: str) -> None:
    released = task_loop.run(_release_stock(order_ref))
    log.info("stock released", order_ref=order_ref, released=released)


async def _release_stock(order_ref: str) -> bool:
    products = ProductsClient(get_settings())
    try:
        return await products.release(order_ref=order_ref)
    finally:
        await products.aclose()


@shared_task(name="orders.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    purged = task_loop.run(_purge())
    log.info("idempotency keys purged", purged=purged)
    return purged


async def _purge() -> int:
    settings = get_settings()
    purged = 0
    async with task_shards(settings) as shards:
        for database in shards.databases:
            async with database.sessions.begin() as session:
                purged += await idempotency.purge(session=session, ttl_hours=settings.idempotency_ttl_hours)
    return purged
