"""Charges and refunds, each at most once per order (seed: async work; idempotent consumers).

A charge task may be delivered twice (acks_late redelivery, a retried relay). Two guards:
1. look first: an order that already has a charge row is answered from that row;
2. `INSERT ... ON CONFLICT (order_id) DO NOTHING`: if two deliveries raced past the
   look, the UNIQUE order_id lets exactly one row in, and the loser reads the winner's.
Only the winner counts the payment in the metrics, so payments_total stays honest.
"""

from decimal import Decimal

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.db import Database
from payments import provider
from payments.metrics import PAYMENTS, REVENUE
from payments.models import Charge, ChargeStatus
from payments.settings import PaymentsSettings

CURRENCY = "USD"

log = structlog.get_logger("payments")


async def charge(*, db: Database, settings: PaymentsSettings, order_id: int, user_id: int, amount: Decimal) -> Charge:
    """Charge an order once; every later call returns the first charge."""
    async with db.sessions() as session:
        existing = await session.scalar(select(Charge).where(Charge.order_id == order_id))
    if existing is not None:
        log.info("charge already recorded", order_id=order_id, status=existing.status)
        return existing
    answer = await provider.authorize(amount=amount, idempotency_key=f"order-{order_id}", settings=settings)
    status = ChargeStatus.CHARGED if answer.approved else ChargeStatus.DECLINED
    async with db.sessions.begin() as session:
        inserted = await session.scalar(
            insert(Charge)
            .values(order_id=order_id, user_id=user_id, amount=amount, status=status,
                    provider_ref=answer.provider_ref, decline_reason=answer.reason)
            .on_conflict_do_nothing(index_elements=["order_id"])
            .returning(Charge.id)
        )
        recorded = await session.scalar(select(Charge).where(Charge.order_id == order_id))
    if inserted is not None:
        PAYMENTS.labels(status).inc()
        if status == ChargeStatus.CHARGED:
            REVENUE.labels(CURRENCY).inc(float(amount))
    log.info("charge recorded", order_id=order_id, status=recorded.status, amount=str(amount),
             duplicate=inserted is None)
    return recorded


async def refund(*, db: Database, order_id: int) -> bool:
    """Refund a charged order; True if refunded now, False if there was nothing (left) to refund."""
    async with db.sessions.begin() as session:
        amount = await session.scalar(
            update(Charge)
            .where(Charge.order_id == order_id, Charge.status == ChargeStatus.CHARGED)
            .values(status=ChargeStatus.REFUNDED, refunded_at=func.now())
            .returning(Charge.amount)
        )
    if amount is not None:
        PAYMENTS.labels(ChargeStatus.REFUNDED).inc()
    log.info("refund", order_id=order_id, refunded=amount is not None)
    return amount is not None


async def get_all(*, session: AsyncSession, user_id: int, limit: int, offset: int) -> list[Charge]:
    """The caller's charges, newest first."""
    return list(await session.scalars(
        select(Charge).where(Charge.user_id == user_id).order_by(Charge.id.desc()).limit(limit).offset(offset)
    ))


async def get_for_order(*, session: AsyncSession, user_id: int, order_id: int) -> Charge | None:
    """The caller's charge for one order, if any."""
    return await session.scalar(select(Charge).where(Charge.order_id == order_id, Charge.user_id == user_id))
