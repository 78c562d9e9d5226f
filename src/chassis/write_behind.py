"""Write-behind counters: events counted in Redis now, written to the database later in batches
(seed: "Caching Strategies", write-behind / write-back).

A request records an event with one HINCRBY on a pending hash (no database work); a flusher
turns many events into one database transaction per batch. The database sees a write per batch
instead of one per event; the price is a window in which the database is behind (the flush
interval) and a buffer that must not lose what it holds.

Nothing is lost when the flusher dies, anywhere, because a batch is *claimed* before it is
written and *released* only after its transaction committed:

    claim   (Lua, atomic)  RENAME  NAME:pending -> NAME:batch:<id>;  ZADD NAME:batches <now> <id>
    write   (database)     one transaction: INSERT the batch id into a table of applied batches
                           (primary key), and only if it was new, add the counts
    release (Lua, atomic)  DEL NAME:batch:<id>;  ZREM NAME:batches <id>

New events go to a fresh pending hash from the moment of the RENAME. A flusher killed after the
claim leaves the batch in NAME:batches; the next flush (of any flusher) that finds a batch older
than `reclaim_seconds` writes it again. If the first transaction had committed, the batch id is
already in the applied table and the replay adds nothing (`replayed`); if not, it adds the counts
now. Either way every event lands exactly once. Two flushers replaying the same batch at once are
serialised by that primary key. The sink (what "write" means) is the caller's: `Sink`.

The buffer belongs in a Redis that keeps what it is given: the queue Redis (AOF every second,
noeviction). There the loss window is the AOF's: a crash of that Redis loses at most the last
second of events; an LRU cache Redis could evict a pending hash under memory pressure.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
import structlog

from chassis.metrics.cache import WRITE_BEHIND_BACKLOG, WRITE_BEHIND_BATCHES, WRITE_BEHIND_EVENTS, WRITE_BEHIND_FLUSHED

# A sink applies one batch idempotently: returns True if it applied it, False if the batch id was already applied.
Sink = Callable[[str, dict[int, int]], Awaitable[bool]]

# KEYS: pending, batch, batches; ARGV: batch id, now (ms). 1 if a batch was claimed, 0 if nothing was pending.
CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""
# KEYS: batch, batches; ARGV: batch id.
RELEASE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

log = structlog.get_logger("write_behind")


class WriteBehindCounter:
    """Per-id counters buffered in Redis and flushed in claimed, idempotent batches."""

    def __init__(self, client: redis.Redis, *, name: str, reclaim_seconds: float = 10.0):
        self.client = client
        self.name = name
        self.pending_key = f"{name}:pending"
        self.batches_key = f"{name}:batches"
        self.reclaim_seconds = reclaim_seconds
        self.claim_script = client.register_script(CLAIM)
        self.release_script = client.register_script(RELEASE)

    def batch_key(self, batch_id: str) -> str:
        return f"{self.name}:batch:{batch_id}"

    async def add(self, item_id: int, amount: int = 1) -> None:
        """Record events: one HINCRBY, no database work (raises RedisError: the caller decides)."""
        await self.client.hincrby(self.pending_key, str(item_id), amount)
        WRITE_BEHIND_EVENTS.labels(self.name).inc(amount)

    async def backlog(self) -> int:
        """Events not yet written: the pending hash plus every claimed, unreleased batch."""
        keys = [self.pending_key] + [self.batch_key(b) for b in await self.client.zrange(self.batches_key, 0, -1)]
        total = 0
        for key in keys:
            total += sum(int(n) for n in await self.client.hvals(key))
        return total

    async def flush(self, sink: Sink, *, owner: str = "", pause: Callable[[], Awaitable[None]] | None = None) -> int:
        """Replay abandoned batches, then claim and write what is pending; the number of events applied.

        `pause` runs between the claim and the write: the fault injection point the crash test uses."""
        applied = 0
        stale_before = (time.time() - self.reclaim_seconds) * 1000
        for batch_id in await self.client.zrangebyscore(self.batches_key, "-inf", stale_before):
            log.warning("replaying an abandoned write-behind batch", buffer=self.name, batch=batch_id)
            applied += await self._write(batch_id, sink)
        WRITE_BEHIND_BACKLOG.labels(self.name).set(await self.backlog())
        batch_id = f"{owner}{'-' if owner else ''}{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}"
        claimed = await self.claim_script(keys=[self.pending_key, self.batch_key(batch_id), self.batches_key],
                                          args=[batch_id, int(time.time() * 1000)])
        if not claimed:
            return applied
        if pause is not None:
            await pause()
        return applied + await self._write(batch_id, sink)

    async def _write(self, batch_id: str, sink: Sink) -> int:
        counts = {int(item): int(n) for item, n in (await self.client.hgetall(self.batch_key(batch_id))).items()}
        fresh = await sink(batch_id, counts) if counts else False
        await self.release_script(keys=[self.batch_key(batch_id), self.batches_key], args=[batch_id])
        events = sum(counts.values())
        WRITE_BEHIND_BATCHES.labels(self.name, "applied" if fresh else "replayed").inc()
        if fresh:
            WRITE_BEHIND_FLUSHED.labels(self.name).inc(events)
        return events if fresh else 0


async def flush_forever(counter: WriteBehindCounter, sink: Sink, *, every_seconds: float, owner: str = "",
                        pause: Callable[[], Awaitable[None]] | None = None) -> None:
    """The flusher loop: a failed flush (database or Redis down) is logged and retried at the next tick."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await counter.flush(sink, owner=owner, pause=pause)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the batch stays claimed or pending: the next tick writes it
            log.warning("write-behind flush failed", buffer=counter.name, error=type(error).__name__)
