"""The Celery application: Redis broker, at-least-once delivery settings, beat schedule.

acks_late + reject_on_worker_lost: a task is acknowledged only after it ran, so a
worker killed mid-task leaves it on the queue for another worker (tasks must be
idempotent). prefetch 1: a busy worker does not hoard tasks that an idle one could run.
"""

import os

from celery import Celery

app = Celery("scaleshop", broker=os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
             include=["worker.heartbeat", "worker.metrics"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    # With acks_late on Redis, an unacknowledged task is redelivered after this timeout.
    broker_transport_options={"visibility_timeout": 300},
    worker_hijack_root_logger=False,
    beat_schedule={
        "heartbeat": {"task": "worker.heartbeat.beat_heartbeat", "schedule": 15.0},
    },
)
