"""The life of an order: the orders side of the checkout saga (seed: microservices, async messaging).
Its rules (which status on which answer, what is announced) are orders.saga; here they are applied.

Each step changes this service's database only; what other services must do next
leaves through the outbox in the same transaction (orders.outbox), so a crash
between "state changed" and "others told" cannot happen. Payments answers with the
task `orders.payment_result`, handled here by `record_payment`.

A user's orders live on one shard (orders.shards): every function here takes `sessions`, the
user's fenced transactions on whichever shard owns them now (`Shards.for_user`), so none of it
knows where that is. The admin listing (`recent_across_shards`) is the one scatter-gather.
"""

import asyncio
import time
from contextlib import suppress

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.event_stream import emit_direct, make_event
from chassis.settings import get_settings
from orders import idempotency, outbox, saga
from orders.clients import ProductsClient, Reservation
from orders.errors import InsufficientStock, OrderNotFound, UnknownProduct
from orders.events import OrderCancelled, OrderConfirmed, OrderFailed, OrderPlaced, RefundRequested
from orders.metrics import ORDER_STATUS, ORDERS_BY_SHARD, ORDERS_PLACED, SCATTER_GATHER_SECONDS
from orders.models import Order, OrderItem, OrderStatus
from orders.outbox import Publish
from orders.schemas import OrderCreate, OrderRead
from orders.settings import OrdersSettings
from orders.shards import Shards, UserSessions, owned_buckets

log = structlog.get_logger("orders")


async def place(*, sessions: UserSessions, products: ProductsClient, publish: Publish, settings: OrdersSettings,
                user_id: int, key: str, order: OrderCreate) -> idempotency.Outcome:
    """Place an order once per Idempotency-Key (orders.idempotency.once): reserve the stock, then write
    the order; a retry of the key gets the first answer back."""

    async def reserve_and_write(run: idempotency.Run) -> tuple[int, dict]:
        reservation = await products.reserve(order_ref=run.order_ref, items=[item.model_dump() for item in order.items])
        return 201, await _write(sessions=sessions, user_id=user_id, run=run, reservation=reservation)

    stored_key = idempotency.StoredKey(sessions, user_id, key, settings.idempotency_lock_seconds)
    outcome = await idempotency.once(reserve_and_write, key=stored_key, fingerprint=order.fingerprint(),
                                     refusals=(InsufficientStock, UnknownProduct))
    if not outcome.replayed:
        await _trigger_relay(publish)
    return outcome


async def _write(*, sessions: UserSessions, user_id: int, run: idempotency.Run, reservation: Reservation) -> dict:
    """ONE transaction: the order, its items, OrderPlaced and the key's stored response."""
    async with sessions.begin() as session:
        order = Order(user_id=user_id, order_ref=reservation.order_ref, status=OrderStatus.PENDING,
                      total=reservation.total,
                      items=[OrderItem(product_id=item.product_id, name=item.name, unit_price=item.unit_price,
                                       quantity=item.quantity) for item in reservation.items])
        session.add(order)
        await session.flush()
        body = OrderRead.model_validate(order).model_dump(mode="json")
        OrderPlaced(order_id=order.id, user_id=user_id, total=str(order.total)).record(session)
        await run.complete(session, status_code=201, body=body)
        shard = session.info["shard"]
    ORDERS_PLACED.labels("orders").inc()
    ORDERS_BY_SHARD.labels(str(shard)).inc()
    ORDER_STATUS.labels(OrderStatus.PENDING).inc()
    log.info("order placed", order_id=body["id"], total=body["total"], shard=shard)
    return body


async def _trigger_relay(publish: Publish) -> None:
    """Publish the new outbox row now (off the event loop; a broker that hangs costs at most 0.5 s)."""
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.to_thread(outbox.trigger_relay, publish), timeout=0.5)


async def get_all(*, session: AsyncSession, user_id: int, limit: int, offset: int) -> list[Order]:
    """The caller's orders, newest first."""
    return list(await session.scalars(
        select(Order).where(Order.user_id == user_id).order_by(Order.id.desc()).limit(limit).offset(offset)
    ))


