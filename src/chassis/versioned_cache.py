"""The cache store under every strategy: Redis, versioned keys, stampede protection (seed: "Stage 5: Caching Layer").

The strategies of the seeds (cache-aside, read-through, refresh-ahead, write-through) are
chassis/cache_strategies.py; this is what they share. A read looks in the cache first; on a
miss it loads from the database and writes the result back with a TTL. The database stays
the source of truth and the cache only ever holds copies that may be thrown away.

Invalidation, three layers deep:
  - TTL: every entry expires on its own, the backstop for anything the others miss.
  - version in the key: an entry lives under `NAME:vSCHEMA:ID:VERSION`, where VERSION is a
    per-id counter kept in Redis (`NAME:ver:ID`). Bumping SCHEMA (a code change to the cached
    shape) orphans every old entry at once; bumping VERSION orphans one id's entry.
  - event-based: a write, once committed, calls `invalidate(id)`, which bumps VERSION and
    deletes the old entry, or `replace(id, value)`, which also writes the fresh value under the
    new VERSION (write-through). This closes cache-aside's classic race: a slow reader that
    loaded the *old* row before the write and stores it after, stores it under the *old*
    version key, which no reader looks at any more; it simply expires. Readers fill with
    SET NX, so they never overwrite what a writer put there. `replace` matters when reads
    come from a replica: right after a write, a miss could read the replica before it has
    replayed the write and cache that stale row for a whole TTL.

Read-your-writes after an invalidation ("remote marker", Facebook's memcache paper, Nishtala et
al. 2013, section 5): an invalidation also sets a short-lived marker (`NAME:marker:ID`, `marker_ms`,
2 s). A miss that finds it refills from the primary (chassis/replicas.py READ_PRIMARY) instead of a
replica that may not have replayed the write yet: otherwise the next reader after a write could
cache the row from before it for a whole TTL. The marker travels in the same Lua round trip.

Absent ids are cached too (an empty string, "negative caching"), so a flood of requests
for ids that do not exist does not reach the database either.

Stampede guard: when a hot key expires, hundreds of requests would miss together and all
hit the database. Here the first one takes a short Redis lock (SET NX PX, via redis-py's
Lock) and refills; the others wait briefly, re-reading the key, and are served from the
cache (counted in `cache_stampede_waits_total`). If the refill takes longer than the wait,
a waiter loads for itself: the guard never turns a slow database into a failed request.

Probabilistic early expiration (XFetch, Vattani et al., "Optimal Probabilistic Cache Stampede
Prevention"), the lock's alternative (`stampede="early"`): a hit whose entry has `remaining`
seconds left is treated as a miss by this one request with probability growing as the expiry
nears, when `delta * beta * -ln(random()) >= remaining` (delta: this cache's recent load time).
One early reader refills before the entry is gone, so a hot key never expires under its
readers, with no lock and no waiting; a cold key still has a plain miss.

Refresh-ahead (`refresh_ahead=0.2`): a hit in the last 20% of its entry's TTL is answered from the
cache at once and schedules one background reload (guarded by a `:refresh` lock, so one per key),
which rewrites the entry with a fresh TTL. A key read at least once per fifth of its TTL never
expires; a key nobody reads expires as usual. The strategies that choose these options are in
chassis/cache_strategies.py.

A hit is one round trip: a small Lua script reads the id's version, the entry under it and its
remaining TTL together on the Redis server (measured: two sequential GETs made a hit ~20% dearer in CPU).

A cache that is down is a miss, not an error: Redis failures fall back to the loader.
"""

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
import structlog
from redis.exceptions import LockError, RedisError

from chassis.replicas import READ_PRIMARY
from chassis.metrics.cache import (
    CACHE_EARLY_REFRESHES,
    CACHE_SERVED_AGE,
    CACHE_INVALIDATIONS,
    CACHE_REFRESH_AHEAD,
    CACHE_REQUESTS,
    CACHE_SETS,
    CACHE_STAMPEDE_WAITS,
)

ABSENT = ""  # the cached answer "no such item"
HIT = "HIT"
MISS = "MISS"
BYPASS = "BYPASS"  # the cache was skipped (disabled, or Redis unavailable)
EARLY = "EARLY"  # a hit this request chose to reload early (probabilistic early expiration)
LOCK = "lock"  # stampede protection: one loader, the others wait
EARLY_EXPIRATION = "early"  # stampede protection: probabilistic early expiration
NO_GUARD = "none"  # no stampede protection: every concurrent miss loads (plain cache-aside)

Loader = Callable[[], Awaitable[str | None]]

