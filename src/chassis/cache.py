"""The shared Redis client (cache, sessions, rate limits): one connection pool per process."""

import redis.asyncio as redis

from chassis.settings import ServiceSettings


def create_redis(settings: ServiceSettings) -> redis.Redis:
    """Short timeouts: a cache that hangs is worse than a cache miss."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        decode_responses=True,
    )
