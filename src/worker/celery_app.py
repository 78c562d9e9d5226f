"""The Celery application: Redis broker, at-least-once delivery settings, queues, beat schedule.

acks_late + reject_on_worker_lost: a task is acknowledged only after it ran, so a
worker killed mid-task leaves it on the queue for another worker (tasks must be
idempotent). prefetch 1: a busy worker does not hoard tasks that an idle one could run.

Redelivery in seconds, not minutes: on Redis, a task taken by a worker that then died
comes back once it has been unacknowledged for `visibility_timeout`. That timeout must
exceed the longest a healthy task can hold a message (its run, capped by the hard time
limit, or a retry's countdown, capped by ReliableTask.retry_backoff_max), or healthy
tasks would run twice; anything longer only delays a dead worker's tasks:

    retry countdown <= 10 s  <  soft limit 20 s  <  hard limit 25 s  <  visibility 30 s

kombu checks for expired messages every 10 s, so a killed worker's tasks run again
within ~40 s, and saga recovery (orders.recovery) re-drives any order still waiting.

The broker is the queue Redis (CELERY_BROKER_URL: AOF, noeviction), not the cache Redis:
a cache may lose everything on a crash, a queue may not.

One queue per service (orders, payments, notifications; "celery" for the rest), all
consumed by the one `worker` of the stack: each queue's depth shows on its own, and
growing a service's workers later is a `-Q payments` away.
"""

import os

from celery import Celery
from kombu import Queue

import worker.context  # noqa: F401  (signals: the request id travels with every task)
import worker.shared_heap  # noqa: F401  (signals: the pool's children share the imported heap)

VISIBILITY_TIMEOUT_SECONDS = 30
TASK_SOFT_TIME_LIMIT_SECONDS = 20
TASK_TIME_LIMIT_SECONDS = 25

broker_url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL", "redis://localhost:6379/0")
app = Celery("scaleshop", broker=broker_url,
             include=["worker.heartbeat", "worker.metrics", "orders.tasks", "orders.recovery_tasks",
                      "payments.tasks", "notifications.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    # With acks_late on Redis, an unacknowledged task is redelivered after this timeout.
    broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
    task_soft_time_limit=TASK_SOFT_TIME_LIMIT_SECONDS,
    task_time_limit=TASK_TIME_LIMIT_SECONDS,
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
        # Saga recovery: the timeout of every waiting saga step (orders.recovery).
        "recover-sagas": {"task": "orders.recover_sagas", "schedule": 5.0, "options": {"expires": 5}},
        "purge-idempotency-keys": {"task": "orders.purge_idempotency_keys", "schedule": 3600.0},
    },
)
