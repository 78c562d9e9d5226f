"""Gateway app wiring: one pooled ServiceClient per routed service, opened in the lifespan."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from chassis.app import create_service_app
from chassis.balancer import ReplicaPool, parse_upstreams
from chassis.service_client import ServiceClient
from gateway import proxy
from gateway.settings import ROUTED_SERVICES, get_settings


@asynccontextmanager
async def service_clients(app: FastAPI):
    settings = get_settings()
    app.state.clients = {
        service: ServiceClient(
            ReplicaPool(service, parse_upstreams(settings.upstreams_of(service)), settings.upstream_eject_seconds),
            caller="gateway",
            connect_timeout=settings.http_connect_timeout_seconds,
            timeout=settings.http_timeout_seconds,
        )
        for service in ROUTED_SERVICES
    }
    yield
    for client in app.state.clients.values():
        await client.aclose()


def create_app() -> FastAPI:
    """The gateway has no database: its readiness is Redis (rate limits, sessions) and its own loop."""
    return create_service_app(
        get_settings(),
        title="ScaleShop API gateway",
        routers=[proxy.router],
        resources=[service_clients],
        use_database=False,
    )
