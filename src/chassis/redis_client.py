"""The shared Redis client (cache, sessions, rate limits): one connection pool per process."""

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from chassis.settings import ServiceSettings


def reconnect_retry() -> Retry:
    """After Redis restarts, every pooled connection is dead; without a retry the first command
    on each one fails and a shopper gets a 503 although Redis is back. redis-py's Retry
    reconnects and sends the command again, on connection errors only: a Redis that hangs
    (a timeout) still fails fast instead of being waited on two more times."""
    return Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.25), retries=2,
                 supported_errors=(RedisConnectionError,))


def create_redis(settings: ServiceSettings) -> redis.Redis:
    """Short timeouts: a cache that hangs is worse than a cache miss."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        retry=reconnect_retry(),
        decode_responses=True,
    )
