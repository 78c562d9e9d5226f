"""Read-replica routing with fallback to the primary (seed: "Stage 6: Database Optimization", read replicas).

Writes go to the primary; reads that can tolerate a little staleness go to a streaming
replica, which takes read load off the primary. Two things can make the replica the
wrong place to read from, and each sends the read to the primary instead:

  - the replica is down (a connection error): the failing read is retried on the primary
    at once, and the replica stays out until the next check finds it back;
  - the replica lags: it has replayed less WAL than the primary has written, by more than
    `max_lag_bytes`. Lag is measured in bytes of WAL (primary `pg_current_wal_lsn()` minus
    replica `pg_last_wal_replay_lsn()`), not in seconds: the replay timestamp keeps
    ageing while the primary is idle, bytes do not.

And the other way round: a read sent to the primary that finds it unreachable (a failover
in progress: no host is read-write for a moment) is served by the replica after all, even
if the last check judged it down or behind: a slightly stale answer beats a 503
(reason `fallback_primary_down`). So reads keep working while writes wait for the new primary.

A background task checks every `check_seconds` and caches the verdict, so a request never
pays for the check. Every read is counted in `db_reads_total{target, reason}`
(reason: replica | fallback_down | fallback_lag | fallback_primary_down | recent_write | primary), the
response says which in `X-DB-Read` (e.g. `primary (fallback_down)`), and the last measured
lag is exported as `db_replica_lag_bytes`.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TypeVar

import structlog
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.db import Database, create_engine
from chassis.errors import is_connection_failure
from chassis.metrics.db import DB_READS, DB_REPLICA_LAG_BYTES
from chassis.middleware import note_response_header

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

REPLICA = "replica"
FALLBACK_DOWN = "fallback_down"
FALLBACK_LAG = "fallback_lag"
FALLBACK_PRIMARY_DOWN = "fallback_primary_down"
RECENT_WRITE = "recent_write"
PRIMARY = "primary"

# Read-your-writes for caches: set while a cache refills an entry invalidated a moment ago
# (chassis/versioned_cache.py, "remote marker"), so the fill reads the primary, not a replica that may not
# have replayed the write yet and would put the row from before it back into the cache for a TTL.
READ_PRIMARY: ContextVar[bool] = ContextVar("read_primary", default=False)

# WAL positions as byte offsets (an LSN minus '0/0'), so the lag is a plain subtraction.
PRIMARY_WRITTEN = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
REPLICA_REPLAYED = text(
    "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
)

log = structlog.get_logger("replicas")


def is_unreachable(error: BaseException) -> bool:
    """A connection-level failure (refused, reset, timed out, pool exhausted), not a bad query."""
    if isinstance(error, DBAPIError):
        return is_connection_failure(error)
    return isinstance(error, (OSError, asyncio.TimeoutError, PoolTimeoutError))


class ReadRouter:
    """Sends reads to the replica while it is up and fresh enough, else to the primary."""

    def __init__(self, *, service: str, primary: Database, replica: Database | None,
                 max_lag_bytes: int, check_seconds: float):
        self.service = service
        self.primary = primary
        self.replica = replica
        self.max_lag_bytes = max_lag_bytes
        self.check_seconds = check_seconds
        # Optimistic until the first check: the replica passed its health check before we started.
        self.verdict = REPLICA if replica is not None else PRIMARY

    async def read(self, work: Work[T]) -> T:
        """Run the read-only `work(session)` on the replica when the verdict allows, else on the primary."""
        reason = RECENT_WRITE if READ_PRIMARY.get() else self.verdict
        if reason == REPLICA:
            try:
                async with self.replica.sessions() as session:
                    result = await work(session)
                DB_READS.labels(self.service, REPLICA, REPLICA).inc()
                note_response_header("x-db-read", REPLICA)
                return result
            except Exception as error:
                if not is_unreachable(error):
                    raise
                log.warning("replica unreachable, reading from the primary", error=type(error).__name__)
                self.verdict = reason = FALLBACK_DOWN
                return await self._read_primary(work, reason, replica_tried=True)
        return await self._read_primary(work, reason, replica_tried=False)

    async def _read_primary(self, work: Work[T], reason: str, *, replica_tried: bool) -> T:
        try:
            async with self.primary.sessions() as session:
                result = await work(session)
        except Exception as error:
            if replica_tried or self.replica is None or not is_unreachable(error):
                raise
            log.warning("primary unreachable, reading from the replica", error=type(error).__name__)
            async with self.replica.sessions() as session:
                result = await work(session)
            DB_READS.labels(self.service, REPLICA, FALLBACK_PRIMARY_DOWN).inc()
            note_response_header("x-db-read", f"{REPLICA} ({FALLBACK_PRIMARY_DOWN})")
            return result
        DB_READS.labels(self.service, PRIMARY, reason).inc()
        note_response_header("x-db-read", PRIMARY if reason == PRIMARY else f"{PRIMARY} ({reason})")
        return result

    async def check(self) -> None:
        """Measure the replica's lag in bytes and update the cached verdict."""
        if self.replica is None:
            return
        try:
            async with self.primary.engine.connect() as connection:
                written = (await connection.execute(PRIMARY_WRITTEN)).scalar_one()
        except Exception as error:
            if not is_unreachable(error):
                raise
            # No primary to compare with (or to fall back to): the replica is the best reader left.
            written = None
        try:
            async with self.replica.engine.connect() as connection:
                in_recovery, replayed = (await connection.execute(REPLICA_REPLAYED)).one()
        except Exception as error:
            if not is_unreachable(error):
                raise
            self._judge(FALLBACK_DOWN)
            return
        # A promoted replica (not in recovery) is a primary of its own; the primary's position
        # was read first, so the replica may already be past it: never a negative lag.
        lag = max(0, written - replayed) if in_recovery and written is not None and replayed is not None else 0
        DB_REPLICA_LAG_BYTES.labels(self.service).set(lag)
        self._judge(FALLBACK_LAG if lag > self.max_lag_bytes else REPLICA, lag=lag)

    def _judge(self, verdict: str, **details) -> None:
        if verdict != self.verdict:
            log.info("read routing changed", was=self.verdict, now=verdict, **details)
        self.verdict = verdict

    async def watch(self) -> None:
        """Check forever, every `check_seconds` (run as a background task)."""
        while True:
            try:
                await asyncio.wait_for(self.check(), timeout=max(self.check_seconds, 1.0))
            except asyncio.TimeoutError:
                self._judge(FALLBACK_DOWN)
            except Exception:
                log.exception("replica check failed")
            await asyncio.sleep(self.check_seconds)


def read_routing(*, replica_url: str | None, max_lag_bytes: int, check_seconds: float):
    """A lifespan resource: opens the replica engine, puts a ReadRouter on `app.state.reads`, runs its checks."""

    @asynccontextmanager
    async def resource(app: FastAPI) -> AsyncIterator[None]:
        settings = app.state.settings
        replica = Database(create_engine(replica_url, settings)) if replica_url else None
        app.state.reads = ReadRouter(service=settings.service_name, primary=app.state.db, replica=replica,
                                     max_lag_bytes=max_lag_bytes, check_seconds=check_seconds)
        watcher = asyncio.create_task(app.state.reads.watch()) if replica else None
        try:
            yield
        finally:
            if watcher:
                watcher.cancel()
            if replica:
                await replica.dispose()

    return resource
