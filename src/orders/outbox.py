"""Transactional outbox: an event is written in the same transaction as the change it announces.

Publishing to the broker inside a database transaction cannot be atomic (the broker
may take the message and the commit fail, or the reverse). So the order service
writes `outbox` rows with its state changes, and a relay publishes them afterwards:

    web request / task:  BEGIN; UPDATE orders ...; INSERT INTO outbox ...; COMMIT; trigger relay
    relay (Celery task): SELECT unpublished rows FOR UPDATE SKIP LOCKED
                         -> send one Celery task per subscriber -> mark published_at

The relay runs right after each commit (low latency) and every second from beat (the
safety net when a trigger was lost). Triggers are coalesced (`coalescing`): while one relay
run is queued and has not started, another commit adds nothing to the queue, because that
queued run will see its row. Without it, at 8 orders/s three commits per order queued 24
relay runs a second, each scanning every shard, and the orders queue backed up behind them. SKIP LOCKED lets relays run concurrently without
publishing a row twice at the same moment; a crash between publishing and marking
publishes it again, so delivery is at least once and every subscriber is idempotent.

Publishing is injected (a `Publish` callable): this module, like orders.service, never imports
the Celery app; orders.main hands the web process one, orders.tasks the worker's.

Each row keeps the request id of the request that caused it: the published tasks log
it, so one id follows an order from nginx to its notification (issue 5).
"""

from datetime import datetime, timezone
from typing import Protocol

import redis
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISHED, OUTBOX_TRIGGERS_COALESCED
from orders.models import OutboxEvent

RELAY_TASK = "orders.relay_outbox"


class Publish(Protocol):
    """Send one Celery task by name (ids in, never objects); `retry=False`: fail at once, never wait."""

    def __call__(self, task: str, kwargs: dict, *, retry: bool = True) -> None: ...


log = structlog.get_logger("outbox")


def add(session: AsyncSession, topic: str, payload: dict) -> None:
    """Record an event in the caller's transaction, stamped with the current request id."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    session.add(OutboxEvent(topic=topic, payload={**payload, "request_id": request_id}))


def trigger_relay(publish: Publish) -> None:
    """Ask a worker to run the relay now (call after commit). Beat runs it every second anyway,
    so a broker hiccup here costs latency, never an event: no retries, never raises."""
    try:
        publish(RELAY_TASK, {}, retry=False)
    except Exception as error:
        log.warning("outbox relay trigger failed; beat will publish", error=repr(error))


class QueuedRelayMarker:
    """"A relay run is queued and has not started yet": one Redis key in the broker's Redis.

    A commit claims the marker (SET NX) before it queues a relay run; if the marker is already
    there, a queued run exists and its SELECT comes after this commit, so queueing another run
    would only repeat it. Every relay run clears the marker BEFORE its SELECT: a commit after the
    clear queues a new run, one before it is seen by this run. The key expires after
    `ttl_seconds`, so a run the broker lost blocks triggers for at most that long, during which
    beat's run (every second, which clears it too) publishes anyway. Redis errors fail open: a
    trigger is sent."""

    KEY = "orders:outbox:relay-queued"

    def __init__(self, url: str, *, ttl_seconds: int = 5) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._ttl_seconds = ttl_seconds

    def claim(self) -> bool:
        """True if the caller must queue a relay run (none is queued, or Redis cannot say)."""
        try:
            return bool(self._redis.set(self.KEY, 1, nx=True, ex=self._ttl_seconds))
        except redis.RedisError:
            return True

    def clear(self) -> None:
        try:
            self._redis.delete(self.KEY)
        except redis.RedisError:
            pass  # the key expires by itself; beat keeps relaying meanwhile


def coalescing(publish: Publish, marker: QueuedRelayMarker) -> Publish:
    """The same Publish, except that a relay trigger is dropped while a relay run is already queued."""

    def publish_coalesced(task: str, kwargs: dict, *, retry: bool = True) -> None:
        if task == RELAY_TASK and not marker.claim():
            OUTBOX_TRIGGERS_COALESCED.labels("orders").inc()
            return
        publish(task, kwargs, retry=retry)

    return publish_coalesced


def subscribers(topic: str, payload: dict) -> list[tuple[str, dict]]:
    """Who reacts to an event: the Celery tasks it becomes (ids in, never objects)."""
    order = {"order_id": payload["order_id"], "user_id": payload["user_id"]}
    match topic:
        case "order.created":
            return [("payments.charge", {**order, "amount": payload["total"]})]
        case "order.confirmed":
            return [("notifications.notify", {**order, "kind": "order_confirmed"})]
        case "order.failed":
            return [("orders.release_stock", {"order_ref": payload["order_ref"]}),
                    ("notifications.notify", {**order, "kind": "order_failed", "reason": payload.get("reason")})]
        case "order.cancelled":
            tasks = [("orders.release_stock", {"order_ref": payload["order_ref"]}),
                     ("notifications.notify", {**order, "kind": "order_cancelled",
                                               "reason": "refunded" if payload.get("refund") else None})]
            if payload.get("refund"):
                tasks.append(("payments.refund", {"order_id": payload["order_id"]}))
            return tasks
        case "order.timed_out":  # saga recovery gave up (orders.recovery): compensate everything
            return [("orders.release_stock", {"order_ref": payload["order_ref"]}),
                    ("payments.refund", {"order_id": payload["order_id"]}),
                    ("notifications.notify", {**order, "kind": "order_failed", "reason": payload.get("reason")})]
        case "payment.refund_requested":
            return [("payments.refund", {"order_id": payload["order_id"]})]
    raise ValueError(f"outbox: no subscribers for topic {topic!r}")


async def relay(*, sessions: async_sessionmaker[AsyncSession], publish: Publish, batch_size: int,
                shard: int = 0) -> int:
    """Publish up to `batch_size` unpublished rows of one shard's outbox, oldest first; returns how many."""
    published, failure = 0, None
    async with sessions.begin() as session:
        rows = (await session.scalars(
            select(OutboxEvent).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id)
            .limit(batch_size).with_for_update(skip_locked=True)
        )).all()
        for row in rows:
            row.attempts += 1
            try:
                for task, kwargs in subscribers(row.topic, row.payload):
                    # Bound so that worker.context copies the original request id into the task's headers.
                    with structlog.contextvars.bound_contextvars(request_id=row.payload.get("request_id")):
                        publish(task, kwargs)
            except Exception as error:  # the broker is down: keep what was published, retry the rest later
                failure = error
                break
            row.published_at = datetime.now(timezone.utc)
            OUTBOX_PUBLISHED.labels(row.topic).inc()
            published += 1
    await measure_backlog(sessions=sessions, shard=shard)
    if failure is not None:
        raise failure
    return published


async def measure_backlog(*, sessions: async_sessionmaker[AsyncSession], shard: int = 0) -> None:
    """Set the backlog gauges (rows waiting, age of the oldest) that the OutboxStuck alert watches;
    one series per shard ("orders" is shard 0, "orders-shard-N" the others: sum() is the service)."""
    async with sessions() as session:
        waiting, oldest = (await session.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(OutboxEvent.published_at.is_(None))
        )).one()
    label = "orders" if shard == 0 else f"orders-shard-{shard}"
    OUTBOX_BACKLOG.labels(label).set(waiting)
    age = (datetime.now(timezone.utc) - oldest).total_seconds() if oldest else 0.0
    OUTBOX_OLDEST_AGE.labels(label).set(max(age, 0.0))
