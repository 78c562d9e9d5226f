"""A base class for the shop's Celery tasks: retried with backoff and jitter, then dead-lettered.

Delivery is at least once (acks_late + reject_on_worker_lost in celery_app), so every
task must be idempotent; failures are handled in two steps:

1. a task that raises is retried by Celery with exponential backoff and full jitter
   (1 s, 2 s, 4 s, ... capped at 10 s, 5 retries), so a dependency that blinks
   (a restarting database, a killed replica) costs a delay, not an order;
2. when retries are exhausted (or the error is a `PermanentError`), the task lands in
   the `dead_letters` table of the service that owns it, with its arguments and the
   error, and `dead_letters_total{task}` rises: an operator can inspect and replay it.

Tasks run their async code with `worker.task_loop.run` and take their database from
`task_database`: one loop and one pooled engine per worker process (worker/task_loop.py).
"""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog
from celery import Task
from prometheus_client import Counter
from sqlalchemy import text

from chassis.db import Database
from chassis.settings import ServiceSettings
from worker import task_loop

DEAD_LETTERS = Counter("dead_letters_total", "Tasks that exhausted their retries", ["task"])

log = structlog.get_logger("worker")


class PermanentError(Exception):
    """An error that no retry can fix (bad arguments, a missing row): dead-letter at once."""


@asynccontextmanager
async def task_database(settings: ServiceSettings) -> AsyncIterator[Database]:
    """The service's database for one task run: this worker process's pooled engine,
    which stays open for the next task (see worker/task_loop.py)."""
    yield task_loop.database(settings)


class ReliableTask(Task):
    autoretry_for = (Exception,)
    dont_autoretry_for = (PermanentError,)
    retry_backoff = 1
    retry_backoff_max = 10  # below the broker's visibility timeout (worker/celery_app.py)
    retry_jitter = True
    max_retries = 5
    acks_late = True
    reject_on_worker_lost = True
    # The settings of the service whose database keeps this task's dead letters.
    service_settings: Callable[[], ServiceSettings]

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        DEAD_LETTERS.labels(self.name).inc()
        log.error("task dead-lettered", error=repr(exc), args=args, kwargs=kwargs)
        try:
            task_loop.run(self._record(task_id, {"args": list(args), "kwargs": kwargs}, repr(exc)))
        except Exception:  # the dead letter is best effort; the log line above already carries everything
            log.exception("could not record dead letter")

    async def _record(self, task_id: str, arguments: dict, error: str) -> None:
        async with task_database(type(self).service_settings()) as database, database.sessions.begin() as session:
            await session.execute(
                text("INSERT INTO dead_letters (task, task_id, args, error) "
                     "VALUES (:task, :task_id, CAST(:args AS jsonb), :error)"),
                {"task": self.name, "task_id": task_id, "args": json.dumps(arguments, default=str),
                 "error": error[:2000]},
            )
