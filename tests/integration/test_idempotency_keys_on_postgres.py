"""Idempotency keys (orders.idempotency, through orders.service.place) on a real Postgres, without
the stack: the claim is one INSERT ... ON CONFLICT DO NOTHING, so of many concurrent requests with
one key exactly one reserves and writes the order while the others get 409, and a retry replays the
stored answer; another body with the key is refused (422); a refusal releases the key; a request in
doubt, or one that died, hands its order_ref to the retry, which asks products for the same
reservation again, never a second one."""

import asyncio

import pytest
from sqlalchemy import func, select

from orders import idempotency
from orders.errors import InsufficientStock, IdempotencyKeyInFlight, IdempotencyKeyReused
from orders.models import IdempotencyKey, Order
from orders_support import Stockroom, basket, open_shards, place, until


@pytest.fixture(scope="module")
async def orders(postgres_url):
    """One shard holding every bucket, as a stack with ORDERS_INITIAL_SHARDS=1."""
    shards, settings = await open_shards(postgres_url, 1, initial=1)
    yield shards, settings
    await shards.dispose()


async def stored(shards, user_id: int, key: str) -> tuple[IdempotencyKey | None, list[Order]]:
    """The key's row and the user's orders, as the database has them."""
    async with shards.databases[0].sessions() as session:
        row = await session.get(IdempotencyKey, (user_id, key))
        placed = list(await session.scalars(select(Order).where(Order.user_id == user_id)))
    return row, placed


async def test_of_twenty_concurrent_requests_with_one_key_one_places_the_order_and_the_others_get_409(orders):
    shards, settings = orders
    stockroom = Stockroom()
    stockroom.gate = asyncio.Event()  # the first request stays inside products until every other one is answered
    requests = [asyncio.create_task(place(shards, settings, stockroom, 101, "race", basket((1, 2))))
                for _ in range(20)]
    await until(lambda: sum(request.done() for request in requests) == 19)
    assert len(stockroom.asked) == 1
    assert all(isinstance(request.exception(), IdempotencyKeyInFlight) for request in requests if request.done())

    stockroom.gate.set()
    (winner,) = [request for request in requests if not request.done()]
    first = await winner
    assert (first.status_code, first.replayed) == (201, False)

    retry = await place(shards, settings, stockroom, 101, "race", basket((1, 2)))
    assert (retry.status_code, retry.body, retry.replayed) == (201, first.body, True)
    assert len(stockroom.asked) == 1  # the replay never reached products
    row, placed = await stored(shards, 101, "race")
    assert [order.id for order in placed] == [first.body["id"]]
    assert (row.status, row.response_code, row.response_body) == ("done", 201, first.body)


async def test_a_key_reused_with_another_body_is_refused_and_another_user_may_use_the_same_key(orders):
    shards, settings = orders
    stockroom = Stockroom()
    first = await place(shards, settings, stockroom, 102, "shared-name", basket((1, 2)))
    with pytest.raises(IdempotencyKeyReused):
        await place(shards, settings, stockroom, 102, "shared-name", basket((1, 3)))
    other_user = await place(shards, settings, stockroom, 103, "shared-name", basket((1, 3)))
    assert other_user.replayed is False and other_user.body["id"] != first.body["id"]
    assert len(stockroom.asked) == 2
    assert [order.id for order in (await stored(shards, 102, "shared-name"))[1]] == [first.body["id"]]


async def test_a_refused_request_releases_its_key_so_the_retry_starts_afresh(orders):
    shards, settings = orders
    stockroom = Stockroom(stock=1)
    with pytest.raises(InsufficientStock):
        await place(shards, settings, stockroom, 104, "too-many", basket((1, 2)))
    row, placed = await stored(shards, 104, "too-many")
    assert row is None and placed == []

    stockroom.stock = 5  # restocked: the same key places the order now
    retry = await place(shards, settings, stockroom, 104, "too-many", basket((1, 2)))
    assert (retry.status_code, retry.replayed) == (201, False)
    assert (await stored(shards, 104, "too-many"))[0].status == "done"


async def test_a_request_in_doubt_hands_its_order_ref_to_the_retry_so_products_reserves_once(orders):
    shards, settings = orders
    stockroom = Stockroom()
    stockroom.in_doubt = True  # products reserved, then the answer timed out
    with pytest.raises(TimeoutError):
        await place(shards, settings, stockroom, 105, "in-doubt", basket((1, 2)))
    row, placed = await stored(shards, 105, "in-doubt")
    assert (row.status, row.order_ref, placed) == ("in_flight", stockroom.asked[0], [])

    # Well within the 30-s lock, and yet taken over: the key was freed for exactly this retry.
    retry = await place(shards, settings, stockroom, 105, "in-doubt", basket((1, 2)))
    assert (retry.status_code, retry.replayed) == (201, False)
    _, placed = await stored(shards, 105, "in-doubt")
    assert [order.order_ref for order in placed] == [stockroom.asked[0]] == [stockroom.asked[1]]
    assert list(stockroom.reservations) == [stockroom.asked[0]]


async def test_the_key_of_a_request_that_died_is_taken_over_only_after_its_lock(orders):
    shards, settings = orders
    settings = settings.model_copy(update={"idempotency_lock_seconds": 1})
    stockroom = Stockroom()
    dead = await idempotency.StoredKey(shards.for_user(106), 106, "dead", 1).claim(basket((1, 2)).fingerprint())
    with pytest.raises(IdempotencyKeyInFlight):  # it may still be running: the retry waits
        await place(shards, settings, stockroom, 106, "dead", basket((1, 2)))
    async with shards.databases[0].sessions() as session:
        await session.scalar(select(func.pg_sleep(1.1)))  # the database's clock decides, as in production
    retry = await place(shards, settings, stockroom, 106, "dead", basket((1, 2)))
    assert (retry.status_code, retry.replayed) == (201, False)
    assert stockroom.asked == [dead.order_ref]
