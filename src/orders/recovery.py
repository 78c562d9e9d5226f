"""Saga recovery: no order stays PENDING or PAID for good, whatever the broker lost.

The outbox makes "state changed" and "event stored" one transaction, but a published
task can still vanish afterwards: a broker that crashed before its AOF reached the disk,
a task that exhausted its retries while the payment provider was down. The saga then
waits for an answer that will never come. This reconciler (beat, every few seconds) is
the timeout of every waiting step:

    PENDING --(no payment answer for SAGA_STEP_DEADLINE_SECONDS)--> re-drive: publish
             order.created again; payments answers from its charge row if it already
             charged (UNIQUE order_id: the charge stays at most once)
    PAID    --(not confirmed within the deadline)--> confirm now (a local step)
    PENDING --(still no answer after SAGA_MAX_RECOVERIES re-drives)--> FAILED with
             compensation (order.timed_out: stock released, refund if charged, notified)

The same round also ends abandoned claims: an Idempotency-Key still in flight long after
any request could hold it had its stock reservation in doubt (products timed out) and no
retry came back for it; its order_ref's stock is released (idempotent at products) and the
key deleted, so no unit stays reserved for an order that does not exist.

Orders are claimed with FOR UPDATE SKIP LOCKED, so a reconciler never waits on (or
fights) a payment result being applied to the same order, and two reconcilers never
re-drive one order twice in one round. The deadline counts from `updated_at`, the
time the order entered its state or was last re-driven.

It runs on each shard for the buckets that shard owns (orders.shards.owned_buckets, held FOR
SHARE for the round): a copy of a bucket on its way to another shard is nobody's to re-drive.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders import idempotency
from orders.clients import ProductsClient
from orders.events import OrderConfirmed, OrderPlaced, OrderTimedOut
from orders.metrics import (
    ORDER_STATUS,
    RESERVATIONS_RELEASED,
    SAGA_FAILED_BY_TIMEOUT,
    SAGA_RECOVERED,
    SAGA_STUCK,
)
from orders.models import Order, OrderStatus
from orders.shards import owned_buckets

WAITING = (OrderStatus.PENDING, OrderStatus.PAID)

log = structlog.get_logger("orders.recovery")


@dataclass
class Round:
    """What one reconciler run did, by order id."""

    redriven: list[int] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def wrote_events(self) -> bool:
        return bool(self.redriven or self.confirmed or self.failed)


async def reconcile(*, sessions: async_sessionmaker[AsyncSession], deadline_seconds: float, max_recoveries: int,
                    batch_size: int, shard: int = 0) -> Round:
    """Re-drive or time out every order that has waited past the deadline (up to `batch_size`)."""
    done = Round()
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=deadline_seconds)
    async with sessions.begin() as session:
        buckets = await owned_buckets(session)
        stuck = (await session.scalars(
            select(Order).where(Order.status.in_(WAITING), Order.updated_at < cutoff, Order.bucket.in_(buckets))
            .order_by(Order.updated_at).limit(batch_size).with_for_update(skip_locked=True)
        )).all()
        for order in stuck:
            if order.status == OrderStatus.PAID:
                _confirm(session, order)
                done.confirmed.append(order.id)
            elif order.recovery_attempts >= max_recoveries:
                _time_out(session, order)
                done.failed.append(order.id)
            else:
                _redrive(session, order)
                done.redriven.append(order.id)
    _count(done)
    await measure_stuck(sessions=sessions, deadline_seconds=deadline_seconds, shard=shard)
    if done.wrote_events:
        log.warning("saga recovery", redriven=done.redriven, confirmed=done.confirmed, failed=done.failed)
    return done


async def release_abandoned_claims(*, sessions: async_sessionmaker[AsyncSession], products: ProductsClient,
                                   older_than_seconds: int, batch_size: int) -> list[str]:
    """Release the stock of claims nobody came back for, then forget the claims; their order_refs."""
    released = []
    async with sessions.begin() as session:
        buckets = await owned_buckets(session)
        for claim in await idempotency.abandoned(session=session, older_than_seconds=older_than_seconds,
                                                 limit=batch_size, buckets=buckets):
            try:
                await products.release(order_ref=claim.order_ref)
            except Exception as error:  # products away: the key stays, the next round tries again
                log.warning("abandoned claim kept for the next round", order_ref=claim.order_ref, error=repr(error))
                continue
            await session.delete(claim)
            released.append(claim.order_ref)
    if released:
        RESERVATIONS_RELEASED.labels("orders").inc(len(released))
        log.warning("abandoned claims released", order_refs=released)
    return released


def _redrive(session: AsyncSession, order: Order) -> None:
    """Ask payments again; its answer is idempotent (the first charge row answers every repeat)."""
    order.recovery_attempts += 1
    order.updated_at = func.now()  # the next deadline counts from this re-drive
    OrderPlaced(order_id=order.id, user_id=order.user_id, total=str(order.total)).record(session)


def _confirm(session: AsyncSession, order: Order) -> None:
    """PAID waits only on this service: finish the step the dead task could not."""
    order.status = OrderStatus.CONFIRMED
    OrderConfirmed(order_id=order.id, user_id=order.user_id).record(session)


def _time_out(session: AsyncSession, order: Order) -> None:
    """Give up with compensation: stock back, refund if a charge got through after all, customer told."""
    reason = f"payment did not answer after {order.recovery_attempts} recoveries (saga timeout)"
    order.status = OrderStatus.FAILED
    order.failure_reason = reason
    OrderTimedOut(order_id=order.id, user_id=order.user_id, order_ref=order.order_ref, reason=reason).record(session)


def _count(done: Round) -> None:
    SAGA_RECOVERED.labels(OrderStatus.PENDING).inc(len(done.redriven))
    SAGA_RECOVERED.labels(OrderStatus.PAID).inc(len(done.confirmed))
    SAGA_FAILED_BY_TIMEOUT.labels("orders").inc(len(done.failed))
    if done.confirmed:
        ORDER_STATUS.labels(OrderStatus.CONFIRMED).inc(len(done.confirmed))
    if done.failed:
        ORDER_STATUS.labels(OrderStatus.FAILED).inc(len(done.failed))


async def measure_stuck(*, sessions: async_sessionmaker[AsyncSession], deadline_seconds: float, shard: int = 0) -> int:
    """Orders still waiting past the deadline after this round (alert SagaOrdersStuck), one series per shard."""
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=deadline_seconds)
    async with sessions() as session:
        buckets = await owned_buckets(session)
        waiting = await session.scalar(
            select(func.count()).select_from(Order).where(Order.status.in_(WAITING), Order.updated_at < cutoff,
                                                          Order.bucket.in_(buckets)))
    SAGA_STUCK.labels("orders" if shard == 0 else f"orders-shard-{shard}").set(waiting)
    return waiting
