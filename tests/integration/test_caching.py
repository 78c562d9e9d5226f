"""chassis.versioned_cache against the real Redis of the test stack: cache-aside, versioned
invalidation, write-through, negative caching, the stampede guard, and a Redis outage."""

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from chassis.versioned_cache import BYPASS, HIT, MISS, VersionedCache
from chassis.metrics.cache import CACHE_STAMPEDE_WAITS

pytestmark = pytest.mark.stack


@pytest.fixture
async def client(stack):
    connection = redis.Redis(host=stack.address("redis"), port=6379, decode_responses=True)
    yield connection
    await connection.aclose()


@pytest.fixture
def cache(client):
    return VersionedCache(client, name=f"test-{uuid.uuid4().hex[:8]}", ttl_seconds=60, wait_ms=2000)


class Source:
    """A stand-in for the database: counts loads, optionally slow."""

    def __init__(self, value: str | None, delay: float = 0.0):
        self.value, self.delay, self.loads = value, delay, 0

    async def load(self) -> str | None:
        self.loads += 1
        await asyncio.sleep(self.delay)
        return self.value


async def test_a_miss_loads_and_fills_then_reads_hit(cache, client):
    source = Source('{"price": 1}')
    assert await cache.get_or_load(7, source.load) == ('{"price": 1}', MISS)
    assert await cache.get_or_load(7, source.load) == ('{"price": 1}', HIT)
    assert source.loads == 1
    assert 0 < await client.ttl(await cache.key(7)) <= 60


async def test_invalidation_bumps_the_version_so_the_next_read_loads_again(cache, client):
    source = Source("old")
    await cache.get_or_load(7, source.load)
    old_key = await cache.key(7)
    await cache.invalidate(7)
    assert await cache.key(7) != old_key
    assert not await client.exists(old_key)
    source.value = "new"
    assert await cache.get_or_load(7, source.load) == ("new", MISS)


async def test_a_slow_reader_cannot_put_back_a_value_from_before_a_write(cache):
    source = Source("before the write", delay=0.3)
    slow_read = asyncio.create_task(cache.get_or_load(7, source.load))
    await asyncio.sleep(0.1)  # the reader has loaded the old row and not stored it yet
    await cache.replace(7, "after the write")
    assert await slow_read == ("before the write", MISS)  # it answers its own caller with what it read...
    assert await cache.get_or_load(7, Source("unused").load) == ("after the write", HIT)  # ...but caches nothing


async def test_absent_items_are_cached_too(cache):
    source = Source(None)
    assert await cache.get_or_load(404, source.load) == (None, MISS)
    assert await cache.get_or_load(404, source.load) == (None, HIT)
    assert source.loads == 1
    await cache.replace(404, "created")
    assert await cache.get_or_load(404, source.load) == ("created", HIT)


async def test_a_stampede_on_a_cold_key_loads_once(cache):
    source = Source("hot", delay=0.2)
    waits_before = CACHE_STAMPEDE_WAITS.labels(cache.name)._value.get()
    results = await asyncio.gather(*(cache.get_or_load(1, source.load) for _ in range(30)))
    assert source.loads == 1
    assert {value for value, _ in results} == {"hot"}
    assert sorted(where for _, where in results) == [HIT] * 29 + [MISS]
    assert CACHE_STAMPEDE_WAITS.labels(cache.name)._value.get() - waits_before == 29


async def test_waiters_load_for_themselves_when_the_refill_outlasts_the_wait(client):
    cache = VersionedCache(client, name=f"test-{uuid.uuid4().hex[:8]}", ttl_seconds=60, wait_ms=100)
    source = Source("slow", delay=0.5)
    results = await asyncio.gather(*(cache.get_or_load(1, source.load) for _ in range(3)))
    assert [value for value, _ in results] == ["slow"] * 3
    assert source.loads == 3  # slower than the guard allows: degraded to plain cache-aside, not to errors


async def test_a_redis_outage_reads_through_to_the_source():
    unreachable = redis.Redis(host="127.0.0.1", port=1, decode_responses=True, socket_connect_timeout=0.2)
    cache = VersionedCache(unreachable, name="test-outage", ttl_seconds=60)
    source = Source("from the database")
    assert await cache.get_or_load(1, source.load) == ("from the database", BYPASS)
    await cache.replace(1, "written")  # a committed write is not failed by the cache
    await unreachable.aclose()
