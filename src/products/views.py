"""Product page views, written behind (chassis/write_behind.py; seed: "Caching Strategies", write-behind).

`GET /products/{id}` counts a view with one HINCRBY in the queue Redis (durable: AOF every
second, noeviction; the cache Redis could evict or lose the buffer). Every replica runs a flusher
that, every PRODUCTS_VIEWS_FLUSH_SECONDS, claims what is pending and adds it to `products.views`
in one transaction per batch, recording the batch id in `view_batches` in the same transaction:
a batch written twice (its flusher killed after the commit) adds nothing the second time, and a
batch never written (killed before) is replayed by the next flusher. Two replicas flush side by
side; the claim (a RENAME) gives each pending view to one of them.

What a reader sees: `views` in a product is the flushed total as of when that product was
cached, so it trails the real count by up to the flush interval plus the age of the cached copy
(the product cache's TTL at most). Views the edge cache answers (nginx's 1 s microcache) never
reach this service and are not counted (README, "known limits").
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
import structlog
from fastapi import FastAPI
from sqlalchemy import bindparam, delete, func, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chassis.redis_client import reconnect_retry
from chassis.flags import flags_for
from chassis.write_behind import WriteBehindCounter, flush_forever
from products.models import Product, ViewBatch
from products.settings import ProductsSettings

BUFFER = "product_views"
APPLIED_BATCHES_KEPT = "1 day"  # a batch is replayed within seconds; its id needs keeping only that long

# On the table (Core), not the ORM entity: an executemany UPDATE with a WHERE clause is a Core statement.
PRODUCTS = Product.__table__
ADD_VIEWS = (update(PRODUCTS).where(PRODUCTS.c.id == bindparam("pid"))
             .values(views=PRODUCTS.c.views + bindparam("n"), updated_at=PRODUCTS.c.updated_at))  # a view is no edit

log = structlog.get_logger("views")


def sink_for(db):
    """Apply one batch in one transaction, exactly once per batch id (the write-behind contract)."""
    purge_every, flushes = 600, 0

    async def sink(batch_id: str, counts: dict[int, int]) -> bool:
        nonlocal flushes
        flushes += 1
        async with db.sessions() as session, session.begin():
            applied = await session.scalar(
                pg_insert(ViewBatch).values(batch_id=batch_id, events=sum(counts.values()))
                .on_conflict_do_nothing(index_elements=["batch_id"]).returning(ViewBatch.batch_id)
            )
            if applied is None:
                return False  # this batch's views were added by an earlier attempt
            # One UPDATE for the whole batch (executemany: one round trip); deleted products just match no row.
            await session.execute(ADD_VIEWS, [{"pid": item, "n": n} for item, n in counts.items()])
            if flushes % purge_every == 1:
                await session.execute(delete(ViewBatch).where(
                    ViewBatch.applied_at < func.now() - text(f"interval '{APPLIED_BATCHES_KEPT}'")))
        return True

    return sink


def views_counter(settings: ProductsSettings):
    """A lifespan resource: the view counter (app.state.views) and this replica's flusher."""

    @asynccontextmanager
    async def resource(app: FastAPI) -> AsyncIterator[None]:
        url = settings.products_views_redis_url or settings.flags_redis_url or settings.redis_url
        client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=settings.redis_timeout_seconds,
                                      socket_connect_timeout=settings.redis_timeout_seconds, retry=reconnect_retry())
        app.state.views = WriteBehindCounter(client, name=BUFFER,
                                             reclaim_seconds=settings.products_views_reclaim_seconds)
        flags = flags_for(settings)

        async def pause() -> None:
            # The fault flag views_flush_pause_ms holds a claimed batch unwritten: the crash test's window.
            pause_ms = flags.value("views_flush_pause_ms") if flags.any_set else 0
            if pause_ms:
                log.info("view flush paused after its claim", pause_ms=pause_ms)
                await asyncio.sleep(pause_ms / 1000)

        flusher = asyncio.create_task(flush_forever(
            app.state.views, sink_for(app.state.db), every_seconds=settings.products_views_flush_seconds,
            owner=f"{settings.replica_name}:{os.getpid()}", pause=pause))
        try:
            yield
        finally:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await client.aclose()

    return resource


async def count_view(app: FastAPI, product_id: int) -> None:
    """One view, recorded for the flusher; a buffer that cannot be reached costs the count, not the page."""
    try:
        await app.state.views.add(product_id)
    except redis.RedisError as error:
        log.warning("view not counted", error=type(error).__name__)

