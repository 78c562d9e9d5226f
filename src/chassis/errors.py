"""Every error is JSON with a `detail`; a failed dependency is a 503 that names it.

Exception tree:
    DependencyUnavailable      -> 503 {"detail": ..., "dependency": "postgres"|"redis"|<service>}
    (SQLAlchemy/asyncpg connection failures) -> 503 naming "postgres" and the database
                                                ("products-db": DATABASE_LABEL, default <service>-db),
                                                also when no host of a multi-host URL is a primary
                                                (a failover in progress)
    (redis-py connection/timeout errors)     -> 503 naming "redis"
    anything unhandled                       -> 500 {"detail": "internal error", "request_id": ...}
"""

import asyncio

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = structlog.get_logger("errors")


class DependencyUnavailable(Exception):
    """A dependency (database, cache, another service) cannot serve this request now."""

    def __init__(self, dependency: str, reason: str = "unavailable"):
        super().__init__(f"{dependency}: {reason}")
        self.dependency = dependency
        self.reason = reason


# Set on every 503 that names a failed dependency: the replica itself is up and answered, so a
# caller's client-side balancer neither ejects it nor counts it against its circuit breaker
# (another replica shares the same dependency; writes failing during a database failover must
# not take the service's reads down with them).
FAILED_DEPENDENCY_HEADER = "X-Failed-Dependency"


def unavailable(dependency: str, reason: str, *, database: str | None = None) -> JSONResponse:
    named = database or dependency
    content = {"detail": f"{named} is unavailable", "dependency": dependency, "reason": reason}
    if database:
        content["database"] = database
    return JSONResponse(status_code=503, content=content,
                        headers={"Retry-After": "1", FAILED_DEPENDENCY_HEADER: named})


# SQLSTATE 25006: a write reached a server that is read-only now (a database still recovering
# after a restore, or a primary being demoted): it cannot take writes at the moment, a 503.
READ_ONLY_SQL_TRANSACTION = "25006"


def is_connection_failure(error: DBAPIError) -> bool:
    """The database cannot serve now: refused, reset, (multi-host URL) no host matched
    target_session_attrs, or a write reached a read-only server."""
    if isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated:
        return True
    return any(type(cause).__name__ == "TargetServerAttributeNotMatched"
               or getattr(cause, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION for cause in _causes(error))


def _causes(error: BaseException):
    seen = error.orig if isinstance(error, DBAPIError) else error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def database_of(request: Request) -> str:
    settings = request.app.state.settings
    return settings.database_label or f"{settings.service_name}-db"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DependencyUnavailable)
    async def dependency_unavailable(_: Request, error: DependencyUnavailable) -> JSONResponse:
        return unavailable(error.dependency, error.reason)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        if is_connection_failure(error):
            reason = type(error.orig).__name__ if error.orig else type(error).__name__
            return unavailable("postgres", reason, database=database_of(request))
        return await internal_error(request, error)

    @app.exception_handler(PoolTimeoutError)
    async def pool_exhausted(request: Request, error: PoolTimeoutError) -> JSONResponse:
        return unavailable("postgres", "connection pool exhausted", database=database_of(request))

    @app.exception_handler(OSError)
    async def connection_refused(request: Request, error: OSError) -> JSONResponse:
        # asyncpg raises plain OSError/ConnectionRefusedError when the database is down.
        if isinstance(error, (ConnectionError, asyncio.TimeoutError, TimeoutError)):
            return unavailable("postgres", type(error).__name__, database=database_of(request))
        return await internal_error(request, error)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def redis_error(_: Request, error: Exception) -> JSONResponse:
        return unavailable("redis", type(error).__name__)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error"})
