"""The caching strategies of the seeds as interchangeable parts over one store (seed: "Caching Strategies").

Every strategy answers the same two calls, so a resource switches strategy at run time (a flag):

    value, source = await strategy.read(item_id)      # source: HIT | MISS | EARLY | BYPASS
    await strategy.written(item_id)                   # after the database committed a write

and they share the store (chassis/versioned_cache.py: versioned keys, TTL, negative caching, the
stampede lock or probabilistic early expiration). What tells them apart:

| strategy      | on a read                                           | on a committed write            |
|---------------|-----------------------------------------------------|---------------------------------|
| cache-aside   | the *application* looks, loads on a miss and fills: | invalidate (bump the version)   |
|               | concurrent misses of one key each load (no guard)   |                                 |
| read-through  | the *cache* owns the loader and coalesces the       | invalidate                      |
|               | misses of a key into one load (the stampede lock)   |                                 |
| refresh-ahead | read-through, and a hit near its expiry reloads in  | invalidate                      |
|               | the background: a hot key never expires             |                                 |
| write-through | read-through                                        | load the row from the primary   |
|               |                                                     | and write it through            |
| none          | always the database (the baseline)                  | nothing                         |

Write-behind buffers *writes* rather than caching reads: it is chassis/write_behind.py.

Staleness bounds, stated per strategy (tests/integration/test_cache_strategies.py proves them on
a real Redis): with event invalidation every strategy serves the committed value to any read
that starts after `written()` returned (write-through loads the row after its invalidation, so
concurrent writers of one row leave the last commit cached, whichever event arrives last); with
TTL alone (a write that never called `written()`, e.g. another service's) an entry is at most
`ttl_seconds` old. Reading from a replica adds its lag to a fill made right after an
invalidation: a miss within the marker's 2 s reads the primary, and write-through loads the
row from the primary itself, so the next read is a hit.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chassis.versioned_cache import BYPASS, EARLY, EARLY_EXPIRATION, LOCK, MISS, NO_GUARD, VersionedCache
from chassis.metrics.cache import CACHE_LOADS, CACHE_READS, CACHE_WRITES

CACHE_ASIDE = "cache-aside"
READ_THROUGH = "read-through"
REFRESH_AHEAD = "refresh-ahead"
WRITE_THROUGH = "write-through"
NONE = "none"
STRATEGIES = (CACHE_ASIDE, READ_THROUGH, REFRESH_AHEAD, WRITE_THROUGH, NONE)
STAMPEDE_PROTECTIONS = (LOCK, EARLY_EXPIRATION)

ItemLoader = Callable[[object], Awaitable[str | None]]


@dataclass
class Strategy:
    """Read-through: the cache layer owns the loader (`load(item_id)`), callers only ask for an id."""

    store: VersionedCache
    load: ItemLoader
    stampede: str = LOCK
    name: str = READ_THROUGH
    refresh_ahead: float = 0.0  # share of the TTL at its end in which a hit reloads in the background

    async def read(self, item_id: object, part: str = "") -> tuple[str | None, str]:
        async def load() -> str | None:
            CACHE_LOADS.labels(self.store.name, self.name).inc()
            return await self.load(item_id)

        value, source = await self.store.get_or_load(item_id, load, part=part, stampede=self.stampede,
                                                     refresh_ahead=self.refresh_ahead, strategy=self.name)
        CACHE_READS.labels(self.store.name, self.name, source).inc()
        return value, source

    async def written(self, item_id: object) -> None:
        """Event invalidation: the next read loads the committed row (the old entry is orphaned by version)."""
        CACHE_WRITES.labels(self.store.name, self.name, "invalidate").inc()
        await self.store.invalidate(item_id)


class CacheAside(Strategy):
    """Cache-aside (lazy loading) as an application writes it: look, on a miss load and fill (SET NX).

    Nothing coalesces concurrent misses of one key: each loads (the seed's classic form, and the
    stampede the lock of read-through exists for). Probabilistic early expiration, which needs no
    coordination, still applies when chosen (`stampede="early"`)."""

    async def read(self, item_id: object, part: str = "") -> tuple[str | None, str]:
        async def load() -> str | None:
            CACHE_LOADS.labels(self.store.name, self.name).inc()
            return await self.load(item_id)

        stampede = EARLY_EXPIRATION if self.stampede == EARLY_EXPIRATION else NO_GUARD
        value, source = await self.store.get_or_load(item_id, load, part=part, stampede=stampede, strategy=self.name)
        CACHE_READS.labels(self.store.name, self.name, source).inc()
        return value, source


class WriteThrough(Strategy):
    """Read-through reads; a committed write stores the fresh row under the new version at once."""

    async def written(self, item_id: object) -> None:
        CACHE_WRITES.labels(self.store.name, self.name, "write-through").inc()
        CACHE_LOADS.labels(self.store.name, self.name).inc()
        await self.store.write_through(item_id, lambda: self.load(item_id))


class NoCache(Strategy):
    """The baseline: every read goes to the database, writes touch nothing."""

    async def read(self, item_id: object, part: str = "") -> tuple[str | None, str]:
        CACHE_LOADS.labels(self.store.name, self.name).inc()
        CACHE_READS.labels(self.store.name, self.name, BYPASS).inc()
        return await self.load(item_id), BYPASS

    async def written(self, item_id: object) -> None:
        # Another strategy may be switched back on later: its entries must not outlive this write.
        await self.store.invalidate(item_id)


def strategies(store: VersionedCache, load: ItemLoader, *, refresh_ahead: float = 0.2) -> dict[str, Strategy]:
    """Every strategy over one store and loader, by name: what a flag switches between."""
    return {
        CACHE_ASIDE: CacheAside(store, load, name=CACHE_ASIDE),
        READ_THROUGH: Strategy(store, load, name=READ_THROUGH),
        REFRESH_AHEAD: Strategy(store, load, name=REFRESH_AHEAD, refresh_ahead=refresh_ahead),
        WRITE_THROUGH: WriteThrough(store, load, name=WRITE_THROUGH),
        NONE: NoCache(store, load, name=NONE),
    }


def with_stampede(strategy: Strategy, stampede: str) -> Strategy:
    """The same strategy with the other stampede protection (a flag switches it too)."""
    if stampede == strategy.stampede:
        return strategy
    return type(strategy)(strategy.store, strategy.load, stampede=stampede, name=strategy.name,
                          refresh_ahead=strategy.refresh_ahead)


__all__ = ["CACHE_ASIDE", "READ_THROUGH", "REFRESH_AHEAD", "WRITE_THROUGH", "NONE", "STRATEGIES",
           "STAMPEDE_PROTECTIONS", "Strategy", "CacheAside", "WriteThrough", "NoCache", "strategies",
           "with_stampede", "MISS", "EARLY"]
