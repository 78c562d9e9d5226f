"""What the payments service announces, named for what happened (STYLE: past tense).

Payments writes only its own database: the outcome of a charge reaches orders as the task
`orders.payment_result` (orders.tasks), sent after the charge is committed and again if the
charge task is redelivered; orders' handler is idempotent, so at least once is enough.
"""

from dataclasses import asdict, dataclass
from typing import ClassVar, Literal


@dataclass(frozen=True)
class PaymentSettled:
    """A charge was made or declined (never both, and the same answer on every repeat)."""

    task: ClassVar[str] = "orders.payment_result"
    order_id: int
    outcome: Literal["charged", "declined"]
    reason: str | None = None  # why it was declined

    def as_task(self) -> tuple[str, dict]:
        """(task name, kwargs): ids and plain values, never objects."""
        return self.task, asdict(self)
