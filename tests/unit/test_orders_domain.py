"""The orders domain without a server: idempotency (fingerprints, and `once` over a fake key), the
saga's transitions, and every event reaching its subscribers. Fakes, not mocks (cosmicpython)."""

import pytest

from orders import events, idempotency, outbox, saga
from orders.errors import InsufficientStock, OrderNotCancellable
from orders.models import OrderStatus
from orders.schemas import OrderCreate

PENDING, PAID, CONFIRMED = OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.CONFIRMED
FAILED, CANCELLED = OrderStatus.FAILED, OrderStatus.CANCELLED


def order(*items: tuple[int, int]) -> OrderCreate:
    return OrderCreate(items=[{"product_id": product, "quantity": quantity} for product, quantity in items])


# --- fingerprints: "same key, same body" replays; "same key, other body" is refused ---

def test_the_same_items_in_another_order_are_the_same_request():
    assert order((1, 2), (7, 1)).fingerprint() == order((7, 1), (1, 2)).fingerprint()


@pytest.mark.parametrize("other", [order((1, 3), (7, 1)), order((1, 2)), order((1, 2), (8, 1))])
def test_another_quantity_or_product_is_another_request(other):
    assert order((1, 2), (7, 1)).fingerprint() != other.fingerprint()


# --- idempotency.once over a fake key: which of complete / release / free-for-retry happens ---

class FakeKey:
    """An idempotency key in memory: one claim, then its state, like the idempotency_keys row."""

    def __init__(self, stored: tuple[int, dict] | None = None, unavailable: bool = False):
        self.state = "done" if stored else None
        self.stored, self.unavailable = stored, unavailable
        self.calls: list[str] = []

    async def claim(self, fingerprint: str) -> idempotency.Claim:
        self.calls.append("claim")
        if self.state == "done":
            return idempotency.Claim(response_code=self.stored[0], response_body=self.stored[1])
        self.state = "in_flight"
        return idempotency.Claim(order_ref="ref-1")

    async def complete(self, session, *, status_code: int, body: dict) -> None:
        self.calls.append("complete")
        self.state, self.stored = "done", (status_code, body)

    async def release(self) -> None:
        self.calls.append("release")
        if self.unavailable:
            raise ConnectionError("database down")
        self.state = None

    async def free_for_retry(self) -> None:
        self.calls.append("free_for_retry")
        if self.unavailable:
            raise ConnectionError("database down")
        self.state = "free_for_retry"


class Handler:
    """The domain steps: records the order_ref it ran with, completes the key, or fails as told."""

    def __init__(self, fails_with: Exception | None = None):
        self.runs: list[str] = []
        self.fails_with = fails_with

    async def __call__(self, run: idempotency.Run) -> tuple[int, dict]:
        self.runs.append(run.order_ref)
        if self.fails_with:
            raise self.fails_with
        await run.complete(None, status_code=201, body={"id": 1})
        return 201, {"id": 1}


async def test_a_new_key_runs_the_handler_once_and_stores_its_answer():
    key, handler = FakeKey(), Handler()
    outcome = await idempotency.once(handler, key=key, fingerprint="f")
    assert outcome == idempotency.Outcome(201, {"id": 1}, replayed=False)
    assert handler.runs == ["ref-1"] and key.state == "done" and key.calls == ["claim", "complete"]


async def test_a_done_key_replays_the_first_answer_without_running_the_handler():
    key, handler = FakeKey(stored=(201, {"id": 9})), Handler()
    outcome = await idempotency.once(handler, key=key, fingerprint="f")
    assert outcome == idempotency.Outcome(201, {"id": 9}, replayed=True)
    assert handler.runs == [] and key.calls == ["claim"]


async def test_a_refusal_releases_the_key_so_a_retry_starts_afresh():
    key = FakeKey()
    with pytest.raises(InsufficientStock):
        await idempotency.once(Handler(InsufficientStock(product_id=3)), key=key, fingerprint="f",
                               refusals=(InsufficientStock,))
    assert key.calls == ["claim", "release"] and key.state is None


async def test_an_outcome_in_doubt_keeps_the_key_for_a_retry_on_the_same_order_ref():
    key = FakeKey()
    with pytest.raises(TimeoutError):
        await idempotency.once(Handler(TimeoutError("products timed out")), key=key, fingerprint="f",
                               refusals=(InsufficientStock,))
    assert key.calls == ["claim", "free_for_retry"] and key.state == "free_for_retry"


async def test_the_domain_error_is_what_the_caller_sees_even_when_the_key_cannot_be_freed():
    for error, refusals in ((InsufficientStock(product_id=3), (InsufficientStock,)), (TimeoutError("x"), ())):
        with pytest.raises(type(error)):
            await idempotency.once(Handler(error), key=FakeKey(unavailable=True), fingerprint="f", refusals=refusals)


# --- the saga's transitions ---

@pytest.mark.parametrize("status, outcome, entered, announce", [
    (PENDING, "charged", PAID, None),
    (PENDING, "declined", FAILED, events.OrderFailed),
    (PAID, "charged", None, None),  # a redelivered answer changes nothing
    (CONFIRMED, "charged", None, None),
    (FAILED, "declined", None, None),
    (CANCELLED, "charged", None, events.RefundRequested),  # the charge landed after the cancel: refund it
    (FAILED, "charged", None, events.RefundRequested),  # ... or after saga recovery gave up
    (CANCELLED, "declined", None, None),
])
def test_payments_answer_moves_the_order_once(status, outcome, entered, announce):
    assert saga.on_payment(status, outcome) == saga.Step(entered=entered, announce=announce)


@pytest.mark.parametrize("status, refund", [(PENDING, False), (PAID, True), (CONFIRMED, True)])
def test_a_cancel_refunds_only_what_was_paid(status, refund):
    assert saga.on_cancel(status) is refund


@pytest.mark.parametrize("status", [FAILED, CANCELLED])
def test_a_finished_order_cannot_be_cancelled(status):
    with pytest.raises(OrderNotCancellable):
        saga.on_cancel(status)


# --- events: each one's payload reaches its subscribers ---

EXAMPLES = {
    events.OrderPlaced: {"total": "12.50"},
    events.OrderConfirmed: {},
    events.OrderFailed: {"order_ref": "ref-5", "reason": "card declined"},
    events.OrderCancelled: {"order_ref": "ref-5", "refund": True},
    events.OrderTimedOut: {"order_ref": "ref-5", "reason": "saga timeout"},
    events.RefundRequested: {"order_ref": "ref-5"},
}


@pytest.mark.parametrize("event", events.ALL, ids=lambda event: event.__name__)
def test_every_event_is_recorded_under_its_topic_and_has_subscribers(event):
    recorded = []

    class Session:  # the outbox only adds a row to the caller's session
        def add(self, row):
            recorded.append(row)

    event(order_id=5, user_id=9, **EXAMPLES[event]).record(Session())
    [row] = recorded
    assert row.topic == event.topic and row.payload["order_id"] == 5 and row.payload["user_id"] == 9
    tasks = outbox.subscribers(row.topic, row.payload)
    assert tasks and all(kwargs for _, kwargs in tasks)


def test_every_outbox_topic_has_a_named_event():
    assert {event.topic for event in events.ALL} == {
        "order.created", "order.confirmed", "order.failed", "order.cancelled", "order.timed_out",
        "payment.refund_requested"}
