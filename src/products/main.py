"""App wiring of the products service: the chassis app plus a read router and the product cache."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chassis.app import create_service_app
from chassis.caching import VersionedCache
from chassis.replicas import read_routing
from products import api, bought_together, internal_api
from products.settings import ProductsSettings, get_settings

# Bump when the cached JSON changes shape: every old entry is orphaned at once (they expire by TTL).
PRODUCT_CACHE_SCHEMA = 1


def product_cache(settings: ProductsSettings):
    """A lifespan resource: the cache-aside helper for product pages, on the shared Redis client."""

    @asynccontextmanager
    async def resource(app: FastAPI) -> AsyncIterator[None]:
        app.state.product_cache = VersionedCache(
            app.state.redis, name="products", ttl_seconds=settings.products_cache_ttl_seconds,
            schema_version=PRODUCT_CACHE_SCHEMA, lock_ms=settings.products_cache_lock_ms,
            wait_ms=settings.products_cache_wait_ms,
        )
        yield

    return resource


def create_app() -> FastAPI:
    settings = get_settings()
    return create_service_app(
        settings,
        title="ScaleShop products",
        description="Catalogue (cache-aside in Redis, read replica with fallback) and stock reservations.",
        routers=[internal_api.router, api.router, bought_together.router],
        resources=[
            read_routing(replica_url=settings.database_replica_url,
                         max_lag_bytes=settings.products_max_replica_lag_bytes,
                         check_seconds=settings.products_replica_check_seconds),
            product_cache(settings),
            bought_together.recommendations_store,
        ],
    )
