"""The transactional outbox (orders.outbox) on a real Postgres and Redis, without the stack: an order
commits with its event; two relays running at once (two worker processes) publish each row once,
because each takes its rows FOR UPDATE SKIP LOCKED and neither waits for the other; a broker that
fails mid-run keeps what was sent and leaves the rest for the next run; commits made before a queued
relay run starts queue only that run (the marker in Redis), and it publishes them all."""

import asyncio
import threading

import pytest
from sqlalchemy import select

from chassis.db import Database, create_engine
from orders import outbox
from orders.models import OutboxEvent
from orders_support import Published, Stockroom, basket, open_shards, place


@pytest.fixture(scope="module")
async def orders(postgres_url):
    shards, settings = await open_shards(postgres_url, 1, initial=1)
    yield shards, settings
    await shards.dispose()


async def place_orders(orders, user_id: int, count: int, publish: Published | None = None) -> list[int]:
    shards, settings = orders
    stockroom = Stockroom()
    placed = [await place(shards, settings, stockroom, user_id, f"k{n}", basket((1, 1)), publish)
              for n in range(count)]
    return [outcome.body["id"] for outcome in placed]


async def events_of(orders, order_ids: list[int]) -> list[OutboxEvent]:
    shards, _ = orders
    async with shards.databases[0].sessions() as session:
        return list(await session.scalars(
            select(OutboxEvent).where(OutboxEvent.payload["order_id"].as_integer().in_(order_ids))
            .order_by(OutboxEvent.id)))


def charged(published: Published) -> list[int]:
    return [kwargs["order_id"] for task, kwargs in published.sent if task == "payments.charge"]


def relay_in_a_process_of_its_own(url: str, settings, publish) -> int:
    """One relay run on its own engine and event loop, as in a worker process of its own."""

    async def run() -> int:
        database = Database(create_engine(url, settings, pooled=False))
        try:
            return await outbox.relay(sessions=database.sessions, publish=publish, batch_size=100)
        finally:
            await database.dispose()

    return asyncio.run(run())


async def test_each_order_commits_with_its_event_and_two_racing_relays_publish_it_once(orders):
    _, settings = orders
    order_ids = await place_orders(orders, 201, 10)
    events = await events_of(orders, order_ids)
    assert [(event.topic, event.payload["order_id"], event.published_at) for event in events] \
        == [("order.created", order_id, None) for order_id in order_ids]

    # Relay A takes the rows and stalls in its first publish until relay B has run from start to end
    # (or 20 s have passed: what happens when B waits for A's locks instead of skipping them).
    a_holds_rows, b_finished, a_resumed = threading.Event(), threading.Event(), threading.Event()
    a_broker, b_broker = Published(), Published()

    def stalling(task: str, kwargs: dict, *, retry: bool = True) -> None:
        if not a_holds_rows.is_set():
            a_holds_rows.set()
            b_finished.wait(20)
            a_resumed.set()
        a_broker(task, kwargs, retry=retry)

    relay_a = asyncio.create_task(asyncio.to_thread(relay_in_a_process_of_its_own, settings.database_url, settings,
                                                    stalling))
    assert await asyncio.to_thread(a_holds_rows.wait, 20)
    b_published = await asyncio.to_thread(relay_in_a_process_of_its_own, settings.database_url, settings, b_broker)
    b_ran_while_a_held_the_rows = not a_resumed.is_set()
    b_finished.set()
    a_published = await relay_a

    assert b_ran_while_a_held_the_rows  # it skipped the locked rows instead of waiting for them
    assert (a_published, b_published, b_broker.sent) == (10, 0, [])
    assert charged(a_broker) == order_ids
    assert all(event.published_at is not None for event in await events_of(orders, order_ids))


async def test_a_broker_failure_mid_run_keeps_what_was_sent_and_the_next_run_sends_only_the_rest(orders):
    shards, _ = orders
    order_ids = await place_orders(orders, 202, 5)
    failing = Published(fail_at=3)
    with pytest.raises(ConnectionError):
        await outbox.relay(sessions=shards.databases[0].sessions, publish=failing, batch_size=100)
    assert charged(failing) == order_ids[:2]
    events = await events_of(orders, order_ids)
    assert [event.published_at is not None for event in events] == [True, True, False, False, False]
    assert [event.attempts for event in events] == [1, 1, 1, 0, 0]

    working = Published()
    assert await outbox.relay(sessions=shards.databases[0].sessions, publish=working, batch_size=100) == 3
    assert charged(working) == order_ids[2:]  # each charge sent once over both runs
    assert all(event.published_at is not None for event in await events_of(orders, order_ids))


async def test_orders_placed_before_the_queued_relay_run_starts_queue_that_one_run_and_it_sends_them_all(
        orders, redis_url):
    shards, _ = orders
    marker, broker = outbox.QueuedRelayMarker(redis_url), Published()
    marker.clear()
    publish = outbox.coalescing(broker, marker)
    order_ids = await place_orders(orders, 203, 5, publish)
    assert broker.sent == [(outbox.RELAY_TASK, {})]  # five commits, one relay run queued

    marker.clear()  # the queued run starts: it clears the marker before its SELECT (orders.tasks)
    assert await outbox.relay(sessions=shards.databases[0].sessions, publish=publish, batch_size=100) == 5
    assert charged(broker) == order_ids

    later = await place_orders(orders, 204, 1, publish)  # committed after that SELECT: it queues a new run
    assert broker.sent[-1] == (outbox.RELAY_TASK, {})
    assert await outbox.relay(sessions=shards.databases[0].sessions, publish=publish, batch_size=100) == 1
    assert charged(broker) == order_ids + later
