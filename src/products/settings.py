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

    # `python -m products.seed`: how many products an empty catalogue gets.
    products_seed_count: int = 10_000


@cache
def get_settings() -> ProductsSettings:
    return ProductsSettings()
