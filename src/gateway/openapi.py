"""One API document for the whole shop: the gateway merges the services' OpenAPI specs.

GET /api/openapi.json fetches /openapi.json from a replica of each service (through the
same resilient ServiceClient as any call), keeps only the public paths, rewrites them
from /<svc>/... to /api/<svc>/... as the gateway exposes them, and marks which ones need
a bearer token. Schemas are namespaced per service ("users.UserRead") so two services
can both have an `ItemRead`. The gateway adds the statuses it answers itself: 429 on every
operation (rate limits), 401 on every protected one (the token is checked here). The result is cached for a few seconds in each worker. A
service that does not answer is left out (and named in `x-unavailable-services`)
rather than failing the whole document. GET /api/docs serves Swagger UI over it.
"""

import asyncio
import json
import re
import time

import structlog
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from chassis.error_handlers import ERROR_SCHEMA, RETRY_AFTER
from chassis.errors import TooManyRequests, Unauthenticated
from gateway.auth import is_public
from gateway.settings import ROUTED_SERVICES

HIDDEN_SEGMENTS = {"internal", "health", "metrics"}
SCHEMA_REF = re.compile(r'"#/components/schemas/([^"]+)"')
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}

router = APIRouter(prefix="/api", tags=["gateway"])
log = structlog.get_logger("openapi")


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> dict:
    """The merged OpenAPI document of every service's public API, as the gateway exposes it."""
    cached = getattr(request.app.state, "openapi_cache", None)
    ttl = request.app.state.settings.openapi_cache_seconds
    if cached and time.monotonic() - cached[0] < ttl:
        return cached[1]
    specs = await fetch_specs(request.app.state.clients)
    document = merge(specs)
    if not document["x-unavailable-services"]:
        request.app.state.openapi_cache = (time.monotonic(), document)
    return document


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    """Swagger UI over the merged document."""
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="ScaleShop API")


async def fetch_specs(clients: dict) -> dict[str, dict | None]:
    async def fetch(service: str) -> dict | None:
        try:
            response = await clients[service].request("GET", "/openapi.json")
            if response.status_code == 200:
                return response.json()
            log.warning("openapi spec unavailable", service=service, status=response.status_code)
        except Exception as error:  # one silent service must not hide the others' docs
            log.warning("openapi spec unavailable", service=service, error=type(error).__name__)
        return None

    results = await asyncio.gather(*(fetch(service) for service in ROUTED_SERVICES))
    return dict(zip(ROUTED_SERVICES, results))


def merge(specs: dict[str, dict | None]) -> dict:
    """Merge per-service specs into one document with /api/<svc>/... paths."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": "ScaleShop API", "version": "1.0.0",
                 "description": "Every service's public API behind the gateway. Log in with POST "
                                "/api/users/login, then Authorize with the access token."},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": BEARER},
        "security": [{"bearerAuth": []}],
        "tags": [{"name": service} for service, spec in specs.items() if spec],
        "x-unavailable-services": sorted(service for service, spec in specs.items() if not spec),
    }
    for service, spec in specs.items():
        if not spec:
            continue
        spec = namespaced(service, spec)
        document["components"]["schemas"].update(spec.get("components", {}).get("schemas", {}))
        for path, operations in spec.get("paths", {}).items():
            segments = path.strip("/").split("/")
            if segments[0] != service or HIDDEN_SEGMENTS.intersection(segments[1:]):
                continue  # /health, /metrics, /<svc>/internal/...: not exposed by the gateway
            public_path = f"/api{path}"
            document["paths"][public_path] = {
                method: exposed(service, public_path, method, operation) for method, operation in operations.items()
            }
    return document


def namespaced(service: str, spec: dict) -> dict:
    """Prefix every schema name (and every reference to it) with the service name."""
    text = SCHEMA_REF.sub(lambda match: f'"#/components/schemas/{service}.{match.group(1)}"', json.dumps(spec))
    spec = json.loads(text)
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        spec["components"]["schemas"] = {f"{service}.{name}": schema for name, schema in schemas.items()}
    return spec


def exposed(service: str, path: str, method: str, operation: dict) -> dict:
    if not isinstance(operation, dict):
        return operation  # path-level "parameters" or "summary"
    operation = {**operation, "tags": [service], "responses": {**operation.get("responses", {})}}
    operation["operationId"] = f"{service}_{operation.get('operationId', method + path)}"  # unique across services
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{service}.{ERROR_SCHEMA}"}}}
    answered_here = [TooManyRequests]
    if is_public(method.upper(), path):
        operation["security"] = []  # no token needed
    else:
        answered_here.append(Unauthenticated)
    for kind in answered_here:
        operation["responses"].setdefault(str(kind.status_code), {"description": kind.description, "content": error})
    operation["responses"]["429"].setdefault("headers", RETRY_AFTER)
    return operation
