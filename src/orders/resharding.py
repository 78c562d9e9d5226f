"""Shard set-up and online resharding: `python -m orders.resharding init|move|status`
(compose one-shot `orders-shards`; `make reshard`). Seed "Database Sharding Pattern":
"rebalancing data when adding shards".

`init` (before the orders replicas start, idempotent): the directory on shard 0 gets every bucket
(round robin over ORDERS_INITIAL_SHARDS shards), each shard its fence rows (owned = what the
directory says), and each shard's id sequences their own residue modulo ID_STRIDE, so an order id
is unique across shards and keeps its id when its user moves.

`move` takes buckets to another shard while orders keep arriving, one bucket at a time:

    1. copy      the bucket's orders, items and idempotency keys, source -> target (the target
                 does not own the bucket yet: its fence keeps every request away from the copy)
    2. catch up  copy again: what was written meanwhile (a copy replaces the bucket's rows)
    3. fence     source: owned = false. The UPDATE waits for every transaction holding the
                 bucket's fence row (orders.shards.owns): when it returns, no write to the bucket is
                 in flight, and new ones wait and retry (orders.shards.UserSessions)
    4. final     copy once more: now nothing can change under it
    5. switch    target: owned = true; directory: bucket -> target. Waiting requests go there.
    6. clean up  delete the bucket's rows from the source

Requests of a moving bucket wait for at most steps 3-5 of *that* bucket (milliseconds: one more
copy of one bucket); other buckets are not touched. Outbox rows stay where they were written:
each shard's relay publishes its own, and the saga's answers find an order wherever it lives.
"""

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.db import Database, create_engine
from orders.models import BucketOwnership, IdempotencyKey, Order, OrderItem, ShardBucket
from orders.settings import OrdersSettings
from orders.shard_keys import BUCKETS, initial_shard

ID_STRIDE = 16  # at most 16 shards; shard k's ids are k + 1 modulo 16
SEQUENCES = (("orders", "id"), ("order_items", "id"))
COPIED = (Order, OrderItem, IdempotencyKey)


def shard_urls(settings: OrdersSettings) -> list[str]:
    """ORDERS_SHARD_URLS (index = shard number), or the one DATABASE_URL: a single shard."""
    urls = settings.orders_shard_urls or settings.database_url or ""
    return [url.strip() for url in urls.split(",") if url.strip()]


def open_shards(settings: OrdersSettings, *, pooled: bool) -> list[Database]:
    return [Database(create_engine(url, settings, pooled=pooled)) for url in shard_urls(settings)]


# ---------------------------------------------------------------- init


async def init(databases: list[Database], initial_shards: int) -> dict[int, int]:
    """Directory, fences and id sequences; changes nothing that is already set (idempotent)."""
    async with databases[0].sessions.begin() as session:
        await session.execute(pg_insert(ShardBucket).values(
            [{"bucket": b, "shard": initial_shard(b, initial_shards)} for b in range(BUCKETS)]
        ).on_conflict_do_nothing(index_elements=["bucket"]))
        directory = dict((await session.execute(select(ShardBucket.bucket, ShardBucket.shard))).all())
    # Ids must be unique across shards, so every shard's sequence starts past the highest id of ANY
    # shard: an orders database that predates sharding holds contiguous ids, and a new shard counting
    # from its own (empty) table would hand out ids shard 0 already used.
    in_use = {key: 0 for key in SEQUENCES}
    for database in databases:
        async with database.sessions() as session:
            for key, highest in (await highest_ids(session)).items():
                in_use[key] = max(in_use[key], highest)
    for index, database in enumerate(databases):
        async with database.sessions.begin() as session:
            await session.execute(_insert_missing_fences(directory, index))
            await align_sequences(session, index, past=in_use)
    return directory


def _insert_missing_fences(directory: dict[int, int], shard: int):
    rows = [{"bucket": b, "owned": directory[b] == shard} for b in range(BUCKETS)]
    return pg_insert(BucketOwnership).values(rows).on_conflict_do_nothing(index_elements=["bucket"])


