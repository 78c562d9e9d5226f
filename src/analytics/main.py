"""The analytics read API (one small stateless service; the consumer is a separate process)."""

from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI

from analytics.router import router
from analytics.settings import get_settings
from chassis.app import create_service_app
from chassis.event_stream import event_emitter_resource


@asynccontextmanager
async def reads(app: FastAPI):
    """Its own client to the Redis that holds the stream and the aggregates (EVENTS_REDIS_URL)."""
    settings = get_settings()
    app.state.reads = aioredis.Redis.from_url(settings.events_redis_url or settings.redis_url,
                                              socket_timeout=settings.redis_timeout_seconds, decode_responses=True)
    app.state.readiness_checks["events-redis"] = app.state.reads.ping
    yield
    await app.state.reads.aclose()


def create_app() -> FastAPI:
    settings = get_settings()
    return create_service_app(
        settings,
        title="ScaleShop analytics",
        description="Popular products, funnels, browsers and searches, live from the event stream.",
        routers=[router],
        resources=[reads, event_emitter_resource(settings)],
        use_database=False,
    )
