"""Stock reservations for orders: atomic, all-or-nothing, no oversell, idempotent per order_ref.

How "no oversell" holds under concurrent orders: each item is one conditional UPDATE,
`SET stock = stock - q WHERE id = :id AND stock >= q`, which Postgres evaluates on the
row's latest committed version while holding the row lock; two orders can never both
take the last unit. All items of one order run in one transaction, so a missing unit
anywhere rolls back the whole reservation. Items are taken in product_id order, so two
orders that share products lock them in the same order and cannot deadlock.

Idempotency: a reservation is stored per (order_ref, product_id) under a unique
constraint. Repeating an order_ref returns what was reserved the first time; two
concurrent first attempts race on the constraint, the loser rolls back (its stock
decrements with it) and returns the winner's reservation.
"""

from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from products.errors import InsufficientStock, ProductNotFound
from products.models import Product, Reservation
from products.schemas import ReservationItemIn, ReservationItemRead, ReservationRead


def lines(items: list[ReservationItemIn]) -> list[tuple[int, int]]:
    """(product_id, quantity) in the order the rows are locked: by product_id, so two orders that share
    products cannot deadlock; the same product twice in one order is one line with the summed quantity."""
    wanted = Counter()
    for item in items:
        wanted[item.product_id] += item.quantity
    return sorted(wanted.items())


async def reserve(*, session: AsyncSession, order_ref: str,
                  items: list[ReservationItemIn]) -> tuple[ReservationRead, bool]:
    """Reserve every item or none; returns the reservation and whether this call created it.

    Raises InsufficientStock or ProductNotFound (naming `product_id`) when nothing was reserved."""
    existing = await find(session=session, order_ref=order_ref)
    if existing is not None:
        return existing, False
    try:
        for product_id, quantity in lines(items):
            taken = await session.execute(
                update(Product)
                .where(Product.id == product_id, Product.stock >= quantity)
                .values(stock=Product.stock - quantity, updated_at=func.now())
                .returning(Product.price)
            )
            price = taken.scalar_one_or_none()
            if price is None:
                exists = await session.scalar(select(Product.id).where(Product.id == product_id))
                raise (InsufficientStock if exists else ProductNotFound)(product_id=product_id)
            session.add(Reservation(order_ref=order_ref, product_id=product_id, quantity=quantity,
                                    unit_price=price))
        await session.commit()
    except IntegrityError:
        # A concurrent call with the same order_ref committed first: ours rolls back entirely.
        await session.rollback()
        existing = await find(session=session, order_ref=order_ref)
        if existing is None:
            raise
        return existing, False
    except (InsufficientStock, ProductNotFound):
        await session.rollback()
        # A concurrent first call with this order_ref may have taken the stock we were after.
        existing = await find(session=session, order_ref=order_ref)
        if existing is None:
            raise
        return existing, False
    return await find(session=session, order_ref=order_ref), True


async def find(*, session: AsyncSession, order_ref: str) -> ReservationRead | None:
    """The reservation of `order_ref`, or None."""
    rows = (await session.execute(
        select(Reservation, Product.name)
        .join(Product, Product.id == Reservation.product_id)
        .where(Reservation.order_ref == order_ref)
        .order_by(Reservation.product_id)
    )).all()
    if not rows:
        return None
    items = [ReservationItemRead(product_id=r.product_id, name=name, unit_price=r.unit_price, quantity=r.quantity)
             for r, name in rows]
    return ReservationRead(
        order_ref=order_ref,
        items=items,
        total=sum((item.unit_price * item.quantity for item in items), Decimal("0")),
        released=any(r.released_at is not None for r, _ in rows),
    )


async def release(*, session: AsyncSession, order_ref: str) -> list[int]:
    """Give back the stock of `order_ref` once; returns the products restocked ([] if nothing was held)."""
    # Marking the rows released and reading their quantities is one statement: a concurrent
    # second release waits on the row locks, then finds nothing left to release.
    released = (await session.execute(
        update(Reservation)
        .where(Reservation.order_ref == order_ref, Reservation.released_at.is_(None))
        .values(released_at=func.now())
        .returning(Reservation.product_id, Reservation.quantity)
    )).all()
    for product_id, quantity in sorted(released):
        await session.execute(
            update(Product).where(Product.id == product_id)
            .values(stock=Product.stock + quantity, updated_at=func.now())
        )
    await session.commit()
    return [product_id for product_id, _ in released]
