"""The FastAPI factory every service uses: one place that wires the chassis.

A service calls `create_service_app(settings, routers=[...])` from its `create_app()`;
gunicorn calls that factory (`users.main:create_app()`), so nothing opens a connection
at import time. The lifespan opens the engine, Redis and any service-specific
resources, registers them as readiness checks, and closes them on shutdown.
"""

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request

from chassis import health
from chassis.redis_client import create_redis
from chassis.db import Database, create_engine
from chassis.error_handlers import document_errors, install_error_handlers
from chassis.faults import FaultMiddleware
from chassis.flags import flags_for
from chassis.logs import configure_logging
from chassis.metrics.web import VERSION_INFO, metrics_endpoint
from chassis.middleware import RequestContextMiddleware
from chassis.settings import ServiceSettings

Resources = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    resources: Sequence[Resources] = (),
    use_database: bool = True,
) -> FastAPI:
    """Build a service app: logging, middleware, errors, health, metrics, then the service's routers."""
    configure_logging(settings.service_name, settings.replica_name, settings.log_level, batched=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.redis = create_redis(settings)
        app.state.readiness_checks = {"redis": app.state.redis.ping}
        if use_database and settings.database_url:
            app.state.db = Database(create_engine(settings.database_url, settings))
            app.state.readiness_checks["postgres"] = app.state.db.ping
        async with AsyncExitStack() as stack:
            for resource in resources:
                await stack.enter_async_context(resource(app))
            yield
        if hasattr(app.state, "db"):
            await app.state.db.dispose()
        await app.state.redis.aclose()

    app = FastAPI(title=title, description=description, lifespan=lifespan,
                  docs_url="/docs", openapi_url="/openapi.json")
    if settings.environment == "development":
        # Fault flags (chassis.faults): inside the request context, so injected latency and errors show in RED.
        app.add_middleware(FaultMiddleware, flags=flags_for(settings))
    app.add_middleware(RequestContextMiddleware, service=settings.service_name, replica=settings.replica_name,
                       version=settings.service_version)
    VERSION_INFO.labels(settings.service_name, settings.replica_name, settings.service_version).set(1)
    install_error_handlers(app)
    app.include_router(health.router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.include_router(whoami_router(settings.service_name))
    for router in routers:
        app.include_router(router)
    document_errors(app)
    return app


def whoami_router(service: str) -> APIRouter:
    router = APIRouter(prefix=f"/{service}", tags=["replica"])

    @router.get("/whoami")
    async def whoami(request: Request) -> dict:
        """Which replica and worker answered: call it repeatedly to watch load balancing."""
        settings = request.app.state.settings
        return {"service": service, "replica": settings.replica_name, "version": settings.service_version,
                "pid": os.getpid()}

    return router
