"""The analytics stream against a real Redis: aggregates equal a batch recomputation, duplicates
and redeliveries count once, late events land in their window or are counted late, a consumer
SIGKILLed mid-stream loses and doubles nothing, and co-purchases give the expected rules.

Runs on a database of its own (db 13) of the test stack's Redis, so the stack's own consumers
(database 0) never touch these keys. ANALYTICS_TEST_REDIS_URL points it elsewhere.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from analytics import batch, keys, queries
from analytics.consumer import Consumer
from analytics.recommendations import bought_together
from analytics.settings import AnalyticsSettings
from analytics.sketch import SketchShape
from analytics_support import append, drain, interaction_log

ROOT = Path(__file__).resolve().parents[2]
LATENESS_MS = 120_000


@pytest.fixture
def redis_url(request):
    if url := os.environ.get("ANALYTICS_TEST_REDIS_URL"):
        return url
    return f"redis://{request.getfixturevalue('stack').address('redis')}:6379/13"


@pytest.fixture
async def client(redis_url):
    connection = aioredis.Redis.from_url(redis_url)
    await connection.flushdb()
    yield connection
    await connection.aclose()


@pytest.fixture
def settings(redis_url):
    return AnalyticsSettings(events_redis_url=redis_url, events_stream=f"test:{uuid.uuid4().hex[:8]}",
                             consumer_block_ms=10, consumer_batch_size=150, consumer_claim_idle_ms=0, consumer_linger_ms=0,
                             allowed_lateness_seconds=LATENESS_MS // 1000)


async def assert_equal_to_batch(client, settings, events, now_ms):
    figures = batch.recompute(events, LATENESS_MS)
    reads = aioredis.Redis.from_url(settings.events_redis_url, decode_responses=True)
    for window in keys.WINDOWS:
        streamed = await queries.top_products(reads, window, 20, at_ms=now_ms)
        expected = figures.top(figures.products_per_minute, window, now_ms, 20)
        assert streamed == [(int(p), n) for p, n in expected], window
        assert await queries.top_searches(reads, window, 20, at_ms=now_ms) == \
            figures.top(figures.searches_per_minute, window, now_ms, 20)
    for day in {keys.day(e["ts"]) for e in events}:
        assert await queries.searches_without_results(reads, day, 50) == \
            sorted(figures.no_results[day].items(), key=lambda kv: (-kv[1], kv[0]))
        stages = {s["stage"]: s["count"] for s in await queries.funnel(reads, day)}
        assert stages == {stage: len(figures.funnel[(day, stage)]) for stage in keys.FUNNEL_STAGES}
        agents = await queries.agents(reads, day)
        for facet, name in (("browser", "browsers"), ("os", "os"), ("device", "devices")):
            assert agents[name] == dict(figures.agents[(day, facet)])
        true_visitors = len(figures.visitors[day])
        # HyperLogLog: standard error 0.81%; three of them is the bound asserted.
        assert abs(await queries.unique_visitors(reads, day) - true_visitors) <= 3 * 0.0081 * true_visitors + 1
    metadata = await queries.event_types(reads)
    assert {t: m["count"] for t, m in metadata.items() if t != "_invalid"} == dict(figures.counts_per_type)
    assert sum(m["duplicates"] for m in metadata.values()) == figures.duplicates
    assert sum(m["late"] for m in metadata.values()) == figures.late
    # Count-Min: never under, never over by more than epsilon * N (per hour table).
    shape = SketchShape(settings.sketch_epsilon, settings.sketch_delta)
    checked = 0
    for (hour, kind), true_counts in figures.sketch_counts.items():
        total = int(await reads.get(keys.sketch_total(hour)))
        assert total == sum(figures.sketch_counts[(hour, k)].total() for k in ("products", "searches")
                            if (hour, k) in figures.sketch_counts)
        for item, true in true_counts.items():
            estimate = await queries.sketch_estimate(reads, shape, kind, item, hour)
            assert true <= estimate <= true + shape.error_bound(total), (kind, item)
            checked += 1
    assert checked > 50
    await reads.aclose()
    return figures


async def test_aggregates_equal_a_batch_recomputation(client, settings):
    now_ms = int(time.time() * 1000)
    events = interaction_log(3000, now_ms)
    await append(client, settings.events_stream, events)
    # Two consumers of the group share the entries, as in the stack.
    await drain(Consumer(client, settings, "c1"), Consumer(client, settings, "c2"), now_ms=now_ms)
    figures = await assert_equal_to_batch(client, settings, events, now_ms)
    assert figures.duplicates == 300 and figures.late == 0


async def test_duplicates_and_redeliveries_are_counted_once(client, settings):
    now_ms = int(time.time() * 1000)
    events = interaction_log(600, now_ms, seed=7, span_minutes=4)
    await append(client, settings.events_stream, events)
    first, second = Consumer(client, settings, "first"), Consumer(client, settings, "second")
    await first.ensure_group()
    delivered = await first.next_batch()   # delivered to `first`, which "dies" before applying them
    assert delivered
    await drain(second, now_ms=now_ms)      # `second` takes them over (claim idle 0) and applies all
    counts = await second.apply(delivered, now_ms=now_ms)  # a redelivery of an applied batch
    assert counts[0] == 0 and counts[1] == len([e for e in delivered if e[1]])
    assert (await client.xpending(settings.events_stream, settings.events_group))["pending"] == 0
    figures = batch.recompute(events, LATENESS_MS)
    metadata = await queries.event_types(aioredis.Redis.from_url(settings.events_redis_url, decode_responses=True))
    assert sum(m["count"] for m in metadata.values()) == figures.applied == 600


async def test_late_events_land_in_their_window_or_are_counted_late(client, settings):
    now_ms = int(time.time() * 1000)
    now_minute = keys.minute(now_ms)
    on_time = [{"id": f"a{i}", "type": "product_view", "ts": now_ms, "session": "s", "product": 1} for i in range(3)]
    # 100 s behind the newest event: within the allowed 120 s, it counts in its own (earlier) minute.
    within = {"id": "w", "type": "product_view", "ts": now_ms - 100_000, "session": "s", "product": 2}
    # 10 minutes behind: beyond the lateness, counted as late, in no window.
    beyond = {"id": "b", "type": "product_view", "ts": now_ms - 600_000, "session": "s", "product": 3}
    await append(client, settings.events_stream, on_time)
    await drain(Consumer(client, settings, "c1"), now_ms=now_ms)
    await append(client, settings.events_stream, [within, beyond])
    await drain(Consumer(client, settings, "c1"), now_ms=now_ms)
    assert await client.zscore(keys.products(keys.minute(within["ts"])), "2") == 1
    assert keys.minute(within["ts"]) < now_minute
    assert await client.zscore(keys.products(keys.minute(beyond["ts"])), "3") is None
    assert int(await client.hget(keys.metadata("product_view"), "late")) == 1
    assert int(await client.hget(keys.metadata("product_view"), "count")) == 4


async def test_a_consumer_killed_mid_stream_loses_and_doubles_nothing(client, settings):
    now_ms = int(time.time() * 1000)
    events = interaction_log(6000, now_ms, seed=11, span_minutes=30)
    await append(client, settings.events_stream, events)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "EVENTS_REDIS_URL": settings.events_redis_url,
           "EVENTS_STREAM": settings.events_stream, "CONSUMER_BATCH_SIZE": "50", "CONSUMER_BLOCK_MS": "50",
           "ALLOWED_LATENESS_SECONDS": str(LATENESS_MS // 1000), "REPLICA_NAME": "killed",
           "METRICS_ADDRESS": "127.0.0.1:0"}
    kills = 0
    for _ in range(6):  # start, let it work a moment, SIGKILL it wherever it is
        process = subprocess.Popen([sys.executable, "-m", "analytics.consumer"], env=env, cwd=ROOT)
        await asyncio.sleep(1.5)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        info = await client.xinfo_groups(settings.events_stream)
        if info and info[0]["lag"] == 0 and info[0]["pending"] == 0:
            break
    # Whatever was left pending by the last kill is taken over by another consumer.
    await drain(Consumer(client, settings, "survivor"), now_ms=now_ms)
    info = (await client.xinfo_groups(settings.events_stream))[0]
    assert info["pending"] == 0 and info["lag"] == 0 and kills >= 1
    await assert_equal_to_batch(client, settings, events, now_ms)


async def test_recommendations_from_a_known_co_purchase_set(client, settings):
    baskets = [[1, 2], [1, 2], [1, 2, 3], [1, 3], [2, 3], [4], [1, 2, 4], [5, 6]]
    events = [{"id": f"order_placed:{n}", "type": "order_placed", "ts": int(time.time() * 1000),
               "session": f"s{n}", "order": n, "items": items} for n, items in enumerate(baskets)]
    await append(client, settings.events_stream, events + events[:2])  # two replays: no effect
    await drain(Consumer(client, settings, "c1"))
    rules = await bought_together(client, 1, min_support=0.2, min_confidence=0.3)
    # Orders with 1: 5; with 1 and 2: 4; with 1 and 3: 2; with 1 and 4: 1 (support 1/8 < 0.2).
    assert [(r.product_id, r.orders_together, r.support, r.confidence) for r in rules] == [
        (2, 4, 0.5, 0.8), (3, 2, 0.25, 0.4)]
    assert rules[0].lift == round(0.8 / (5 / 8), 4)
    assert await bought_together(client, 5, min_support=0.2, min_confidence=0.3) == []  # 1 of 8 orders
    assert [r.product_id for r in await bought_together(client, 5, min_support=0.1, min_confidence=0.3)] == [6]


async def test_a_consumer_makes_its_group_again_when_redis_comes_back_empty(client, settings):
    # The stream lives on the cache Redis, which keeps nothing on disk: after a crash the stream and
    # its consumer group are gone, and XREADGROUP answers NOGROUP until the group exists again.
    consumer = Consumer(client, settings, "survivor")
    stopping = asyncio.Event()
    running = asyncio.create_task(consumer.run(stopping))
    try:
        await asyncio.sleep(0.5)  # consuming
        await client.delete(settings.events_stream)  # what a restart of the cache Redis leaves
        await asyncio.sleep(0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not await client.exists(settings.events_stream):
            await asyncio.sleep(0.1)
        groups = await client.xinfo_groups(settings.events_stream)
        assert [group["name"].decode() for group in groups] == [settings.events_group]
        events = interaction_log(200, int(time.time() * 1000), seed=5, span_minutes=5)
        await append(client, settings.events_stream, events)
        while time.monotonic() < deadline + 10:
            info = (await client.xinfo_groups(settings.events_stream))[0]
            if info["lag"] == 0 and info["pending"] == 0:
                break
            await asyncio.sleep(0.1)
        assert info["lag"] == 0 and info["pending"] == 0  # and it consumes again
    finally:
        stopping.set()
        await asyncio.wait_for(running, timeout=10)
