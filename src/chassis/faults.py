"""Fault injection driven by flags (seed: "testing at scale"; the OpenTelemetry demo's fault flags).

Two injection points, both no-ops while the flag store is empty (the hot path reads
one attribute) and both absent outside ENVIRONMENT=development:

- `FaultMiddleware` (per HTTP request of a service): `latency_ms` for a `latency_share`
  of requests, then `error_rate` of requests answered 503 naming the injector, so a
  caller's retries, failover and breakers can be watched working. Health and metrics
  paths are exempt: a slow replica stays in its pools, as a real slow one would.
- `install_db_latency(engine)` (per SQL statement): `db_latency_ms` before each one.
  SQLAlchemy's cursor events are synchronous, but an async engine runs them inside its
  greenlet bridge, where `await_only` may await: the event loop keeps serving others
  while a statement is held back, exactly like a slow database.

Every injection counts in `faults_injected_total{service,replica,kind}`, so a chart
can tell an injected failure from a real one.
"""

import asyncio
import random

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only
from starlette.types import ASGIApp, Receive, Scope, Send

from chassis.flags import Flags

FAULTS_INJECTED = Counter("faults_injected_total", "Faults injected by fault flags", ["service", "replica", "kind"])
EXEMPT_PATHS = ("/metrics", "/health/live", "/health/ready")


class FaultMiddleware:
    def __init__(self, app: ASGIApp, flags: Flags):
        self.app = app
        self.flags = flags
        self.latency = FAULTS_INJECTED.labels(flags.service, flags.replica, "latency")
        self.errors = FAULTS_INJECTED.labels(flags.service, flags.replica, "error")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.flags.any_set or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        user_id = _header(scope, b"x-user-id")
        delay_ms = self.flags.value("latency_ms", user_id=user_id)
        if delay_ms and random.random() < self.flags.value("latency_share", user_id=user_id):
            self.latency.inc()
            await asyncio.sleep(delay_ms / 1000)
        if random.random() < self.flags.value("error_rate", user_id=user_id):
            self.errors.inc()
            await _injected_error(send, self.flags.replica)
            return
        await self.app(scope, receive, send)


async def _injected_error(send: Send, replica: str) -> None:
    body = ('{"detail":"injected failure (fault flag error_rate)","dependency":"fault-injector",'
            f'"replica":"{replica}"}}').encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def install_db_latency(engine: AsyncEngine, flags: Flags) -> None:
    """Hold every statement of this engine back by `db_latency_ms` while that flag is set."""
    injected = FAULTS_INJECTED.labels(flags.service, flags.replica, "db_latency")

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def slow_down(conn, cursor, statement, parameters, context, executemany) -> None:
        if not flags.any_set:
            return
        delay_ms = flags.value("db_latency_ms")
        if delay_ms:
            injected.inc()
            await_only(asyncio.sleep(delay_ms / 1000))
