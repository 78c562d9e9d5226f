"""What the consumer shows Prometheus: throughput, outcome per event, end-to-end lag, and the
stream's length, the group's pending entries and lag (entries not yet delivered) and memory.

End-to-end lag is measured per event as (time applied - time emitted): it includes the
producer's flush interval, the time in the stream and the batch. The stream figures are
probed every few seconds by each consumer (labelled by consumer), so they are still reported
when the group falls behind, which is when they matter (alert AnalyticsLagHigh).
"""

import asyncio

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from redis.exceptions import RedisError

PROCESSED = Counter("analytics_events_processed_total", "Stream entries processed, by outcome", ["outcome"])
LAG = Histogram("analytics_event_lag_seconds", "From emit to applied, per event",
                buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0))
CLAIMED = Counter("analytics_consumer_claimed_total", "Entries taken over from a consumer presumed dead")
ERRORS = Counter("analytics_consumer_errors_total", "Loop iterations that failed on Redis")
HEARTBEAT = Gauge("analytics_consumer_heartbeat_timestamp_seconds", "Last completed loop of the consumer")
STREAM_LENGTH = Gauge("analytics_stream_length", "Entries in the stream (bounded by MAXLEN ~)")
STREAM_MEMORY = Gauge("analytics_stream_memory_bytes", "Memory the stream takes in Redis")
GROUP_PENDING = Gauge("analytics_group_pending", "Entries delivered to a consumer and not yet acknowledged")
GROUP_LAG = Gauge("analytics_group_lag", "Entries in the stream not yet delivered to the group")
OUTCOMES = ("applied", "duplicate", "late", "invalid")


def observe_batch(counts: list[int], event_times_ms: list[int], now: float) -> None:
    for outcome, count in zip(OUTCOMES, counts):
        if count:
            PROCESSED.labels(outcome).inc(count)
    for ts in event_times_ms:
        LAG.observe(max(0.0, now - ts / 1000))


async def probe(client: aioredis.Redis, stream: str, group: str) -> None:
    STREAM_LENGTH.set(await client.xlen(stream))
    STREAM_MEMORY.set(await client.memory_usage(stream) or 0)
    for info in await client.xinfo_groups(stream):
        if info["name"] in (group, group.encode()):
            GROUP_PENDING.set(info["pending"])
            GROUP_LAG.set(info.get("lag") or 0)


async def probe_forever(client: aioredis.Redis, settings, stopping: asyncio.Event, every: float = 5.0) -> None:
    while not stopping.is_set():
        try:
            await probe(client, settings.events_stream, settings.events_group)
        except RedisError:
            pass  # the loop counts Redis errors; the gauges keep their last value
        await asyncio.sleep(every)


def serve(address: str, *_) -> None:
    host, _, port = address.rpartition(":")
    for outcome in OUTCOMES:
        PROCESSED.labels(outcome)  # every series exists from the start (rate() over zero works)
    start_http_server(int(port), addr=host or "0.0.0.0")
