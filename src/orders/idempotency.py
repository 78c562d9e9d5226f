"""Idempotency keys for POST /orders: a retried request never places a second order.

The client sends `Idempotency-Key`; the key is scoped to the user. Claiming it is one
`INSERT ... ON CONFLICT DO NOTHING` in its own short transaction, so exactly one of
many concurrent requests wins, whatever replica each lands on:

    claimed        -> the winner does the work; the order's transaction stores the
                      response on the key (status done) atomically with the order
    same body, done      -> the stored response is replayed (same status and body)
    same body, in flight -> 409: the first request is still running, retry later
    other body           -> 422: a key names one request, not a new one

A request that products refused (no stock) releases its key, so the client may retry
with it. One whose reservation is *in doubt* (products timed out or was unreachable: it
may still commit after we gave up) frees the key for an immediate take-over instead: the
retry reuses the key's order_ref, which products' idempotent reservation turns into the
same reservation, never a second one. One that died mid-flight (a killed replica) leaves
the key in flight; after `idempotency_lock_seconds` a retry takes it over the same way.
A key nobody came back for is abandoned: the saga reconciler releases its order_ref's
stock and deletes it (orders.recovery.release_abandoned_claims).
Keys are kept `idempotency_ttl_hours` (>= 24 h) and purged by a beat task.

`once` is the whole protocol around a handler (claim -> run -> complete, or release, or free for
a retry), so the caller's code holds only its domain steps.
"""

import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.errors import IdempotencyKeyInFlight, IdempotencyKeyMissing, IdempotencyKeyReused
from orders.metrics import IDEMPOTENCY_REQUESTS
from orders.models import IdempotencyKey

MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class Claim:
    order_ref: str | None = None  # set when this request owns the key and must do the work
    response_code: int | None = None  # set when the first response is to be replayed
    response_body: dict | None = None

    @property
    def is_replay(self) -> bool:
        return self.order_ref is None


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict
    replayed: bool  # the stored response of the first request with this key


class Key(Protocol):
    """One idempotency key of one user: where `once` keeps its state (StoredKey: the database)."""

    async def claim(self, fingerprint: str) -> Claim: ...
    async def complete(self, session: AsyncSession, *, status_code: int, body: dict) -> None: ...
    async def release(self) -> None: ...
    async def free_for_retry(self) -> None: ...


@dataclass(frozen=True)
class StoredKey:
    """The key as a row of idempotency_keys, on the user's shard (the functions below)."""

    sessions: async_sessionmaker[AsyncSession]
    user_id: int
    key: str
    lock_seconds: int

    async def claim(self, fingerprint: str) -> Claim:
        return await claim(sessions=self.sessions, user_id=self.user_id, key=self.key, fingerprint=fingerprint,
                           lock_seconds=self.lock_seconds)

    async def complete(self, session: AsyncSession, *, status_code: int, body: dict) -> None:
        await complete(session=session, user_id=self.user_id, key=self.key, response_code=status_code,
                       response_body=body)

    async def release(self) -> None:
        await release(sessions=self.sessions, user_id=self.user_id, key=self.key)

    async def free_for_retry(self) -> None:
        await free_for_retry(sessions=self.sessions, user_id=self.user_id, key=self.key,
                             lock_seconds=self.lock_seconds)


@dataclass(frozen=True)
class Run:
    """What a handler gets: the claimed key's order_ref (the same on every retry of this key), and
    `complete`, which it calls inside the transaction that writes its result."""

    key: Key
    order_ref: str

    async def complete(self, session: AsyncSession, *, status_code: int, body: dict) -> None:
        await self.key.complete(session, status_code=status_code, body=body)


async def once(handler: Callable[[Run], Awaitable[tuple[int, dict]]], *, key: Key, fingerprint: str,
               refusals: tuple[type[Exception], ...] = ()) -> Outcome:
    """Run `handler` at most once per key: claim it, run the handler, and
    - it returned: its transaction stored the response on the key (`Run.complete`);
    - it raised one of `refusals` (nothing was done: products said no): the key is released, so a
      retry with it starts afresh;
    - it raised anything else, the outcome in doubt (a reservation timed out and may still commit
      after we gave up; a commit cut off mid-way): the key keeps its order_ref and is freed for an
      immediate take-over, so the retry asks for the same reservation, never a second one that would
      hold stock for good (found by the chaos matrix: 21 units leaked), and replays or writes the order
      on it. If nobody retries, the saga reconciler releases the reservation (orders.recovery).
    If the database is down too, the key stays in flight; a retry takes it over after lock_seconds."""
    claimed = await key.claim(fingerprint)
    if claimed.is_replay:
        return Outcome(claimed.response_code, claimed.response_body, replayed=True)
    try:
        status_code, body = await handler(Run(key=key, order_ref=claimed.order_ref))
    except refusals:
        with suppress(Exception):
            await key.release()
        raise
    except Exception:
        with suppress(Exception):
            await key.free_for_retry()
        raise
    return Outcome(status_code, body, replayed=False)


