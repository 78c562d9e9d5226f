"""An async SQLAlchemy engine per process, opened in the app's lifespan (never at import time).

Every engine is instrumented (seed: "Monitoring and Observability", connection pool usage
and query execution time): SQLAlchemy's pool and cursor events feed
`db_pool_connections{service,replica,database,state}` and
`db_query_duration_seconds{service,database}`. The `database` label is the engine's role,
"primary" or "replica" (the engine of `DATABASE_REPLICA_URL`), so a dashboard compares the
two sides of a read replica without knowing host names.

Behind pgbouncer in transaction mode (seed "Stage 6: Database Optimization", connection
pooling; infra/pgbouncer), a connection the app holds is a connection *to the pooler*, and each
transaction may run on a different Postgres server connection. What lives in a server session
then leaks to strangers or vanishes, and Debian's pgbouncer 1.18 does not track prepared
statements (1.21 does). `pooler_connect_args` does what asyncpg's FAQ and SQLAlchemy's asyncpg
dialect documentation say for that case (see the function).
"""

import time
import uuid

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool, QueuePool

from chassis.faults import install_db_latency
from chassis.flags import flags_for
from chassis.metrics.db import DB_POOL, DB_QUERY_DURATION
from chassis.settings import ServiceSettings

QUERY_STARTED = "scaleshop_query_started"


def create_engine(url: str, settings: ServiceSettings, *, pooled: bool = True, role: str | None = None,
                  pool_size: int | None = None, max_overflow: int | None = None,
                  fault_flags: bool = True) -> AsyncEngine:
    """A pooled engine for a web worker or a Celery worker process (its own, smaller sizes);
    NullPool for short-lived processes (migrations, seeds)."""
    connect_args = pooler_connect_args(settings) if settings.database_pooler == "pgbouncer" else {
        "server_settings": {
            "application_name": settings.replica_name,
            "statement_timeout": str(settings.db_statement_timeout_ms),
        },
        "timeout": settings.db_pool_timeout_seconds,
    }
    if not pooled:
        engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    else:
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size if pool_size is None else pool_size,
            max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,  # a connection killed by a DB restart is replaced, not handed out
            connect_args=connect_args,
        )
    instrument(engine, settings, role=role or role_of(url, settings))
    if pooled and fault_flags and settings.environment == "development":
        # Fault flag db_latency_ms (chassis.faults): web replicas only, never migrations or seeds.
        install_db_latency(engine, flags_for(settings))
    return engine


def pooler_connect_args(settings: ServiceSettings) -> dict:
    """asyncpg's connect arguments through a transaction-mode pgbouncer 1.18.

    - `statement_cache_size=0` (asyncpg FAQ, "prepared statement errors"): asyncpg keeps no named
      prepared statement for reuse; a statement prepared in one transaction would be asked for
      later on whichever server connection pgbouncer lends then, where it does not exist.
    - `prepared_statement_cache_size=0` (SQLAlchemy asyncpg dialect): the dialect's own cache of
      prepared statements, off for the same reason.
    - `prepared_statement_name_func` (SQLAlchemy, "Prepared Statement Name with PGBouncer"): the
      dialect still prepares each statement (to learn its result columns), inside the transaction,
      so on one server connection; asyncpg would name it `__asyncpg_stmt_1__` on every client, and
      two clients lent the same server connection would collide ("already exists"). A UUID name
      cannot; pgbouncer's `server_reset_query = DEALLOCATE ALL` clears them when a server
      connection changes hands.
    - No `statement_timeout` startup setting: pgbouncer 1.18 refuses startup parameters it does not
      know. The same limit is set on every server connection by pgbouncer's `connect_query`.
    """
    return {
        "server_settings": {"application_name": settings.replica_name},
        "timeout": settings.db_pool_timeout_seconds,
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
    }


def role_of(url: str, settings: ServiceSettings) -> str:
    """"replica" for the engine of the service's read replica URL, else "primary"."""
    return "replica" if url == getattr(settings, "database_replica_url", None) else "primary"


def instrument(engine: AsyncEngine, settings: ServiceSettings, *, role: str) -> None:
    """Time every statement and, for a pooled engine, publish the pool's state after each change."""
    sync_engine = engine.sync_engine
    latency = DB_QUERY_DURATION.labels(settings.service_name, role)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def start_timer(conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info.setdefault(QUERY_STARTED, []).append(time.perf_counter())

    @event.listens_for(sync_engine, "after_cursor_execute")
    def observe(conn, cursor, statement, parameters, context, executemany) -> None:
        started = conn.info.get(QUERY_STARTED)
        if started:
            latency.observe(time.perf_counter() - started.pop())

    @event.listens_for(sync_engine, "handle_error")
    def forget_failed(context) -> None:
        # A failed statement has no "after" event: drop its start time so the stack stays balanced.
        started = context.connection.info.get(QUERY_STARTED) if context.connection is not None else None
        if started:
            started.pop()

    pool = sync_engine.pool
    if not isinstance(pool, QueuePool):
        return  # NullPool holds nothing between uses: there is no pool to watch

    def publish(*_, returning: int = 0) -> None:
        # Gauges in "livesum" mode: each gunicorn worker sets its own pool's numbers and
        # /metrics sums the live workers, which is the replica's total use of the database.
        gauges = {
            "size": pool.size(),  # configured steady-state connections
            "checked_out": pool.checkedout() - returning,  # lent to a request right now
            "idle": pool.checkedin() + returning,  # open and waiting in the pool
            "overflow": max(pool.overflow(), 0),  # opened beyond `size`, closed again when returned
        }
        for state, value in gauges.items():
            DB_POOL.labels(settings.service_name, settings.replica_name, role, state).set(value)

    def publish_checkin(*_) -> None:
        publish(returning=1)  # the event fires just before the connection is back in the pool

    for name in ("connect", "checkout", "close", "close_detached"):
        event.listen(pool, name, publish)
    event.listen(pool, "checkin", publish_checkin)
    publish()


class Database:
    """One engine and its session factory."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
