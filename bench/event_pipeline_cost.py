"""CPU per analytics event, hop by hop, on a throwaway Redis (no stack needed):

    python -m bench.event_pipeline_cost [EVENTS]

The producer (chassis.event_stream: make_event + emit + the flush script) and the consumer
(analytics.consumer: read, prepare, one apply script per batch) run in this process, so
time.process_time() is their CPU; Redis's own CPU is read from INFO before and after each half.
Prints microseconds per event for each: what scenario 10's overhead is made of.
"""

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import redis
import redis.asyncio as aioredis

from analytics.consumer import Consumer
from analytics.prepare import agent_families
from analytics.settings import AnalyticsSettings
from chassis.event_stream import EventEmitter, make_event

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from redis_server import redis_server  # noqa: E402  (the tests' throwaway redis-server)

AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


async def measure(url: str, events: int) -> dict[str, float]:
    admin, client = redis.Redis.from_url(url), aioredis.Redis.from_url(url)
    emitter = EventEmitter(client, service="bench", stream="events", maxlen=events * 2, buffer_size=events,
                           flush_seconds=1)
    rng = random.Random(1)
    agent_families(AGENT)  # ua-parser compiles its rules on first use: not a per-event cost
    redis_before, before = redis_cpu(admin), time.process_time()
    for _ in range(events):
        emitter.emit(make_event("product_view", session=f"s{rng.randrange(3000)}", user_agent=AGENT,
                                request_id="r", product=min(int(rng.paretovariate(1.1)), 300)))
        if len(emitter.buffer) >= 100:  # a gateway flushes every few ms: batches of tens to hundreds
            await emitter.flush()
    await emitter.flush()
    produced, redis_produced = time.process_time(), redis_cpu(admin)
    consumer = Consumer(client, AnalyticsSettings(events_stream="events", events_redis_url=url,
                                                  consumer_linger_ms=0), name="bench")
    await consumer.ensure_group()
    applied = 0
    while applied < events:
        applied += await consumer.run_once()
    consumed, redis_consumed = time.process_time(), redis_cpu(admin)
    await client.aclose()
    per_event = 1e6 / events
    return {"producer (Python)": (produced - before) * per_event,
            "producer (Redis)": (redis_produced - redis_before) * per_event,
            "consumer (Python)": (consumed - produced) * per_event,
            "consumer (Redis, apply.lua)": (redis_consumed - redis_produced) * per_event}


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
    with tempfile.TemporaryDirectory() as directory, redis_server(Path(directory)) as url:
        figures = asyncio.run(measure(url, events))
    for hop, micros in figures.items():
        print(f"{hop:30s} {micros:6.1f} µs/event")
    print(f"{'total':30s} {sum(figures.values()):6.1f} µs/event")


if __name__ == "__main__":
    main()
