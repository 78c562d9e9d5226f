"""App wiring of the products service: the chassis app plus a read router, the product cache (every strategy,
switched by a flag), the listing cache and the write-behind view counter."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sqlalchemy.ext.asyncio import AsyncSession

from chassis.app import create_service_app
from chassis.cache_strategies import strategies
from chassis.versioned_cache import VersionedCache
from chassis.flags import flags_for
from chassis.replicas import read_routing
from products import bought_together, internal_router, router, service
from products.listings import ListingCache
from products.schemas import ProductRead
from products.settings import ProductsSettings, get_settings
from products.views import views_counter

# Bump when the cached JSON changes shape: every old entry is orphaned at once (they expire by TTL).
PRODUCT_CACHE_SCHEMA = 2  # 2: `views`
LISTING_CACHE_SCHEMA = 1


def product_cache(settings: ProductsSettings):
    """A lifespan resource: the product store, every strategy over it (app.state.product_strategies), the listings."""

    @asynccontextmanager
    async def resource(app: FastAPI) -> AsyncIterator[None]:
        store = VersionedCache(
            app.state.redis, name="products", ttl_seconds=settings.products_cache_ttl_seconds,
            schema_version=PRODUCT_CACHE_SCHEMA, lock_ms=settings.products_cache_lock_ms,
            wait_ms=settings.products_cache_wait_ms,
        )

        async def load_product(product_id: int) -> str | None:
            """The cache's loader (read-through: the cache layer owns it): one product as JSON, or None."""
            async def one(session: AsyncSession) -> str | None:
                product = await service.get(session=session, product_id=product_id)
                return ProductRead.model_validate(product).model_dump_json() if product else None

            return await app.state.reads.read(one)

        app.state.product_cache = store
        app.state.product_strategies = strategies(store, load_product, refresh_ahead=settings.products_refresh_ahead)
        app.state.flags = flags_for(settings)
        app.state.listings = ListingCache(VersionedCache(
            app.state.redis, name="listings", ttl_seconds=settings.products_listing_cache_ttl_seconds,
            schema_version=LISTING_CACHE_SCHEMA, lock_ms=settings.products_cache_lock_ms,
            wait_ms=settings.products_cache_wait_ms,
        ))
        yield

    return resource


def create_app() -> FastAPI:
    settings = get_settings()
    return create_service_app(
        settings,
        title="ScaleShop products",
        description="Catalogue (cached in Redis by a switchable strategy, read replica with fallback), stock "
                    "reservations, page views written behind.",
        routers=[internal_router.router, router.router, bought_together.router],
        resources=[
            read_routing(replica_url=settings.database_replica_url,
                         max_lag_bytes=settings.products_max_replica_lag_bytes,
                         check_seconds=settings.products_replica_check_seconds),
            product_cache(settings),
            views_counter(settings),
            bought_together.recommendations_store,
        ],
    )
