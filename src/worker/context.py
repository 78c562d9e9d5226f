"""One request id from the edge to the last Celery task (issue 5: correlated logs).

nginx sets X-Request-ID; the chassis middleware binds it into structlog's contextvars.
These Celery signals carry it across the broker:

- before_task_publish: copy the publisher's request_id into the message headers
  (a task published by a request, by another task, or by the outbox relay, which
  binds the id stored in the outbox row before publishing);
- task_prerun: bind the message's request_id, the task name and the task id into
  the worker's log context, so every log line of the task carries them;
- task_postrun: unbind them, so the next task on this process starts clean.

(JSON logging of the worker itself is set up in worker.metrics.)
"""

import structlog
from celery import signals

REQUEST_ID_HEADER = "request_id"
TASK_CONTEXT = ("request_id", "task", "task_id")


@signals.before_task_publish.connect
def attach_request_id(headers: dict | None = None, **_) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if headers is not None and request_id and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = request_id


@signals.task_prerun.connect
def bind_task_context(task_id: str | None = None, task=None, **_) -> None:
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) if task else None
    structlog.contextvars.bind_contextvars(request_id=request_id, task=getattr(task, "name", None), task_id=task_id)


@signals.task_postrun.connect
def clear_task_context(**_) -> None:
    structlog.contextvars.unbind_contextvars(*TASK_CONTEXT)
