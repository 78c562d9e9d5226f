"""Cache metrics (seed: caching): hit ratio per cache, writes, invalidations, stampede-guard waits."""

from prometheus_client import Counter

CACHE_REQUESTS = Counter("cache_requests_total", "Cache lookups by result (hit|miss)", ["cache", "result"])
CACHE_SETS = Counter("cache_sets_total", "Values written to the cache", ["cache"])
CACHE_INVALIDATIONS = Counter("cache_invalidations_total", "Cache entries invalidated", ["cache"])
CACHE_STAMPEDE_WAITS = Counter(
    "cache_stampede_waits_total", "Requests that waited for another request to refill a hot key", ["cache"]
)
