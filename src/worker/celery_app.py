"""The Celery application: Redis broker, at-least-once delivery settings, queues, beat schedule.

acks_late + reject_on_worker_lost: a task is acknowledged only after it ran, so a
worker killed mid-task leaves it on the queue for another worker (tasks must be
idempotent). prefetch 1: a busy worker does not hoard tasks that an idle one could run.

One queue per service (orders, payments, notifications; "celery" for the rest), all
consumed by the one `worker` of the stack: each queue's depth shows on its own, and
growing a service's workers later is a `-Q payments` away.
"""

import os

from celery import Celery
from kombu import Queue

import worker.context  # noqa: F401  (signals: the request id travels with every task)

app = Celery("scaleshop", broker=os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
             include=["worker.heartbeat", "worker.metrics", "orders.tasks", "payments.tasks", "notifications.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    # With acks_late on Redis, an unacknowledged task is redelivered after this timeout.
    broker_transport_options={"visibility_timeout": 300},
    worker_hijack_root_logger=False,
    task_default_queue="celery",
    task_queues=[Queue("celery"), Queue("orders"), Queue("payments"), Queue("notifications")],
    task_routes={"orders.*": {"queue": "orders"}, "payments.*": {"queue": "payments"},
                 "notifications.*": {"queue": "notifications"}},
    beat_schedule={
        "heartbeat": {"task": "worker.heartbeat.beat_heartbeat", "schedule": 15.0},
        # The outbox relay's safety net (it also runs right after each commit). A run queued while
        # the worker was down is useless a few seconds later: it expires instead of piling up.
        "outbox-relay": {"task": "orders.relay_outbox", "schedule": 1.0, "options": {"expires": 5}},
        "purge-idempotency-keys": {"task": "orders.purge_idempotency_keys", "schedule": 3600.0},
    },
)
