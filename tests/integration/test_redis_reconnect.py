"""The shared Redis client after Redis drops every connection (what a restart does to a pool):
the next command reconnects instead of failing (chassis.redis_client.reconnect_retry)."""

import pytest
import redis.asyncio as redis

from chassis.redis_client import create_redis
from chassis.settings import ServiceSettings

pytestmark = pytest.mark.stack


async def test_the_first_command_after_redis_drops_its_connections_succeeds(stack):
    url = f"redis://{stack.address('redis')}:6379/0"
    client = create_redis(ServiceSettings(redis_url=url))
    admin = redis.Redis.from_url(url)
    try:
        await client.set("reconnect-test", "kept", ex=60)
        assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1  # the pooled one is gone
        assert await client.get("reconnect-test") == "kept"
    finally:
        await client.aclose()
        await admin.aclose()
