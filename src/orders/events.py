"""What the orders service announces, named for what happened (STYLE: past tense, `OrderPlaced`).

Each event is recorded in the outbox inside the transaction of the change it announces
(`event.record(session)`, orders.outbox), and the relay turns it into its subscribers' tasks
(`outbox.subscribers`). Its `topic` is the string stored in the outbox table and matched by the
subscribers: it keeps the value it had before the events got names, so a row written by an older
version still relays (tests/unit/test_orders_domain.py checks that every event has subscribers).

    OrderPlaced      -> payments.charge                      (also a saga re-drive: ask payments again)
    OrderConfirmed   -> notifications.notify
    OrderFailed      -> orders.release_stock, notifications.notify
    OrderCancelled   -> orders.release_stock, notifications.notify (+ payments.refund if it was paid)
    OrderTimedOut    -> orders.release_stock, payments.refund, notifications.notify
    RefundRequested  -> payments.refund                      (a charge landed on a cancelled/failed order)
"""

from dataclasses import asdict, dataclass
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from orders import outbox


@dataclass(frozen=True)
class Event:
    topic: ClassVar[str]
    order_id: int
    user_id: int

    def __init_subclass__(cls, topic: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if topic:
            cls.topic = topic

    def record(self, session: AsyncSession) -> None:
        """Write it to the outbox in the caller's transaction (published after the commit)."""
        outbox.add(session, self.topic, asdict(self))


@dataclass(frozen=True)
class OrderPlaced(Event, topic="order.created"):
    total: str  # text: a Decimal survives JSON exactly


@dataclass(frozen=True)
class OrderConfirmed(Event, topic="order.confirmed"):
    pass


@dataclass(frozen=True)
class ReservationEvent(Event):
    """After these, the order's stock reservation (its order_ref at products) is given back or its charge refunded."""

    order_ref: str


@dataclass(frozen=True)
class OrderFailed(ReservationEvent, topic="order.failed"):
    reason: str


@dataclass(frozen=True)
class OrderTimedOut(OrderFailed, topic="order.timed_out"):
    """Failed by saga recovery (payments never answered): a charge may still have landed, so it is refunded too."""


@dataclass(frozen=True)
class OrderCancelled(ReservationEvent, topic="order.cancelled"):
    refund: bool


@dataclass(frozen=True)
class RefundRequested(ReservationEvent, topic="payment.refund_requested"):
    """A charge landed on an order already cancelled or failed."""


ALL = (OrderPlaced, OrderConfirmed, OrderFailed, OrderCancelled, OrderTimedOut, RefundRequested)
