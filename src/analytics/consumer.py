"""The stream processor: one process of the consumer group "analytics" (run several to scale out).

Delivery is at-least-once (Redis Streams consumer groups); the *effect* is exactly-once:

1. At start, a consumer first re-reads its own pending entries (id 0: delivered to it
   before a crash, never acknowledged), then takes over entries left pending by a dead
   member of the group for longer than `CONSUMER_CLAIM_IDLE_MS` (XAUTOCLAIM), then reads
   new ones (`>`), blocking up to `CONSUMER_BLOCK_MS`.
2. A batch is prepared in Python (analytics.prepare: user agents, sketch cells) and applied
   *with its acknowledgement* in one Lua script (analytics/apply.lua): killed before the
   script, the batch stays pending and is redelivered; killed after, it is done. The
   event-id marker inside the same script drops producer duplicates and redeliveries.
3. Late events: the script keeps a watermark (newest event time seen); an event older
   than watermark - `ALLOWED_LATENESS_SECONDS` is counted as late, not put in a window.

Run it: `python -m analytics.consumer` (compose service analytics-consumer; metrics on
METRICS_ADDRESS). Several processes with different REPLICA_NAMEs share the group's entries.
"""

import asyncio
import math
import signal
import time
from pathlib import Path

import orjson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError

from analytics import keys, metrics
from analytics.prepare import prepare
from analytics.settings import AnalyticsSettings, get_settings
from analytics.sketch import SketchShape
from chassis.logs import configure_logging

SCRIPT = (Path(__file__).parent / "apply.lua").read_text()
log = structlog.get_logger("analytics.consumer")
# Event ids are remembered in 30-minute sets: an hour of memory is checked in 3 sets per batch
# (10-minute sets made it 7 SMISMEMBERs, a fifth of the script's time).
DEDUP_BUCKET_MS = 1_800_000


class Consumer:
    def __init__(self, client: aioredis.Redis, settings: AnalyticsSettings, name: str | None = None) -> None:
        self.client, self.settings = client, settings
        self.name = name or settings.replica_name
        self.stream, self.group = settings.events_stream, settings.events_group
        self.shape = SketchShape(settings.sketch_epsilon, settings.sketch_delta)
        self.script = client.register_script(SCRIPT)
        self.window_ttl = 3600 + settings.allowed_lateness_seconds + 120
        self.day_ttl = 2 * 86_400
        self.own_pending_done = False
        self.claim_cursor = "0-0"
        self.next_claim = 0.0  # XAUTOCLAIM at most every claim-idle / 4: not a round trip per batch

    async def ensure_group(self) -> None:
        """Create the group at the stream's start (id 0): on first start nothing retained is skipped."""
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _recreate_group(self) -> None:
        try:
            await self.ensure_group()
        except RedisError as error:
            log.warning("stream unavailable", error=type(error).__name__)
            await asyncio.sleep(1)
            return
        self.own_pending_done, self.claim_cursor = False, "0-0"

    async def next_batch(self) -> list[tuple[bytes, dict]]:
        count = self.settings.consumer_batch_size
        if not self.own_pending_done:  # entries delivered to this name before a restart
            reply = await self.client.xreadgroup(self.group, self.name, {self.stream: "0"}, count=count)
            entries = reply[0][1] if reply else []
            if entries:
                return entries
            self.own_pending_done = True
        if time.monotonic() >= self.next_claim:
            cursor, claimed, *_ = await self.client.xautoclaim(
                self.stream, self.group, self.name, self.settings.consumer_claim_idle_ms,
                start_id=self.claim_cursor, count=count)
            self.claim_cursor = cursor
            if claimed:
                metrics.CLAIMED.inc(len(claimed))
                return claimed  # and look again next time: there may be more
            self.next_claim = time.monotonic() + self.settings.consumer_claim_idle_ms / 4000
        reply = await self.client.xreadgroup(self.group, self.name, {self.stream: ">"}, count=count,
                                             block=self.settings.consumer_block_ms)
        return reply[0][1] if reply else []

    async def apply(self, entries: list[tuple[bytes, dict]], now_ms: int | None = None) -> list[int]:
        """Prepare and apply one batch with its acknowledgement; returns applied/duplicate/late/invalid."""
        s = self.settings
        args: list = [self.group, s.allowed_lateness_seconds * 1000, self.window_ttl, self.day_ttl,
                      s.heavy_hitters_kept, now_ms or int(time.time() * 1000), DEDUP_BUCKET_MS,
                      math.ceil(s.dedup_seconds * 1000 / DEDUP_BUCKET_MS) + 1, self.shape.width, self.shape.depth]
        rows = [prepare(entry_id, fields) for entry_id, fields in entries]
        event_times = [row[3] for row in rows if row[3]]
        counts = await self.script(keys=[self.stream], args=[*args, orjson.dumps(rows)])
        metrics.observe_batch(counts, event_times, time.time())
        return counts

    async def run_once(self) -> int:
        entries = await self.next_batch()
        if entries:
            await self.apply(entries)
            if len(entries) < self.settings.consumer_batch_size and self.settings.consumer_linger_ms:
                await asyncio.sleep(self.settings.consumer_linger_ms / 1000)  # let the next batch fill
        return len(entries)

    async def run(self, stopping: asyncio.Event) -> None:
        await self.ensure_group()
        log.info("consuming", stream=self.stream, group=self.group, consumer=self.name)
        while not stopping.is_set():
            try:
                await self.run_once()
                metrics.HEARTBEAT.set_to_current_time()
            except RedisError as error:
                metrics.ERRORS.inc()
                if isinstance(error, ResponseError) and "NOGROUP" in str(error):
                    # The stream's Redis came back empty (the cache Redis keeps nothing on disk): the group
                    # went with the stream. Make it again, or this consumer would wait for it forever.
                    log.warning("consumer group gone; creating it again", stream=self.stream, group=self.group)
                    await self._recreate_group()
                    continue
                log.warning("stream unavailable", error=type(error).__name__)  # Redis away: the entries stay pending
                self.own_pending_done = False  # the failed batch is still ours: read it again first
                await asyncio.sleep(1)


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.service_name, settings.replica_name, settings.log_level)
    client = aioredis.Redis.from_url(settings.events_redis_url or settings.redis_url,
                                     socket_timeout=settings.consumer_block_ms / 1000 + 5)
    consumer = Consumer(client, settings)
    metrics.serve(settings.metrics_address, client, settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    probes = asyncio.create_task(metrics.probe_forever(client, settings, stopping))
    await consumer.run(stopping)
    probes.cancel()
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