# KEYS[1]: the version key, KEYS[2]: the marker key; ARGV[1]: the entry key up to its version, ARGV[2]: what
# follows the version. Returns {entry key, value or nil, remaining ms (PTTL; negative when absent), marker 0|1}.
READ_CURRENT_ENTRY = """
local entry_key = ARGV[1] .. (redis.call('GET', KEYS[1]) or '0') .. ARGV[2]
return {entry_key, redis.call('GET', entry_key), redis.call('PTTL', entry_key), redis.call('EXISTS', KEYS[2])}
"""
# KEYS[1]: the version key, KEYS[2]: the marker key; ARGV[1]: the entry key up to its version, ARGV[2]: the
# marker's life in ms. Bumps the version, marks the id, drops the old entry; returns the new version.
BUMP_VERSION = """
local version = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('DEL', ARGV[1] .. (version - 1))
return version
"""

log = structlog.get_logger("caching")


class VersionedCache:
    """The store: string values (usually JSON) keyed by id, with versioned keys, stampede protection,
    early expiration and refresh-ahead as options of a read."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        name: str,
        ttl_seconds: int,
        schema_version: int = 1,
        lock_ms: int = 1000,
        wait_ms: int = 1000,
        poll_ms: int = 20,
        early_beta: float = 1.0,
        marker_ms: int = 2000,
    ):
        self.client = client
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.schema_version = schema_version
        self.lock_seconds = lock_ms / 1000
        self.wait_seconds = wait_ms / 1000
        self.poll_seconds = poll_ms / 1000
        self.early_beta = early_beta
        self.marker_ms = marker_ms
        self.load_seconds: float | None = None  # XFetch's delta: a moving average of this cache's load times
        self.read_current_entry = client.register_script(READ_CURRENT_ENTRY)
        self.bump_version = client.register_script(BUMP_VERSION)
        self._refreshing: set[asyncio.Task] = set()  # background refreshes (kept referenced until done)

    def version_key(self, item_id: object) -> str:
        return f"{self.name}:ver:{item_id}"

    def marker_key(self, item_id: object) -> str:
        return f"{self.name}:marker:{item_id}"

    def entry_key(self, item_id: object, version: int | str, part: str = "") -> str:
        """`part` tells apart several entries of one id (a listing's pages); a version bump orphans them all."""
        return f"{self.name}:v{self.schema_version}:{item_id}:{version}" + (f":{part}" if part else "")

    async def key(self, item_id: object) -> str:
        """The key the current value of `item_id` lives under (its version read from Redis)."""
        version = await self.client.get(self.version_key(item_id))
        return self.entry_key(item_id, version or 0)

    async def lookup(self, item_id: object, part: str = "") -> tuple[str, str | None, float, bool]:
        """The key of the current entry, its value (None: not cached), its remaining seconds and whether the
        id was invalidated within `marker_ms`; one round trip. Raises RedisError: the caller decides."""
        key, cached, remaining_ms, marked = await self.read_current_entry(
            keys=[self.version_key(item_id), self.marker_key(item_id)],
            args=[self.entry_key(item_id, ""), f":{part}" if part else ""],
        )
        return key, cached, max(remaining_ms, 0) / 1000, bool(marked)

    async def get_or_load(self, item_id: object, load: Loader, *, part: str = "", stampede: str = LOCK,
                          refresh_ahead: float = 0.0, strategy: str = "cache-aside") -> tuple[str | None, str]:
        """The value of `item_id` and where it came from (HIT, MISS, EARLY or BYPASS); `load` returns None for "absent".

        `stampede`: LOCK (one loader, the others wait), EARLY_EXPIRATION (XFetch, no waiting) or NO_GUARD;
        `refresh_ahead`: the share of the TTL at the end of which a hit schedules a background reload (0: never)."""
        try:
            key, cached, remaining, marked = await self.lookup(item_id, part)
        except RedisError as error:
            log.warning("cache unavailable, reading through", cache=self.name, error=type(error).__name__)
            return await load(), BYPASS
        if cached is None:
            if not marked:
                return await self._refill(key, load, guarded=stampede == LOCK)
            token = READ_PRIMARY.set(True)  # written a moment ago: fill from the primary (read-your-writes)
            try:
                return await self._refill(key, load, guarded=stampede == LOCK)
            finally:
                READ_PRIMARY.reset(token)
        if stampede == EARLY_EXPIRATION and self._expires_early(remaining):
            CACHE_EARLY_REFRESHES.labels(self.name).inc()
            value = await self._timed(load)
            await self._store(key, ABSENT if value is None else value, only_if_absent=False)
            return value, EARLY
        if refresh_ahead and remaining < refresh_ahead * self.ttl_seconds:
            self._refresh_in_background(key, load)
        CACHE_REQUESTS.labels(self.name, "hit").inc()
        CACHE_SERVED_AGE.labels(self.name, strategy).observe(max(self.ttl_seconds - remaining, 0.0))
        return cached or None, HIT

    def _expires_early(self, remaining: float) -> bool:
        """XFetch: reload now with a probability that rises as the entry's expiry nears."""
        delta = self.load_seconds if self.load_seconds is not None else 0.005
        return delta * self.early_beta * -math.log(1.0 - random.random()) >= remaining

    async def _timed(self, load: Loader) -> str | None:
        began = time.monotonic()
        value = await load()
        took = time.monotonic() - began
        self.load_seconds = took if self.load_seconds is None else 0.8 * self.load_seconds + 0.2 * took
        return value

    def _refresh_in_background(self, key: str, load: Loader) -> None:
        task = asyncio.create_task(self._refresh(key, load))
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    async def _refresh(self, key: str, load: Loader) -> None:
        """Refresh-ahead: one reload per key (a `:refresh` lock), rewriting the entry with a full TTL.

        The key names the version it was read under: if a write bumped the version meanwhile, this
        rewrites the orphaned old entry, which no reader looks at (the race stays closed)."""
        lock = self.client.lock(f"{key}:refresh", timeout=self.lock_seconds, blocking=False)
        try:
            if not await lock.acquire():
                return  # another request or replica is refreshing this key already
        except RedisError:
            return
        try:
            value = await self._timed(load)
            await self._store(key, ABSENT if value is None else value, only_if_absent=False)
            CACHE_REFRESH_AHEAD.labels(self.name).inc()
        except Exception as error:  # a background refresh that fails leaves the entry to expire: a later miss
            log.warning("refresh-ahead failed", cache=self.name, error=type(error).__name__)
        finally:
            await _release(lock)

    async def _refill(self, key: str, load: Loader, *, guarded: bool = True) -> tuple[str | None, str]:
        lock = self.client.lock(f"{key}:lock", timeout=self.lock_seconds, blocking=False) if guarded else None
        try:
            leader = await lock.acquire() if lock is not None else True
        except RedisError:
            leader = True  # no lock service: refill without the guard rather than fail
            lock = None
        if not leader:
            CACHE_STAMPEDE_WAITS.labels(self.name).inc()
            cached = await self._wait_for(key)
            if cached is not None:
                CACHE_REQUESTS.labels(self.name, "hit").inc()
                return cached or None, HIT
        CACHE_REQUESTS.labels(self.name, "miss").inc()
        try:
            value = await self._timed(load)
            await self._store(key, ABSENT if value is None else value, only_if_absent=True)
            return value, MISS
        finally:
            if lock is not None and leader:
                await _release(lock)

    async def _wait_for(self, key: str) -> str | None:
        """Re-read `key` until the leader has stored it or the wait is over."""
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(self.poll_seconds)
            try:
                cached = await self.client.get(key)
            except RedisError:
                return None
            if cached is not None:
                return cached
        return None

    async def _store(self, key: str, value: str, *, only_if_absent: bool) -> None:
        try:
            await self.client.set(key, value, ex=self.ttl_seconds, nx=only_if_absent)
            CACHE_SETS.labels(self.name).inc()
        except RedisError as error:
            log.warning("cache write failed", cache=self.name, error=type(error).__name__)

    async def invalidate(self, item_id: object) -> None:
        """Event-based invalidation after a committed write: bump the id's version, drop its old entry."""
        await self._bump(item_id)

    async def replace(self, item_id: object, value: str | None) -> None:
        """Invalidate, then write the fresh value (None: "absent") through under the new version.

        For an item with one writer at a time (a user's own profile). Where writes of one item
        race, use `write_through`: two writers bump in either order, and a value read before its
        writer's bump may be older than the other writer's."""
        key = await self._bump(item_id)
        if key is not None:
            await self._store(key, ABSENT if value is None else value, only_if_absent=False)

    async def write_through(self, item_id: object, load: Loader) -> None:
        """Invalidate, then load the item from the primary and store it under the new version.

        Loading *after* the bump is what keeps concurrent writers of one item right: a writer's
        load sees every commit whose bump came before its own, and a commit whose bump comes later
        orphans this entry. Storing a value each writer read before bumping did not: after 20
        concurrent reservations of a product with 5 units, one replica went on serving stock 1 for
        a sold-out product (tests/e2e/test_products.py::test_concurrent_reservations_never_oversell)."""
        key = await self._bump(item_id)
        if key is None:
            return
        token = READ_PRIMARY.set(True)
        try:
            value = await load()
        finally:
            READ_PRIMARY.reset(token)
        await self._store(key, ABSENT if value is None else value, only_if_absent=False)

    async def _bump(self, item_id: object) -> str | None:
        try:
            version = await self.bump_version(keys=[self.version_key(item_id), self.marker_key(item_id)],
                                              args=[self.entry_key(item_id, ""), self.marker_ms])
        except RedisError as error:
            # The write is committed; the old entry now lives until its TTL. Say so loudly, don't fail the write.
            log.error("cache invalidation failed", cache=self.name, id=item_id, error=type(error).__name__)
            return None
        CACHE_INVALIDATIONS.labels(self.name).inc()
        return self.entry_key(item_id, version)


async def _release(lock) -> None:
    try:
        await lock.release()
    except (LockError, RedisError):
        pass  # it expired (the load outlived the lock) or Redis went away: the PX timeout cleans up
