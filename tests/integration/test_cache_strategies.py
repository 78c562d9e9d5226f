"""The caching strategies (chassis/cache_strategies.py) and write-behind (chassis/write_behind.py) on a
real Redis: the session's throwaway redis-server (conftest.py), so these run without the stack and in seconds.

Per strategy: the staleness bound it states (event invalidation: none after `written()`; TTL alone:
at most the TTL); the stampede lock lets one loader through for 100 concurrent misses (plain
cache-aside does not); refresh-ahead keeps a hot key warm across its expiry (read-through does not);
probabilistic early expiration refills before expiry; write-behind loses and doubles no event when
its flusher is SIGKILLed mid-batch or dies after its write."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as redis

from chassis.cache_strategies import (
    CACHE_ASIDE,
    NONE,
    READ_THROUGH,
    REFRESH_AHEAD,
    WRITE_THROUGH,
    strategies,
    with_stampede,
)
from chassis.versioned_cache import BYPASS, EARLY, EARLY_EXPIRATION, HIT, MISS, VersionedCache
from chassis.replicas import READ_PRIMARY
from chassis.write_behind import WriteBehindCounter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def client(redis_url):
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


class Table:
    """The database: one value per id, a write counter as the value, loads counted, optionally slow."""

    def __init__(self, delay: float = 0.0):
        self.rows: dict[object, str] = {}
        self.delay, self.loads = delay, 0
        self.from_primary: list[bool] = []  # per load: was it asked to read the primary (read-your-writes)?

    async def load(self, item_id: object) -> str | None:
        self.loads += 1
        self.from_primary.append(READ_PRIMARY.get())
        row = self.rows.get(item_id)  # the row as it is when the read starts
        await asyncio.sleep(self.delay)
        return row


def store(client, ttl_seconds: int = 60, **options) -> VersionedCache:
    return VersionedCache(client, name=f"t-{uuid.uuid4().hex[:8]}", ttl_seconds=ttl_seconds, wait_ms=3000, **options)


CACHING = [CACHE_ASIDE, READ_THROUGH, REFRESH_AHEAD, WRITE_THROUGH]


@pytest.mark.parametrize("name", CACHING)
async def test_after_a_write_every_strategy_serves_the_committed_value(client, name):
    table = Table()
    strategy = strategies(store(client), table.load)[name]
    table.rows[1] = "v1"
    assert await strategy.read(1) == ("v1", MISS)
    assert await strategy.read(1) == ("v1", HIT)
    table.rows[1] = "v2"  # the commit...
    await strategy.written(1)  # ...then the event
    value, source = await strategy.read(1)
    assert value == "v2"
    # write-through stored the fresh value: a hit; the others invalidated: one load
    assert source == (HIT if name == WRITE_THROUGH else MISS)


async def test_write_through_leaves_the_last_commit_cached_whatever_order_the_events_arrive_in(client):
    """Two writers of one row: A commits, then B; B's event comes first and A's late (A was slow).
    The cache must end with B's row (found live: a sold-out product cached with stock 1)."""
    table = Table()
    strategy = strategies(store(client), table.load)[WRITE_THROUGH]
    table.rows[1] = "stock 5"
    await strategy.read(1)
    table.rows[1] = "stock 1"  # A commits
    table.rows[1] = "stock 0"  # B commits
    await strategy.written(1)  # B's event
    await strategy.written(1)  # A's event, late
    assert await strategy.read(1) == ("stock 0", HIT)
    assert table.from_primary[-2:] == [True, True]  # written-through rows come from the primary


async def test_a_miss_right_after_an_invalidation_reads_the_primary(client):
    table = Table()
    cache = store(client)
    cache.marker_ms = 300
    strategy = strategies(cache, table.load)[CACHE_ASIDE]
    table.rows[1] = table.rows[2] = "v1"
    await strategy.read(1)
    await strategy.written(1)  # invalidated: a replica may not have the write yet
    await strategy.read(1)
    await strategy.read(2)  # never written: the replica is fine
    await strategy.written(2)
    await asyncio.sleep(0.4)  # the marker is gone: replicas have caught up by then
    await strategy.read(2)
    assert table.from_primary == [False, True, False, False]


@pytest.mark.parametrize("name", CACHING)
async def test_without_the_event_an_entry_is_at_most_its_ttl_old(client, name):
    table = Table()
    strategy = strategies(store(client, ttl_seconds=1), table.load)[name]
    table.rows[1] = "v1"
    await strategy.read(1)
    table.rows[1] = "v2"  # a write nobody told the cache about
    written = time.monotonic()
    while (await strategy.read(1))[0] != "v2":
        await asyncio.sleep(0.05)
    # TTL 1 s (Redis expires to the millisecond; refresh-ahead's background reload comes sooner)
    assert time.monotonic() - written < 1.5


async def test_none_always_reads_the_database(client):
    table = Table()
    strategy = strategies(store(client), table.load)[NONE]
    table.rows[1] = "v1"
    assert [await strategy.read(1) for _ in range(3)] == [("v1", BYPASS)] * 3
    assert table.loads == 3


async def test_the_stampede_lock_lets_one_loader_through_for_100_concurrent_misses(client):
    table = Table(delay=0.2)
    table.rows[1] = "hot"
    read_through = strategies(store(client), table.load)[READ_THROUGH]
    results = await asyncio.gather(*(read_through.read(1) for _ in range(100)))
    assert table.loads == 1
    assert [value for value, _ in results] == ["hot"] * 100
    assert sorted(source for _, source in results) == [HIT] * 99 + [MISS]


