"""Moving a bucket of users between two orders shards (orders.resharding.move_bucket, what `make
reshard` runs) on a real Postgres, without the stack: every order, item and idempotency key of the
bucket reaches the target as it was and none stays behind; the moved customers' keys replay there
and their new orders land there, even through a directory cached before the move (the fence turns
the old shard away); customers who keep ordering during the move lose and double nothing; and while
a copy waits for its switch, only the shard that owns the bucket re-drives its orders."""

import asyncio

import pytest
from sqlalchemy import select

from orders import idempotency, recovery, resharding
from orders.models import BucketOwnership, Order, ShardBucket
from orders.shards import Shards
from orders_support import Stockroom, another_bucket, basket, bucket_rows, open_shards, place, users_in_bucket

EMPTY = {"orders": [], "order_items": [], "idempotency_keys": []}


@pytest.fixture(scope="module")
async def orders(postgres_url):
    """Two shards, every bucket on shard 0 to begin with (shard 1 is the one being added)."""
    shards, settings = await open_shards(postgres_url, 2, initial=1)
    yield shards, settings
    await shards.dispose()


def quiet(line: str) -> None:
    """move_bucket's progress lines (printed by `make reshard`) are not needed here."""


async def where_is(shards: Shards, bucket: int) -> tuple[int, list[bool]]:
    """The directory's shard for the bucket, and each shard's fence for it."""
    async with shards.home.sessions() as session:
        shard = await session.scalar(select(ShardBucket.shard).where(ShardBucket.bucket == bucket))
    fences = []
    for database in shards.databases:
        async with database.sessions() as session:
            fences.append(await session.scalar(select(BucketOwnership.owned).where(BucketOwnership.bucket == bucket)))
    return shard, fences


async def order_ids(database, bucket: int) -> list[int]:
    async with database.sessions() as session:
        return sorted(await session.scalars(select(Order.id).where(Order.bucket == bucket)))


async def test_moving_a_bucket_copies_every_order_item_and_key_and_leaves_none_behind(orders):
    shards, settings = orders
    source, target = shards.databases
    bucket, stockroom = 5, Stockroom()
    for user in users_in_bucket(bucket, 3):
        for key in ("a", "b"):
            await place(shards, settings, stockroom, user, key, basket((1, 1), (2, 3)))
    # A request that died after its claim: its key is in flight, and moves too.
    await idempotency.StoredKey(shards.for_user(user), user, "in-flight", 30).claim(basket((3, 1)).fingerprint())
    bystanders = users_in_bucket(another_bucket(bucket), 1)
    await place(shards, settings, stockroom, bystanders[0], "a", basket((1, 1)))
    before, left_alone = await bucket_rows(source, bucket), await bucket_rows(source, another_bucket(bucket))
    assert [len(before[table]) for table in EMPTY] == [6, 12, 7]

    moved = await resharding.move_bucket(shards.databases, bucket, 1, say=quiet)

    assert (moved.source, moved.target, str(moved.copied)) == (0, 1, "6 orders, 12 items, 7 idempotency keys")
    assert await bucket_rows(target, bucket) == before
    assert await bucket_rows(source, bucket) == EMPTY
    assert await bucket_rows(source, another_bucket(bucket)) == left_alone
    assert await bucket_rows(target, another_bucket(bucket)) == EMPTY
    assert await where_is(shards, bucket) == (1, [False, True])


async def test_after_the_move_keys_replay_and_new_orders_land_on_the_new_shard_even_from_a_stale_directory(orders):
    shards, settings = orders
    source, target = shards.databases
    bucket, stockroom = 9, Stockroom()
    (user,) = users_in_bucket(bucket, 1)
    first = await place(shards, settings, stockroom, user, "first", basket((1, 2)))
    stale = Shards(shards.databases)  # another replica's directory cache, loaded before the move
    assert (await stale.load_directory())[bucket] == 0

    await resharding.move_bucket(shards.databases, bucket, 1, say=quiet)

    replay = await place(stale, settings, stockroom, user, "first", basket((1, 2)))
    assert (replay.replayed, replay.body) == (True, first.body)
    second = await place(stale, settings, stockroom, user, "second", basket((1, 2)))
    assert second.replayed is False
    assert await order_ids(target, bucket) == sorted([first.body["id"], second.body["id"]])
    assert await order_ids(source, bucket) == []
    # Ids stay unique across shards: shard 0 hands out 1 (mod 16), shard 1 hands out 2 (mod 16).
    assert (first.body["id"] % resharding.ID_STRIDE, second.body["id"] % resharding.ID_STRIDE) == (1, 2)


async def test_customers_ordering_while_their_bucket_moves_lose_and_double_no_order(orders):
    shards, settings = orders
    source, target = shards.databases
    bucket, stockroom = 17, Stockroom(stock=10_000)
    placed: list[int] = []
    moving = asyncio.Event()
    moved = asyncio.Event()

    async def shop(user: int) -> None:
        n = 0
        while not moved.is_set() or n < 20:  # before, during and after the move
            outcome = await place(shards, settings, stockroom, user, f"k{n}", basket((1, 1)))
            placed.append(outcome.body["id"])
            n += 1
            if n == 10:
                moving.set()

    shoppers = [asyncio.create_task(shop(user)) for user in users_in_bucket(bucket, 2)]
    await moving.wait()
    before = len(placed)
    await resharding.move_bucket(shards.databases, bucket, 1, say=quiet)
    during = len(placed) - before
    moved.set()
    await asyncio.gather(*shoppers)  # any failed request fails the test here

    assert during > 0  # the move really ran under orders
    assert await order_ids(target, bucket) == sorted(placed)
    assert await order_ids(source, bucket) == []
    keys = (await bucket_rows(target, bucket))["idempotency_keys"]
    assert len(keys) == len(placed) and all("done" in key for key in keys)


async def test_while_a_copy_waits_for_its_switch_only_the_owner_of_the_bucket_redrives_its_orders(orders):
    shards, settings = orders
    source, target = shards.databases
    bucket, stockroom = 33, Stockroom()
    (user,) = users_in_bucket(bucket, 1)
    ids = [(await place(shards, settings, stockroom, user, key, basket((1, 1)))).body["id"] for key in ("a", "b")]
    await resharding.copy_bucket(source, target, bucket)  # step 1 of a move: the target does not own it yet
    assert await order_ids(target, bucket) == ids

    on_target = await recovery.reconcile(sessions=target.sessions, deadline_seconds=0, max_recoveries=4,
                                         batch_size=1000, shard=1)
    on_source = await recovery.reconcile(sessions=source.sessions, deadline_seconds=0, max_recoveries=4,
                                         batch_size=1000)
    assert not set(ids) & set(on_target.redriven)
    assert set(ids) <= set(on_source.redriven)
