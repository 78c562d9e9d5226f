"""Every error is JSON with a `detail`; a failed dependency is a 503 that names it.

Exception tree:
    DependencyUnavailable      -> 503 {"detail": ..., "dependency": "postgres"|"redis"|<service>}
    (SQLAlchemy/asyncpg connection failures) -> 503 naming "postgres"
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


def unavailable(dependency: str, reason: str) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"detail": f"{dependency} is unavailable", "dependency": dependency, "reason": reason},
        headers={"Retry-After": "1"},
    )


def is_connection_failure(error: DBAPIError) -> bool:
    return isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DependencyUnavailable)
    async def dependency_unavailable(_: Request, error: DependencyUnavailable) -> JSONResponse:
        return unavailable(error.dependency, error.reason)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        if is_connection_failure(error):
            return unavailable("postgres", type(error.orig).__name__ if error.orig else type(error).__name__)
        return await internal_error(request, error)

    @app.exception_handler(PoolTimeoutError)
    async def pool_exhausted(_: Request, error: PoolTimeoutError) -> JSONResponse:
        return unavailable("postgres", "connection pool exhausted")

    @app.exception_handler(OSError)
    async def connection_refused(request: Request, error: OSError) -> JSONResponse:
        # asyncpg raises plain OSError/ConnectionRefusedError when the database is down.
        if isinstance(error, (ConnectionError, asyncio.TimeoutError, TimeoutError)):
            return unavailable("postgres", type(error).__name__)
        return await internal_error(request, error)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def redis_error(_: Request, error: Exception) -> JSONResponse:
        return unavailable("redis", type(error).__name__)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error"})