async def get(*, session: AsyncSession, user_id: int, order_id: int, for_update: bool = False) -> Order:
    """One of the caller's orders; 404 for a missing order and for someone else's (no existence leak)."""
    query = select(Order).where(Order.id == order_id, Order.user_id == user_id)
    order = await session.scalar(query.with_for_update() if for_update else query)
    if order is None:
        raise OrderNotFound()
    return order


async def cancel(*, sessions: UserSessions, publish: Publish, user_id: int, order_id: int) -> dict:
    """Cancel while PENDING, PAID or CONFIRMED: stock goes back, a paid order is refunded."""
    async with sessions.begin() as session:
        order = await get(session=session, user_id=user_id, order_id=order_id, for_update=True)
        refund = saga.on_cancel(order.status)
        order.status = OrderStatus.CANCELLED
        OrderCancelled(order_id=order.id, user_id=user_id, order_ref=order.order_ref, refund=refund).record(session)
        await session.flush()
        body = OrderRead.model_validate(order).model_dump(mode="json")
    ORDER_STATUS.labels(OrderStatus.CANCELLED).inc()
    log.info("order cancelled", order_id=order_id, refund=refund)
    await _trigger_relay(publish)
    return body


async def record_payment(*, sessions: UserSessions, order_id: int, outcome: str, reason: str | None = None) -> bool:
    """Apply payments' answer (idempotent: a redelivered result changes nothing). True if events were written."""
    async with sessions.begin() as session:
        order = await session.get(Order, order_id, with_for_update=True)
        if order is None:
            raise LookupError(f"order {order_id} does not exist")
        step = saga.on_payment(order.status, outcome)
        if step.entered:
            order.status = step.entered
        if step.announce is OrderFailed:
            order.failure_reason = reason or "payment declined"
            OrderFailed(order_id=order.id, user_id=order.user_id, order_ref=order.order_ref,
                        reason=order.failure_reason).record(session)
        elif step.announce is RefundRequested:
            RefundRequested(order_id=order.id, user_id=order.user_id, order_ref=order.order_ref).record(session)
    if step.entered:
        ORDER_STATUS.labels(step.entered).inc()
    log.info("payment result applied", order_id=order_id, outcome=outcome, status=order.status)
    return await confirm(sessions=sessions, order_id=order_id) or step.announce is not None


async def confirm(*, sessions: UserSessions, order_id: int) -> bool:
    """PAID -> CONFIRMED, announcing it (the confirmation notification). True if it happened now."""
    async with sessions.begin() as session:
        order = await session.get(Order, order_id, with_for_update=True)
        if order is None or order.status != OrderStatus.PAID:
            return False
        order.status = OrderStatus.CONFIRMED
        OrderConfirmed(order_id=order.id, user_id=order.user_id).record(session)
    ORDER_STATUS.labels(OrderStatus.CONFIRMED).inc()
    # The analytics stream learns it too (after commit; a drop is counted, never an error here).
    emit_direct(get_settings(), make_event("order_confirmed", session="", user=order.user_id, order=order_id,
                                           event_id=f"order_confirmed:{order_id}"))
    return True


async def recent_across_shards(*, shards: Shards, limit: int) -> dict:
    """Admin: the newest orders of the whole shop. The one scatter-gather: every shard is asked for its
    newest `limit` (of the buckets it owns: a copy mid-move is not counted twice), in parallel, and the
    answers are merged. Its cost grows with the number of shards and is returned with the answer."""

    async def newest(index: int) -> tuple[list[Order], float]:
        started = time.perf_counter()
        async with shards.databases[index].sessions.begin() as session:
            buckets = await owned_buckets(session)
            found = list(await session.scalars(select(Order).where(Order.bucket.in_(buckets))
                                               .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)))
        return found, time.perf_counter() - started

    started = time.perf_counter()
    answers = await asyncio.gather(*(newest(index) for index in range(len(shards.databases))))
    merged = sorted((order for found, _ in answers for order in found),
                    key=lambda order: (order.created_at, order.id), reverse=True)[:limit]
    elapsed = time.perf_counter() - started
    SCATTER_GATHER_SECONDS.labels("orders").observe(elapsed)
    return {"items": [OrderRead.model_validate(order).model_dump(mode="json") for order in merged],
            "shards_queried": len(answers), "rows_read": sum(len(found) for found, _ in answers),
            "shard_ms": [round(1000 * seconds, 2) for _, seconds in answers], "total_ms": round(1000 * elapsed, 2)}
