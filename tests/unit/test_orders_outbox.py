"""The orders side of the saga without a broker: who each outbox event becomes (the subscribers), the
relay trigger over an injected publisher, and the web side importing no Celery app (issue 10)."""

import os
import subprocess
import sys

import pytest

from orders import outbox

ORDER = {"order_id": 5, "user_id": 9, "order_ref": "ref-5", "total": "12.50"}


class Published:
    """A fake outbox.Publish: records what it was asked to send, or fails like a broker that is down."""

    def __init__(self, fail: bool = False):
        self.sent, self.fail = [], fail

    def __call__(self, task: str, kwargs: dict, *, retry: bool = True) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((task, kwargs, retry))


@pytest.mark.parametrize("topic, tasks", [
    ("order.created", ["payments.charge"]),
    ("order.confirmed", ["notifications.notify"]),
    ("order.failed", ["orders.release_stock", "notifications.notify"]),
    ("order.timed_out", ["orders.release_stock", "payments.refund", "notifications.notify"]),
    ("payment.refund_requested", ["payments.refund"]),
])
def test_each_event_becomes_its_subscribers_tasks(topic, tasks):
    assert [task for task, _ in outbox.subscribers(topic, ORDER)] == tasks


def test_a_cancelled_order_is_refunded_only_when_it_was_paid():
    paid = [task for task, _ in outbox.subscribers("order.cancelled", {**ORDER, "refund": True})]
    unpaid = [task for task, _ in outbox.subscribers("order.cancelled", {**ORDER, "refund": False})]
    assert paid == ["orders.release_stock", "notifications.notify", "payments.refund"]
    assert unpaid == ["orders.release_stock", "notifications.notify"]


def test_a_charge_carries_the_amount_and_ids_only():
    assert outbox.subscribers("order.created", ORDER) == [
        ("payments.charge", {"order_id": 5, "user_id": 9, "amount": "12.50"})]


def test_an_unknown_topic_is_an_error_not_a_silent_drop():
    with pytest.raises(ValueError, match="no subscribers"):
        outbox.subscribers("order.teleported", ORDER)


def test_the_relay_trigger_sends_once_without_retries_and_never_raises():
    published = Published()
    outbox.trigger_relay(published)
    assert published.sent == [(outbox.RELAY_TASK, {}, False)]
    outbox.trigger_relay(Published(fail=True))  # beat publishes within a second: a lost trigger costs latency


def test_neither_the_web_side_nor_the_task_modules_import_the_celery_app_the_worker_registers_them():
    # One fresh interpreter (imports cost 2.5 s): the web side first, then the task modules on top;
    # after each step, has anything pulled in the worker's Celery app?
    probe = ("import sys\n"
             "import orders.main, orders.router, orders.service, orders.outbox\n"
             "print('worker.celery_app' in sys.modules)\n"
             "import orders.tasks, orders.recovery_tasks, payments.tasks, notifications.tasks\n"
             "print('worker.celery_app' in sys.modules)")
    # The broker's URL as the worker's environment names it (orders.tasks keeps its relay marker there).
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                              env={**os.environ, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"})
    web_side, with_tasks = imported.stdout.split()
    assert web_side == "False", "orders' web side imports the Celery app"
    assert with_tasks == "False", "a task module imports the Celery app"
