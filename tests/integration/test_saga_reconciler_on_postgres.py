"""Saga recovery (orders.recovery) on a real Postgres, without the stack: an order whose payment
answer never came is re-driven, then failed with compensation after its last re-drive; a paid order
left unconfirmed is confirmed; what each round decided leaves through the outbox; and a claim nobody
came back for has its reservation released at products and is forgotten, while a recent one is kept."""

import pytest
from sqlalchemy import func, select, update

from orders import idempotency, outbox, recovery
from orders.models import IdempotencyKey, Order, OrderStatus, OutboxEvent
from orders_support import Published, Stockroom, basket, open_shards, place


@pytest.fixture(scope="module")
async def orders(postgres_url):
    shards, settings = await open_shards(postgres_url, 1, initial=1)
    yield shards, settings
    await shards.dispose()


async def a_round(shards) -> recovery.Round:
    """One reconciler round with a deadline of 0 s: every waiting order is past it."""
    return await recovery.reconcile(sessions=shards.databases[0].sessions, deadline_seconds=0, max_recoveries=1,
                                    batch_size=100)


async def state(shards, order_id: int) -> tuple[str, int, list[str]]:
    """The order's status, its re-drives, and the topics of its outbox events in order."""
    async with shards.databases[0].sessions() as session:
        order = await session.get(Order, order_id)
        topics = list(await session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.payload["order_id"].as_integer() == order_id)
            .order_by(OutboxEvent.id)))
    return order.status, order.recovery_attempts, topics


async def test_a_pending_order_is_redriven_then_failed_with_compensation_and_a_paid_one_is_confirmed(orders):
    shards, settings = orders
    stockroom = Stockroom()
    pending, paid = [(await place(shards, settings, stockroom, 501, key, basket((1, 1)))).body["id"]
                     for key in ("lost-charge", "lost-confirmation")]
    async with shards.databases[0].sessions.begin() as session:  # charged, and the process died before confirming
        await session.execute(update(Order).where(Order.id == paid).values(status=OrderStatus.PAID))

    first = await a_round(shards)
    assert (first.redriven, first.confirmed, first.failed) == ([pending], [paid], [])
    assert await state(shards, pending) == (OrderStatus.PENDING, 1, ["order.created", "order.created"])
    assert await state(shards, paid) == (OrderStatus.CONFIRMED, 0, ["order.created", "order.confirmed"])

    second = await a_round(shards)  # max_recoveries=1: the one re-drive got no answer either
    assert (second.redriven, second.confirmed, second.failed) == ([], [], [pending])
    assert await state(shards, pending) == (OrderStatus.FAILED, 1,
                                            ["order.created", "order.created", "order.timed_out"])
    assert not (await a_round(shards)).wrote_events  # nothing waits any more

    broker = Published()
    await outbox.relay(sessions=shards.databases[0].sessions, publish=broker, batch_size=100)
    async with shards.databases[0].sessions() as session:
        order_ref = (await session.get(Order, pending)).order_ref
    compensation = [task for task, kwargs in broker.sent
                    if kwargs.get("order_id") == pending or kwargs.get("order_ref") == order_ref]
    assert sorted(compensation) == sorted(["payments.charge", "payments.charge", "orders.release_stock",
                                           "payments.refund", "notifications.notify"])


async def test_a_claim_nobody_came_back_for_has_its_stock_released_and_is_forgotten_a_recent_one_is_kept(orders):
    shards, _ = orders
    stockroom = Stockroom(stock=10)
    fingerprint = basket((1, 4)).fingerprint()
    gone = await idempotency.StoredKey(shards.for_user(502), 502, "gone", 30).claim(fingerprint)
    await stockroom.reserve(order_ref=gone.order_ref, items=[{"product_id": 1, "quantity": 4}])  # then it died
    async with shards.databases[0].sessions() as session:
        await session.scalar(select(func.pg_sleep(1.1)))
    recent = await idempotency.StoredKey(shards.for_user(502), 502, "recent", 30).claim(fingerprint)

    released = await recovery.release_abandoned_claims(sessions=shards.databases[0].sessions, products=stockroom,
                                                       older_than_seconds=1, batch_size=100)

    assert released == stockroom.released == [gone.order_ref]
    assert stockroom.stock == 10
    async with shards.databases[0].sessions() as session:
        kept = list(await session.scalars(select(IdempotencyKey.order_ref).where(IdempotencyKey.user_id == 502)))
    assert kept == [recent.order_ref]