async def highest_ids(session: AsyncSession) -> dict[tuple[str, str], int]:
    """The highest id each sequence of this shard has given or could give next."""
    highest = {}
    for table, column in SEQUENCES:
        sequence = await session.scalar(text(f"SELECT pg_get_serial_sequence('{table}', '{column}')"))
        highest[(table, column)] = await session.scalar(text(
            f"SELECT GREATEST(COALESCE(MAX({column}), 0), (SELECT last_value FROM {sequence})) FROM {table}"))
    return highest


async def align_sequences(session: AsyncSession, shard: int, past: dict[tuple[str, str], int]) -> None:
    """Give this shard's id sequences step ID_STRIDE and residue shard + 1, past `past` (the highest
    id in use on any shard). Once only: a sequence already stepping by ID_STRIDE is in use and is
    left alone."""
    for table, column in SEQUENCES:
        sequence = await session.scalar(text(f"SELECT pg_get_serial_sequence('{table}', '{column}')"))
        step = await session.scalar(text("SELECT increment_by FROM pg_sequences "
                                         "WHERE schemaname || '.' || sequencename = :name"), {"name": sequence})
        if step == ID_STRIDE:
            continue
        highest = past[(table, column)]
        following = highest + 1 + (shard + 1 - (highest + 1)) % ID_STRIDE  # ≡ shard + 1 (mod stride)
        await session.execute(text(f"ALTER SEQUENCE {sequence} INCREMENT BY {ID_STRIDE}"))
        await session.execute(text("SELECT setval(:sequence, :value, false)"),
                              {"sequence": sequence, "value": following})


# ---------------------------------------------------------------- move


@dataclass
class Copied:
    orders: int
    items: int
    keys: int

    def __str__(self) -> str:
        return f"{self.orders} orders, {self.items} items, {self.keys} idempotency keys"


def _columns(model) -> list:
    return [column for column in model.__table__.columns if column.computed is None]


async def copy_bucket(source: Database, target: Database, bucket: int) -> Copied:
    """Replace the target's rows of the bucket by the source's, from one consistent snapshot."""
    async with source.sessions() as reading:
        await reading.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        rows = {}
        for model in COPIED:
            columns = _columns(model)
            query = select(*columns)
            if model is OrderItem:
                query = query.join(Order, Order.id == OrderItem.order_id).where(Order.bucket == bucket)
            else:
                query = query.where(model.bucket == bucket)
            rows[model] = [dict(row._mapping) for row in await reading.execute(query)]
        await reading.rollback()
    async with target.sessions.begin() as writing:
        await writing.execute(delete(Order).where(Order.bucket == bucket))  # items go with them (CASCADE)
        await writing.execute(delete(IdempotencyKey).where(IdempotencyKey.bucket == bucket))
        for model in COPIED:
            if rows[model]:
                await writing.execute(insert(model.__table__), rows[model])
    return Copied(len(rows[Order]), len(rows[OrderItem]), len(rows[IdempotencyKey]))


async def set_owned(database: Database, bucket: int, owned: bool) -> None:
    async with database.sessions.begin() as session:
        await session.execute(update(BucketOwnership).where(BucketOwnership.bucket == bucket).values(owned=owned))


@dataclass
class Moved:
    bucket: int
    source: int
    target: int
    copied: Copied
    paused_ms: float  # fence closed on the source until open on the target: this bucket's writes waited
    seconds: float


