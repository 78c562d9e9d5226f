"""One event loop and one pooled database per worker process (seed: "Stage 6: Database
Optimization", connection pooling), for the async code of the shop's Celery tasks.

Celery runs a task as a plain function, so each task used to wrap its async code in
`asyncio.run` with a NullPool engine: a new event loop, a new Postgres connection (a
backend fork and a SCRAM handshake) and SQLAlchemy's dialect set-up, for every task.
An order takes four or five tasks, and that connect-per-task cost was most of the
worker's CPU per order (measured in the README's checkout section).

Here a worker process keeps one loop for its whole life and runs every task on it
(`run`), so a pooled engine made once (`database`) keeps its connections across tasks:
asyncpg connections belong to the loop that opened them, which is why the loop must
live as long as the pool. A prefork child runs one task at a time, so its pool is one
connection (plus one for a task that holds two sessions). `pool_pre_ping` (chassis.db)
replaces a connection a database restart killed, so chaos costs a reconnect, not a task.
State is per process and per thread, made lazily: nothing is shared across Celery's fork.
"""

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from celery import signals

from chassis.db import Database, create_engine
from chassis.settings import ServiceSettings

T = TypeVar("T")

WORKER_POOL_SIZE = 1
WORKER_MAX_OVERFLOW = 1


class _ProcessState(threading.local):
    pid: int | None = None
    loop: asyncio.AbstractEventLoop
    databases: dict[str, Database]


_state = _ProcessState()


def _current() -> _ProcessState:
    if _state.pid != os.getpid():  # first use in this process (or a child forked after a use)
        _state.pid = os.getpid()
        _state.loop = asyncio.new_event_loop()
        _state.databases = {}
    return _state


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a task's async code to the end on this process's loop (where `asyncio.run` would
    make and close a new one)."""
    return _current().loop.run_until_complete(coroutine)


def database(settings: ServiceSettings) -> Database:
    """The service's pooled database for this worker process, made on first use."""
    databases = _current().databases
    if settings.database_url not in databases:
        databases[settings.database_url] = Database(create_engine(
            settings.database_url, settings, pool_size=WORKER_POOL_SIZE, max_overflow=WORKER_MAX_OVERFLOW,
            fault_flags=False))  # the db_latency_ms fault flag slows the web replicas, not the worker
    return databases[settings.database_url]


@signals.worker_process_shutdown.connect
def close_pools(**_) -> None:
    """A clean goodbye to Postgres when a worker process stops (a crash leaves it to the server)."""
    if _state.pid != os.getpid():
        return
    for db in _state.databases.values():
        _state.loop.run_until_complete(db.dispose())
    _state.loop.close()
    _state.pid = None