def validate_key(key: str | None) -> str:
    """IdempotencyKeyMissing (400) unless the header is present and 1..100 characters."""
    if key is None or not key.strip():
        raise IdempotencyKeyMissing("the Idempotency-Key header is required")
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyMissing(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters")
    return key


async def claim(*, sessions: async_sessionmaker[AsyncSession], user_id: int, key: str, fingerprint: str,
                lock_seconds: int) -> Claim:
    """Own the key (a new request), or learn what the first request with this key did."""
    for _ in range(3):  # the row may vanish between our statements (its request failed and released it)
        async with sessions.begin() as session:
            claimed = await session.scalar(
                insert(IdempotencyKey)
                .values(user_id=user_id, key=key, request_hash=fingerprint, status="in_flight",
                        order_ref=uuid.uuid4().hex)
                .on_conflict_do_nothing(index_elements=["user_id", "key"])
                .returning(IdempotencyKey.order_ref)
            )
            if claimed is None:
                claimed = await _take_over_stale(session, user_id, key, fingerprint, lock_seconds)
            if claimed is not None:
                IDEMPOTENCY_REQUESTS.labels("new").inc()
                return Claim(order_ref=claimed)
            existing = await session.get(IdempotencyKey, (user_id, key))
        if existing is None:
            continue
        if existing.request_hash != fingerprint:
            IDEMPOTENCY_REQUESTS.labels("mismatch").inc()
            raise IdempotencyKeyReused()
        if existing.status != "done":
            IDEMPOTENCY_REQUESTS.labels("conflict").inc()
            raise IdempotencyKeyInFlight(headers={"Retry-After": "1"})
        IDEMPOTENCY_REQUESTS.labels("replayed").inc()
        return Claim(response_code=existing.response_code, response_body=existing.response_body)
    raise IdempotencyKeyInFlight("this Idempotency-Key is contended; retry", headers={"Retry-After": "1"})


async def _take_over_stale(session: AsyncSession, user_id: int, key: str, fingerprint: str,
                           lock_seconds: int) -> str | None:
    return await session.scalar(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
               IdempotencyKey.status == "in_flight", IdempotencyKey.request_hash == fingerprint,
               IdempotencyKey.locked_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, lock_seconds))
        .values(locked_at=func.now())
        .returning(IdempotencyKey.order_ref)
    )


async def complete(*, session: AsyncSession, user_id: int, key: str, response_code: int, response_body: dict) -> None:
    """Store the response on the key, inside the transaction that wrote the order."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(status="done", response_code=response_code, response_body=response_body)
    )


async def release(*, sessions: async_sessionmaker[AsyncSession], user_id: int, key: str) -> None:
    """Forget a claim whose request wrote nothing, so the client can retry with the same key."""
    async with sessions.begin() as session:
        await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                                         IdempotencyKey.status == "in_flight")
        )


async def free_for_retry(*, sessions: async_sessionmaker[AsyncSession], user_id: int, key: str,
                         lock_seconds: int) -> None:
    """The reservation is in doubt: keep the key and its order_ref, but let a retry take it over now."""
    async with sessions.begin() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.status == "in_flight")
            .values(locked_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 0, lock_seconds + 1))
        )


async def abandoned(*, session: AsyncSession, older_than_seconds: int, limit: int,
                    buckets: list[int]) -> list[IdempotencyKey]:
    """Keys still in flight long after any request could hold them (nobody came back to retry), among
    the shard buckets this shard owns."""
    return list((await session.scalars(
        select(IdempotencyKey)
        .where(IdempotencyKey.status == "in_flight", IdempotencyKey.bucket.in_(buckets),
               IdempotencyKey.locked_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, older_than_seconds))
        .order_by(IdempotencyKey.locked_at).limit(limit).with_for_update(skip_locked=True)
    )).all())


async def purge(*, session: AsyncSession, ttl_hours: int) -> int:
    """Delete keys older than the retention period; returns how many."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < func.now() - func.make_interval(0, 0, 0, 0, ttl_hours))
    )
    return result.rowcount or 0

