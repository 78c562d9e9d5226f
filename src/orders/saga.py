"""The orders side of the checkout saga as rules without I/O: which status an order enters on each
answer, and what it announces (orders.service applies them inside its transactions).

    PENDING --charged--> PAID --> CONFIRMED          (OrderConfirmed)
    PENDING --declined--> FAILED                     (OrderFailed: stock released, customer told)
    PENDING | PAID | CONFIRMED --cancel--> CANCELLED (OrderCancelled: stock released, refund if paid)
    CANCELLED | FAILED --charged--> (stays)          (RefundRequested: the charge landed too late)

Every answer may arrive more than once (delivery is at least once): a repeat finds the order
already moved on and changes nothing.
"""

from dataclasses import dataclass

from orders.errors import OrderNotCancellable
from orders.events import Event, OrderFailed, RefundRequested
from orders.models import OrderStatus

CANCELLABLE = frozenset({OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.CONFIRMED})
PAID_FOR = frozenset({OrderStatus.PAID, OrderStatus.CONFIRMED})


@dataclass(frozen=True)
class Step:
    entered: OrderStatus | None = None  # None: the order keeps its status
    announce: type[Event] | None = None


def on_payment(status: OrderStatus, outcome: str) -> Step:
    """Payments' answer (charged | declined) to an order in `status`."""
    if status == OrderStatus.PENDING:
        if outcome == "charged":
            return Step(entered=OrderStatus.PAID)
        if outcome == "declined":
            return Step(entered=OrderStatus.FAILED, announce=OrderFailed)
    if status in (OrderStatus.CANCELLED, OrderStatus.FAILED) and outcome == "charged":
        # Cancelled, or timed out by saga recovery, while the charge was in flight: the money goes back.
        return Step(announce=RefundRequested)
    return Step()


def on_cancel(status: OrderStatus) -> bool:
    """The customer cancels: allowed while PENDING, PAID or CONFIRMED; True if a refund is due."""
    if status not in CANCELLABLE:
        raise OrderNotCancellable(f"a {status} order cannot be cancelled")
    return status in PAID_FOR
