"""Gateway app wiring: one pooled ServiceClient (with its circuit breaker) per routed service, the rate
limiter and its background sync, edge metrics."""

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chassis.app import create_service_app
from chassis.balancer import ReplicaPool, parse_upstreams
from chassis.event_stream import event_emitter_resource
from chassis.service_client import ServiceClient
from gateway import discovery, metrics, openapi, proxy
from gateway.ratelimit import RateLimiter
from gateway.settings import ROUTED_SERVICES, get_settings


@asynccontextmanager
async def gateway_resources(app: FastAPI):
    settings = get_settings()
    metrics.initialise()
    app.state.rate_limiter = RateLimiter(app.state.redis, sync_seconds=settings.rate_limit_sync_seconds)
    syncing = asyncio.create_task(app.state.rate_limiter.sync_forever())
    app.state.clients = {
        service: ServiceClient(
            ReplicaPool(service, parse_upstreams(settings.upstreams_of(service)), settings.upstream_eject_seconds,
                        strategy=settings.gateway_lb),
            caller="gateway",
            connect_timeout=settings.http_connect_timeout_seconds,
            timeout=settings.http_timeout_seconds,
            max_connections=settings.upstream_max_connections,
            keepalive=settings.upstream_keepalive,
            breaker_threshold=settings.circuit_breaker_threshold,
            breaker_ttl_seconds=settings.circuit_breaker_ttl_seconds,
        )
        for service in ROUTED_SERVICES
    }
    pools = {service: client.pool for service, client in app.state.clients.items()}
    discovering = asyncio.create_task(discovery.follow(app.state.redis, pools, settings.discovery_interval_seconds))
    yield
    discovering.cancel()
    syncing.cancel()
    await app.state.rate_limiter.sync()  # the last counts of this process are not lost
    for client in app.state.clients.values():
        await client.aclose()


def create_app() -> FastAPI:
    """The gateway has no database: its readiness is Redis (rate limits) and its own loop."""
    return create_service_app(
        get_settings(),
        title="ScaleShop API gateway",
        # The docs routes first: the proxy's catch-all /api/{service} would otherwise take /api/openapi.json.
        routers=[openapi.router, proxy.router],
        resources=[gateway_resources, event_emitter_resource(get_settings())],
        use_database=False,
    )