async def test_plain_cache_aside_has_no_guard_so_concurrent_misses_all_load(client):
    table = Table(delay=0.2)
    table.rows[1] = "hot"
    cache_aside = strategies(store(client), table.load)[CACHE_ASIDE]
    await asyncio.gather(*(cache_aside.read(1) for _ in range(100)))
    assert table.loads == 100  # what the lock above saves


async def read_for(strategy, seconds: float, every: float = 0.05) -> list[str]:
    sources = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sources.append((await strategy.read(1))[1])
        await asyncio.sleep(every)
    return sources


async def test_refresh_ahead_keeps_a_hot_key_warm_across_its_expiry(client):
    table = Table(delay=0.01)
    table.rows[1] = "hot"
    refresh_ahead = strategies(store(client, ttl_seconds=1), table.load, refresh_ahead=0.5)[REFRESH_AHEAD]
    sources = await read_for(refresh_ahead, 3.5)  # three and a half TTLs
    assert sources[0] == MISS
    assert set(sources[1:]) == {HIT}  # never a miss after the first: refreshed before each expiry
    assert table.loads >= 4  # one load, then a background reload per TTL


async def test_read_through_alone_misses_at_each_expiry(client):
    table = Table(delay=0.01)
    table.rows[1] = "hot"
    read_through = strategies(store(client, ttl_seconds=1), table.load)[READ_THROUGH]
    sources = await read_for(read_through, 3.5)
    assert sources[1:].count(MISS) >= 2  # what refresh-ahead removes


async def test_probabilistic_early_expiration_refills_a_hot_key_before_it_expires(client):
    table = Table(delay=0.1)
    table.rows[1] = "hot"
    early = with_stampede(strategies(store(client, ttl_seconds=1, early_beta=3.0), table.load)[READ_THROUGH],
                          EARLY_EXPIRATION)
    sources = await read_for(early, 3.5, every=0.02)
    assert sources[0] == MISS
    assert MISS not in sources[1:]  # some reader reloaded early (EARLY) each time, before the key was gone
    assert sources.count(EARLY) >= 2


# --------------------------------------------------------------------------------------------- write-behind
# The sink stands in for the database: one Lua script applies a batch exactly once, as the products
# flusher's transaction does with its applied-batches table (products/views.py).
APPLY_ONCE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

FLUSHER = """
import asyncio, sys
import redis.asyncio as redis
from chassis.write_behind import WriteBehindCounter

async def main(url, name):
    client = redis.Redis.from_url(url, decode_responses=True)
    counter = WriteBehindCounter(client, name=name)
    apply_once = client.register_script(sys.argv[3])

    async def sink(batch_id, counts):
        args = [batch_id] + [str(x) for item in counts.items() for x in item]
        return bool(await apply_once(keys=[name + ':applied', name + ':totals'], args=args))

    async def pause():
        print('claimed', flush=True)
        await asyncio.sleep(60)  # killed here, mid-batch

    await counter.flush(sink, owner='doomed', pause=pause)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def sink_for(client, name: str):
    apply_once = client.register_script(APPLY_ONCE)

    async def sink(batch_id: str, counts: dict[int, int]) -> bool:
        args = [batch_id] + [str(x) for item in counts.items() for x in item]
        return bool(await apply_once(keys=[f"{name}:applied", f"{name}:totals"], args=args))

    return sink


async def add_views(counter: WriteBehindCounter, events: dict[int, int], count: int, start: int) -> None:
    for n in range(start, start + count):
        item = n % 37  # a few dozen ids, unevenly
        await counter.add(item)
        events[item] = events.get(item, 0) + 1


async def totals(client, name: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in (await client.hgetall(f"{name}:totals")).items()}


async def test_write_behind_loses_nothing_when_its_flusher_is_sigkilled_mid_batch(client, redis_url):
    name = f"views-{uuid.uuid4().hex[:8]}"
    counter = WriteBehindCounter(client, name=name, reclaim_seconds=0.5)
    events: dict[int, int] = {}
    await add_views(counter, events, 1000, 0)
    flusher = subprocess.Popen([sys.executable, "-c", FLUSHER, redis_url, name, APPLY_ONCE], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                               stdout=subprocess.PIPE, text=True)
    assert flusher.stdout.readline().strip() == "claimed"
    flusher.send_signal(signal.SIGKILL)  # after the claim, before the write
    flusher.wait(10)
    assert await client.zcard(f"{name}:batches") == 1  # the batch it held is still there
    await add_views(counter, events, 500, 1000)  # views keep coming meanwhile
    assert await counter.backlog() == 1500
    await asyncio.sleep(0.6)  # the abandoned batch is older than reclaim_seconds
    sink = sink_for(client, name)
    assert await counter.flush(sink) == 1500  # the abandoned batch replayed, then the new one
    assert await totals(client, name) == events
    assert await counter.backlog() == 0
    assert await client.scard(f"{name}:applied") == 2  # 1500 events, 2 database writes


async def test_write_behind_doubles_nothing_when_its_flusher_dies_after_the_write(client):
    name = f"views-{uuid.uuid4().hex[:8]}"
    counter = WriteBehindCounter(client, name=name, reclaim_seconds=0.5)
    events: dict[int, int] = {}
    await add_views(counter, events, 300, 0)
    sink = sink_for(client, name)

    async def dies_after_commit(batch_id: str, counts: dict[int, int]) -> bool:
        await sink(batch_id, counts)
        raise ConnectionError("killed after the commit, before the release")

    with pytest.raises(ConnectionError):
        await counter.flush(dies_after_commit)
    await asyncio.sleep(0.6)
    assert await counter.flush(sink) == 0  # replayed: the applied batch id adds nothing
    assert await totals(client, name) == events
    assert await counter.backlog() == 0
