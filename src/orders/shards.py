"""The orders shards and the directory in front of them (seed "Database Sharding Pattern": hash
behind a directory).

    user_id --hash--> bucket (orders.shard_keys, 64 buckets) --directory--> shard (a database)

- The directory (the shard map) is the table `shard_buckets` on shard 0: bucket -> shard. Every
  process caches it and reloads it every DIRECTORY_TTL_SECONDS, and at once when a shard says it
  no longer owns a bucket.
- Each shard keeps a fence, `bucket_ownership`: which buckets it owns *now*. Every transaction
  on a user's orders first takes that bucket's row FOR SHARE and goes on only if the shard owns
  it. A stale directory cache can therefore never write to (or read from) a shard that gave a
  bucket away: the transaction sees `owned = false`, rolls back, reloads the directory and tries
  the shard it names. The resharder (orders.resharding) turns a bucket's fence off with an UPDATE,
  which waits for every transaction holding the share lock: after it, no write to the bucket is in
  flight on the old shard, and the final copy misses nothing.

`Shards.for_user(user_id)` returns an object with `begin()`, like an `async_sessionmaker`, so the
idempotency and order code takes "the user's sessions" without knowing about shards. Everything
else (outbox, relay, reconciler) works per shard, on `Shards.databases`.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.db import Database
from orders.errors import ShardMoving
from orders.models import BucketOwnership, Order, ShardBucket
from orders.shard_keys import bucket_of

DIRECTORY_TTL_SECONDS = 2.0
# While a bucket switches shards its writes wait for the fence to open on the new shard: a few
# hundred milliseconds (the final copy of one bucket). Retry for up to ~5 s, then 503.
FENCE_RETRIES = 25
FENCE_BACKOFF_SECONDS = 0.2

log = structlog.get_logger("orders.shards")


class Shards:
    """The shard databases (index = shard number) and the cached directory."""

    def __init__(self, databases: list[Database]):
        self.databases = databases
        self.directory: dict[int, int] = {}
        self.loaded_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def home(self) -> Database:
        """Shard 0 holds the directory."""
        return self.databases[0]

    async def load_directory(self) -> dict[int, int]:
        async with self._lock:
            async with self.home.sessions() as session:
                rows = (await session.execute(select(ShardBucket.bucket, ShardBucket.shard))).all()
            self.directory = {bucket: shard for bucket, shard in rows}
            self.loaded_at = time.monotonic()
        return self.directory

    async def shard_of_bucket(self, bucket: int) -> int:
        """The directory's answer, from the cache. A reload that fails (shard 0 down) keeps the old map:
        the fences make a stale map safe, so shard 0's outage does not stop the other shards' users."""
        if not self.directory:
            await self.load_directory()
        elif time.monotonic() - self.loaded_at > DIRECTORY_TTL_SECONDS:
            try:
                await self.load_directory()
            except Exception as error:
                self.loaded_at = time.monotonic()  # try again after one TTL, not on every request
                log.warning("shard directory reload failed; using the cached map", error=repr(error))
        return self.directory.get(bucket, 0)

    async def shard_of(self, user_id: int) -> int:
        return await self.shard_of_bucket(bucket_of(user_id))

    def for_user(self, user_id: int) -> "UserSessions":
        return UserSessions(self, user_id)

    async def user_of_order(self, order_id: int) -> int | None:
        """Whose order this is, wherever it lives now (ids are unique across shards: each shard's
        sequence has its own residue, orders.resharding.align_sequences). A copy left mid-move on the
        old shard has the same user, so any answer routes correctly."""
        failure = None
        for database in self.databases:
            try:
                async with database.sessions() as session:
                    user_id = await session.scalar(select(Order.user_id).where(Order.id == order_id))
            except Exception as error:  # a shard that is down cannot hold up the others' orders
                failure = error
                continue
            if user_id is not None:
                return user_id
        if failure is not None:
            raise failure  # it may be on the shard that did not answer: the task retries
        return None

    async def dispose(self) -> None:
        for database in self.databases:
            await database.dispose()


async def owns(session: AsyncSession, bucket: int) -> bool:
    """The fence: this shard owns the bucket, and keeps owning it until this transaction ends."""
    owned = await session.scalar(
        select(BucketOwnership.owned).where(BucketOwnership.bucket == bucket).with_for_update(read=True))
    return bool(owned)


async def owned_buckets(session: AsyncSession) -> list[int]:
    """Every bucket this shard owns, each held FOR SHARE until the transaction ends (per-shard jobs:
    the reconciler touches only orders it owns, and no move can take them away meanwhile)."""
    return list(await session.scalars(
        select(BucketOwnership.bucket).where(BucketOwnership.owned).with_for_update(read=True)))


class UserSessions:
    """One user's transactions, on whichever shard owns the user's bucket now (fenced)."""

    def __init__(self, shards: Shards, user_id: int):
        self.shards = shards
        self.bucket = bucket_of(user_id)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        for _ in range(FENCE_RETRIES):
            shard = await self.shards.shard_of_bucket(self.bucket)
            async with self.shards.databases[shard].sessions.begin() as session:
                if await owns(session, self.bucket):
                    session.info["shard"] = shard
                    yield session
                    return
            # Moved (or moving): give the switch a moment, reload the directory, try again.
            await asyncio.sleep(FENCE_BACKOFF_SECONDS)
            self.shards.loaded_at = 0.0
        raise ShardMoving()

    def __call__(self):
        """`async with sessions() as session` reads are fenced transactions too."""
        return self.begin()


async def ping_all(shards: Shards) -> None:
    for database in shards.databases:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