async def move_bucket(databases: list[Database], bucket: int, target: int, say=print) -> Moved:
    """Copy, catch up, fence, final copy, switch, clean up (the module docstring)."""
    async with databases[0].sessions() as session:
        source = await session.scalar(select(ShardBucket.shard).where(ShardBucket.bucket == bucket))
    if source == target:
        return Moved(bucket, source, target, Copied(0, 0, 0), 0.0, 0.0)
    began = time.monotonic()
    first = await copy_bucket(databases[source], databases[target], bucket)
    say(f"  bucket {bucket:2d}: shard {source} -> {target}: copied {first}")
    caught_up = await copy_bucket(databases[source], databases[target], bucket)
    say(f"  bucket {bucket:2d}: caught up ({caught_up})")
    fenced = time.monotonic()
    await set_owned(databases[source], bucket, False)  # waits for the bucket's transactions in flight
    final = await copy_bucket(databases[source], databases[target], bucket)
    await set_owned(databases[target], bucket, True)
    async with databases[0].sessions.begin() as session:
        await session.execute(update(ShardBucket).where(ShardBucket.bucket == bucket)
                              .values(shard=target, moved_at=func.now()))
    paused = time.monotonic() - fenced
    async with databases[source].sessions.begin() as session:
        await session.execute(delete(Order).where(Order.bucket == bucket))
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.bucket == bucket))
    say(f"  bucket {bucket:2d}: switched to shard {target} (final copy {final}; writes of this bucket "
        f"paused {1000 * paused:.0f} ms), source cleaned up, {time.monotonic() - began:.2f}s in all")
    return Moved(bucket, source, target, final, round(1000 * paused, 1), round(time.monotonic() - began, 2))


async def move(databases: list[Database], target: int, count: int, say=print,
               prefer: list[int] = ()) -> list[Moved]:
    """Move `count` buckets to shard `target`, taken in turn from the shards that hold the most
    (among them the buckets in `prefer` first: the drill moves its own customers)."""
    moved = []
    for _ in range(count):
        async with databases[0].sessions() as session:
            directory = dict((await session.execute(select(ShardBucket.bucket, ShardBucket.shard))).all())
        loads: dict[int, list[int]] = {}
        for bucket, shard in sorted(directory.items()):
            loads.setdefault(shard, []).append(bucket)
        donors = [shard for shard in loads if shard != target]
        if not donors:
            break
        donor = max(donors, key=lambda shard: len(loads[shard]))
        preferred = [bucket for bucket in prefer if directory.get(bucket) == donor]
        bucket = preferred[0] if preferred else loads[donor][-1]
        moved.append(await move_bucket(databases, bucket, target, say))
    return moved


async def status(databases: list[Database]) -> dict:
    """Buckets, users and orders per shard (what `make reshard` prints before and after)."""
    async with databases[0].sessions() as session:
        directory = dict((await session.execute(select(ShardBucket.bucket, ShardBucket.shard))).all())
    summary = {}
    for index, database in enumerate(databases):
        async with database.sessions() as session:
            owned = list(await session.scalars(select(BucketOwnership.bucket).where(BucketOwnership.owned)))
            orders, users = (await session.execute(
                select(func.count(), func.count(func.distinct(Order.user_id))).where(Order.bucket.in_(owned)))).one()
        summary[index] = {"buckets": sum(1 for shard in directory.values() if shard == index),
                          "owned": len(owned), "orders": orders, "users": users}
    return summary


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="orders.resharding", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init")
    commands.add_parser("status")
    moving = commands.add_parser("move")
    moving.add_argument("--to", type=int, required=True, help="target shard (its index in ORDERS_SHARD_URLS)")
    moving.add_argument("--buckets", type=int, required=True, help="how many buckets to move there")
    args = parser.parse_args(argv)
    settings = OrdersSettings()
    databases = open_shards(settings, pooled=False)
    try:
        if args.command == "init":
            initial = int(os.environ.get("ORDERS_INITIAL_SHARDS", "2"))
            directory = await init(databases, initial)
            print(f"shards ready: {len(databases)} databases, {len(directory)} buckets over "
                  f"{len(set(directory.values()))} of them", flush=True)
        elif args.command == "status":
            for shard, figures in (await status(databases)).items():
                print(f"shard {shard}: {figures}")
        else:
            print("before:", await status(databases), flush=True)
            moved = await move(databases, args.to, args.buckets, say=lambda line: print(line, flush=True))
            print(f"moved {len(moved)} buckets to shard {args.to}: {[m.bucket for m in moved]}; longest pause "
                  f"{max((m.paused_ms for m in moved), default=0):.0f} ms")
            print("after:", await status(databases), flush=True)
    finally:
        for database in databases:
            await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
