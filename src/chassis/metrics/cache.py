"""Cache metrics (seed: caching): hit ratio per cache and strategy, loads from the database, the age of
what was served, writes, invalidations, stampede protection, refresh-ahead and write-behind backlog."""

from prometheus_client import Counter, Gauge, Histogram

CACHE_REQUESTS = Counter("cache_requests_total", "Cache lookups by result (hit|miss)", ["cache", "result"])
CACHE_SETS = Counter("cache_sets_total", "Values written to the cache", ["cache"])
CACHE_INVALIDATIONS = Counter("cache_invalidations_total", "Cache entries invalidated", ["cache"])
CACHE_STAMPEDE_WAITS = Counter(
    "cache_stampede_waits_total", "Requests that waited for another request to refill a hot key", ["cache"]
)
CACHE_EARLY_REFRESHES = Counter(
    "cache_early_refreshes_total", "Hits reloaded early by probabilistic early expiration (XFetch)", ["cache"]
)
CACHE_REFRESH_AHEAD = Counter(
    "cache_refresh_ahead_total", "Entries reloaded in the background before they expired (refresh-ahead)", ["cache"]
)

# Per strategy (chassis/cache_strategies.py), so switching the flag shows on the same panels.
CACHE_READS = Counter(
    "cache_reads_total", "Reads through a cache strategy by where the answer came from",
    ["cache", "strategy", "source"],  # source: HIT|MISS|EARLY|BYPASS
)
CACHE_LOADS = Counter(
    "cache_loads_total", "Loads from the database made by a cache strategy (misses, early and background reloads)",
    ["cache", "strategy"],
)
CACHE_WRITES = Counter(
    "cache_writes_total", "Committed writes a strategy applied to the cache, by how (invalidate|write-through)",
    ["cache", "strategy", "how"],
)
CACHE_SERVED_AGE = Histogram(
    "cache_served_age_seconds", "How long ago the cached copy served by a hit was stored: a bound on its staleness",
    ["cache", "strategy"], buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600),
)

# Write-behind (chassis/write_behind.py): events buffered in Redis, flushed to the database in batches.
WRITE_BEHIND_EVENTS = Counter("write_behind_events_total", "Events recorded in a write-behind buffer", ["buffer"])
WRITE_BEHIND_FLUSHED = Counter(
    "write_behind_flushed_total", "Events written to the database by a write-behind flusher", ["buffer"]
)
WRITE_BEHIND_BATCHES = Counter(
    "write_behind_batches_total", "Batches (one database transaction each) by outcome (applied|replayed)",
    ["buffer", "outcome"],
)
WRITE_BEHIND_BACKLOG = Gauge(
    "write_behind_backlog", "Events waiting to be flushed, seen by the last flush", ["buffer"],
    multiprocess_mode="max",
)
