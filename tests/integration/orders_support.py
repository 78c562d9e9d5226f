"""The orders service on throwaway Postgres databases, set up the way the stack sets it up: every
shard migrated by its Alembic migrations (chassis.migrate: the `orders-migrate` one-shots), then
`orders.resharding init` (the `orders-shards` one-shot: directory, fences, id sequences).

Products is the one part faked here (`Stockroom`): these tests are about what orders keeps in its
own database, and a reservation's answer is all orders sees of products."""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from alembic import command
from sqlalchemy import select

from chassis.db import Database, create_engine
from chassis.migrate import alembic_config
from orders import resharding, service
from orders.clients import Reservation, ReservedItem
from orders.errors import InsufficientStock
from orders.models import IdempotencyKey, Order, OrderItem
from orders.schemas import OrderCreate
from orders.settings import OrdersSettings
from orders.shard_keys import BUCKETS, bucket_of
from orders.shards import Shards
from postgres_server import create_database

PRICE = Decimal("2.50")


def migrated_database(postgres_url: str) -> str:
    """A new database at the orders schema's head; its URL. Synchronous: Alembic runs its own loop."""
    url = create_database(postgres_url, f"orders_{uuid.uuid4().hex[:8]}")
    command.upgrade(alembic_config("orders", url), "head")
    return url


async def open_shards(postgres_url: str, count: int, *, initial: int) -> tuple[Shards, OrdersSettings]:
    """`count` migrated shard databases, the first `initial` holding every bucket (round robin)."""
    urls = [await asyncio.to_thread(migrated_database, postgres_url) for _ in range(count)]
    settings = OrdersSettings(database_url=urls[0], orders_shard_urls=",".join(urls), idempotency_lock_seconds=30)
    shards = Shards([database(url, settings) for url in urls])
    await resharding.init(shards.databases, initial)
    return shards, settings


def database(url: str, settings: OrdersSettings) -> Database:
    """A pooled engine like a web replica's (no fault flags: they would read the stack's flag store)."""
    return Database(create_engine(url, settings, fault_flags=False))


def users_in_bucket(bucket: int, count: int, start: int = 1) -> list[int]:
    """The first `count` user ids from `start` on whose orders live in `bucket`."""
    users, user = [], start
    while len(users) < count:
        if bucket_of(user) == bucket:
            users.append(user)
        user += 1
    return users


def another_bucket(bucket: int) -> int:
    return (bucket + BUCKETS // 2) % BUCKETS


def basket(*items: tuple[int, int]) -> OrderCreate:
    return OrderCreate(items=[{"product_id": product, "quantity": quantity} for product, quantity in items])


class Stockroom:
    """Products' reservations in memory, with products' contract: idempotent per order_ref (asking
    again with the same order_ref returns the same reservation, never a second one), all items or
    none (InsufficientStock). `gate` holds reservations until set; `in_doubt` makes the next one
    reserve and then time out, as a products that committed after orders gave up."""

    def __init__(self, stock: int = 1000):
        self.stock = stock
        self.reservations: dict[str, Reservation] = {}
        self.asked: list[str] = []  # order_refs, in the order they were asked for
        self.released: list[str] = []
        self.gate: asyncio.Event | None = None
        self.in_doubt = False

    async def reserve(self, *, order_ref: str, items: list[dict]) -> Reservation:
        self.asked.append(order_ref)
        if self.gate is not None:
            await self.gate.wait()
        if order_ref not in self.reservations:
            units = sum(item["quantity"] for item in items)
            if units > self.stock:
                raise InsufficientStock()
            self.stock -= units
            reserved = [ReservedItem(product_id=item["product_id"], name=f"product {item['product_id']}",
                                     unit_price=PRICE, quantity=item["quantity"]) for item in items]
            self.reservations[order_ref] = Reservation(order_ref=order_ref, items=reserved,
                                                       total=sum(PRICE * item.quantity for item in reserved))
        if self.in_doubt:
            self.in_doubt = False
            raise TimeoutError("products did not answer in time")
        return self.reservations[order_ref]

    async def release(self, *, order_ref: str) -> bool:
        self.released.append(order_ref)
        reservation = self.reservations.pop(order_ref, None)
        if reservation is not None:
            self.stock += sum(item.quantity for item in reservation.items)
        return reservation is not None


class Published:
    """outbox.Publish that records what it sent; `fail_at`: the nth call raises, like a broker going away."""

    def __init__(self, fail_at: int | None = None):
        self.sent: list[tuple[str, dict]] = []
        self.calls, self.fail_at = 0, fail_at

    def __call__(self, task: str, kwargs: dict, *, retry: bool = True) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("broker down")
        self.sent.append((task, kwargs))


async def place(shards: Shards, settings: OrdersSettings, stockroom: Stockroom, user_id: int, key: str,
                order: OrderCreate, publish: Published | None = None):
    """POST /orders as the router does it: orders.service.place on the user's fenced sessions."""
    return await service.place(sessions=shards.for_user(user_id), products=stockroom, publish=publish or Published(),
                               settings=settings, user_id=user_id, key=key, order=order)


async def bucket_rows(database: Database, bucket: int) -> dict[str, list[tuple]]:
    """Every stored column of the bucket's orders, items and idempotency keys on one shard, sorted."""
    rows = {}
    async with database.sessions() as session:
        for model in (Order, OrderItem, IdempotencyKey):
            columns = [column for column in model.__table__.columns if column.computed is None]
            query = select(*columns)
            if model is OrderItem:
                query = query.join(Order, Order.id == OrderItem.order_id).where(Order.bucket == bucket)
            else:
                query = query.where(model.bucket == bucket)
            rows[model.__tablename__] = sorted((tuple(json.dumps(value, sort_keys=True) if isinstance(value, dict)
                                                      else value for value in row)
                                                for row in await session.execute(query)), key=repr)
    return rows


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for `condition` to hold (a few milliseconds here), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)
