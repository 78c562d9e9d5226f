"""Observability of the Celery worker: task metrics, their /metrics server, JSON logs.

Seed: "Monitoring and Observability" (rates, latency, errors) applied to the async
side of the shop. Prefork children run the tasks; each writes its samples to
PROMETHEUS_MULTIPROC_DIR and the main process serves the sum of all of them on
METRICS_ADDRESS (port 9808), the same multiprocess pattern gunicorn uses for the web
replicas. Queue depth is not measured here: redis-exporter reads the length of the
broker's list (`redis_key_size{key="celery"}`), so it is still reported when every
worker is down, which is exactly when a backlog grows.

Celery's own log lines (worker start, "Task ... succeeded") go through the chassis
JSON logging, so the request id bound by a task shows on them too.
"""

import logging
import os
import shutil
import time

from celery import signals
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

from chassis.logs import configure_logging

TASKS = Counter("celery_tasks_total", "Celery task executions by outcome", ["task", "state"])
TASK_DURATION = Histogram(
    "celery_task_duration_seconds", "Time a task took to run in a worker", ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
# task_postrun's `state` names the outcome; the metric uses plain past-tense words.
OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}

_started_at: dict[str, float] = {}  # task id -> start time, per child process


@signals.setup_logging.connect
def use_json_logs(loglevel=logging.INFO, **_) -> None:
    """Replace Celery's plain-text logging (a connected receiver tells Celery to configure none)."""
    configure_logging(os.environ.get("SERVICE_NAME", "worker"), os.environ.get("REPLICA_NAME", "worker"),
                      logging.getLevelName(loglevel) if isinstance(loglevel, int) else str(loglevel))


@signals.task_prerun.connect
def count_started(task_id=None, task=None, **_) -> None:
    TASKS.labels(task.name, "started").inc()
    _started_at[task_id] = time.perf_counter()


@signals.task_postrun.connect
def count_finished(task_id=None, task=None, state=None, **_) -> None:
    started = _started_at.pop(task_id, None)
    if started is not None:
        TASK_DURATION.labels(task.name).observe(time.perf_counter() - started)
    if state:
        TASKS.labels(task.name, OUTCOMES.get(state, state.lower())).inc()


@signals.worker_init.connect
def serve_metrics(**_) -> None:
    """In the worker's main process, before the pool forks: fresh sample files, then the HTTP server."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return  # single-process mode (a test or `celery worker --pool=solo`): nothing to aggregate
    shutil.rmtree(directory, ignore_errors=True)  # stale files of a previous run would add up
    os.makedirs(directory, exist_ok=True)
    host, _, port = os.environ.get("METRICS_ADDRESS", "0.0.0.0:9808").rpartition(":")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    start_http_server(int(port), addr=host, registry=registry)


@signals.worker_process_shutdown.connect
def forget_dead_child(pid=None, **_) -> None:
    """A recycled child's live gauges must not be summed any more."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())
