"""Settings of the products service: every knob is an environment variable with a safe default."""

from functools import cache

from chassis.settings import ServiceSettings


class ProductsSettings(ServiceSettings):
    service_name: str = "products"

    # Read replica (seed: "Stage 6: Database Optimization"): reads go there unless it is down
    # or has replayed more than PRODUCTS_MAX_REPLICA_LAG_BYTES less WAL than the primary wrote.
    database_replica_url: str | None = None
    products_max_replica_lag_bytes: int = 1_048_576
    products_replica_check_seconds: float = 2.0

    # Cache-aside for GET /products/{id} (seed: "Stage 5: Caching Layer"). Turn it off to
    # benchmark the database path against the cache path.
    products_cache_enabled: bool = True
    products_cache_ttl_seconds: int = 300
    # How long the one request refilling a hot key holds its lock, and how long others wait for it.
    products_cache_lock_ms: int = 1000
    products_cache_wait_ms: int = 500
    # The strategy is the flag product_cache_strategy (chassis/cache_strategies.py); refresh-ahead reloads a
    # hit in the last PRODUCTS_REFRESH_AHEAD share of its TTL.
    products_refresh_ahead: float = 0.2

    # Category listings: TTL plus event invalidation on product writes (products/listings.py).
    products_listing_cache_ttl_seconds: int = 30

    # Page views, written behind (products/views.py): the buffer lives in the queue Redis (FLAGS_REDIS_URL's,
    # durable) unless PRODUCTS_VIEWS_REDIS_URL says otherwise; a batch claimed by a flusher that died is
    # replayed after PRODUCTS_VIEWS_RECLAIM_SECONDS.
    products_views_redis_url: str | None = None
    products_views_flush_seconds: float = 1.0
    products_views_reclaim_seconds: float = 10.0

    # `python -m products.seed`: how many products an empty catalogue gets.
    products_seed_count: int = 10_000


@cache
def get_settings() -> ProductsSettings:
    return ProductsSettings()
