"""The error tree (chassis/errors.py) mapped to HTTP, in one place: the answers and the contract.

`install_error_handlers(app)` turns every error into a JSON answer with a `detail`:
a ServiceError into its status; a database that cannot serve into a 503 naming it
(`X-Failed-Dependency`, Retry-After); text Postgres cannot store into a 422; a method the
path does not serve into a 405 whose `Allow` lists every method of the path (RFC 9110
§15.5.6; Starlette would list only the first route's); anything else into a 500.

`document_errors(app)` makes the OpenAPI document say the same: each route declares the
domain errors it raises (`responses=errors(ProductNotFound)`), and the statuses that
follow from the route's shape are added here once, for every route of every service:
422 where it takes input, 401 where it needs the caller, 403 where it needs the admin,
503 everywhere (any dependency may be down). Every error response has one schema.
"""

import asyncio
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from chassis.errors import (
    FAILED_DEPENDENCY_HEADER,
    DependencyUnavailable,
    Forbidden,
    ServiceError,
    Unauthenticated,
    Unprocessable,
    is_connection_failure,
    is_unstorable_text,
)
from chassis.identity import admin_identity, current_identity

log = structlog.get_logger("errors")

UNSTORABLE_TEXT = "text must not contain NUL characters and must be valid UTF-8"
# FastAPI's answer to a body it cannot decode (not UTF-8): a 400, where a body that is not JSON
# is a 422. Both are input the schema refuses; they get one status, 422.
UNDECODABLE_BODY = "There was an error parsing the body"


# ------------------------------------------------------------------------------ the answers
def unavailable(dependency: str, reason: str, *, database: str | None = None) -> JSONResponse:
    named = database or dependency
    content = {"detail": f"{named} is unavailable", "dependency": dependency, "reason": reason}
    if database:
        content["database"] = database
    return JSONResponse(status_code=503, content=content,
                        headers={"Retry-After": "1", FAILED_DEPENDENCY_HEADER: named})


def error_response(error: ServiceError) -> JSONResponse:
    return JSONResponse(status_code=error.status_code, content={"detail": error.detail, **error.fields},
                        headers=error.headers or None)


def database_of(request: Request) -> str:
    settings = request.app.state.settings
    return settings.database_label or f"{settings.service_name}-db"


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (the routes of one path are often several)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):  # routes of included routers too
        if route.methods and route.matches(request.scope)[0] in (Match.FULL, Match.PARTIAL):
            methods |= route.methods
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DependencyUnavailable)
    async def dependency_unavailable(_: Request, error: DependencyUnavailable) -> JSONResponse:
        return unavailable(error.dependency, error.reason)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, error: ServiceError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 405:
            error.headers = {**(error.headers or {}), "Allow": ", ".join(allowed_methods(request))}
        if error.status_code == 400 and error.detail == UNDECODABLE_BODY:
            return error_response(Unprocessable(f"the body is not JSON text: {UNSTORABLE_TEXT}"))
        return await http_exception_handler(request, error)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        if is_connection_failure(error):
            reason = type(error.orig).__name__ if error.orig else type(error).__name__
            return unavailable("postgres", reason, database=database_of(request))
        if is_unstorable_text(error):
            return error_response(Unprocessable(UNSTORABLE_TEXT))
        return await internal_error(request, error)

    @app.exception_handler(UnicodeError)
    async def undecodable_text(_: Request, error: UnicodeError) -> JSONResponse:
        return error_response(Unprocessable(UNSTORABLE_TEXT))

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


# ------------------------------------------------------------------------------ the contract
ERROR_SCHEMA = "Error"
ERROR_BODY = {
    "title": ERROR_SCHEMA,
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "description": "what went wrong, for people (a list of field errors on invalid input)",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
        },
    },
    "additionalProperties": True,  # fields for programs: `dependency`, `product_id`, `scope`, ...
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}}


def errors(*kinds: type[ServiceError]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that raises these domain errors (one entry per status)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for kind in kinds:
        entry = responses.setdefault(kind.status_code, {"description": ""})
        entry["description"] = "; ".join(filter(None, [entry["description"], kind.description]))
    return responses


def _depends_on(dependant: Dependant, call) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def implied_errors(route) -> list[type[ServiceError]]:
    """The statuses a route can answer because of its shape, whatever its domain does."""
    implied: list[type[ServiceError]] = [DependencyUnavailable]
    if _depends_on(route.dependant, current_identity):
        implied.append(Unauthenticated)
    if _depends_on(route.dependant, admin_identity):
        implied.append(Forbidden)
    return implied


def document_errors(app: FastAPI) -> None:
    """Make app.openapi() document every error status of every route, with one error schema."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components[ERROR_SCHEMA] = ERROR_BODY
        for route in iter_route_contexts(app.routes):  # routes of included routers too
            if not isinstance(route.original_route, APIRoute):
                continue
            for method in route.methods:
                operation = document["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue  # not in the document (include_in_schema=False)
                responses = operation["responses"]
                for kind in implied_errors(route):
                    responses.setdefault(str(kind.status_code), {"description": kind.description})
                for status, response in responses.items():
                    if status[0] in "45":
                        # One schema for every error, FastAPI's validation errors included.
                        response["content"] = ERROR_CONTENT
                    if status in ("429", "503"):
                        response.setdefault("headers", RETRY_AFTER)
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = document
        return document

    app.openapi = openapi
