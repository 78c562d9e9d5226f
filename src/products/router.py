"""Public routes of the products service (the gateway serves them as /api/products...).

Reads go through the read router (replica, falling back to the primary). The product page
goes through the product cache under the strategy the flag `product_cache_strategy` names
(chassis/cache_strategies.py; write-through unless set), says where its answer came from in
`X-Cache: HIT|MISS|EARLY|BYPASS` and counts a view, written behind (products/views.py).
Category listings are cached with a TTL plus event invalidation (products/listings.py).
Admin writes go to the primary; once committed, each tells the product strategy (invalidate
or write through) and the listings of the categories it touched.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.error_handlers import errors
from chassis.fields import NO_NUL
from chassis.flags import flags_for
from chassis.identity import AdminUser
from chassis.middleware import note_response_header
from products import service
from products.dependencies import (
    ExistingProduct,
    Listings,
    PrimarySession,
    ProductCache,
    ProductIdPath,
    Reads,
    product_strategy,
)
from products.errors import ProductInUse, ProductNotFound
from products.views import count_view
from products.schemas import (
    ProductCreate,
    ProductPage,
    ProductRead,
    ProductSort,
    ProductUpdate,
    SearchResults,
    StockUpdate,
)

router = APIRouter(prefix="/products", tags=["products"])

Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="items to skip")]
NOT_FOUND = errors(ProductNotFound)


@router.get("", response_model=ProductPage)
async def list_products(
    reads: Reads,
    listings: Listings,
    limit: Limit = 20,
    offset: Offset = 0,
    category: Annotated[str | None, Query(min_length=1, max_length=60, pattern=NO_NUL)] = None,
    sort: ProductSort = ProductSort.popularity,
) -> Response:
    """A page of the catalogue, optionally one category; most popular first unless `sort` says otherwise."""

    async def page(session: AsyncSession) -> str:
        products, total = await service.get_all(session=session, limit=limit, offset=offset,
                                                category=category, sort=sort)
        return ProductPage(items=[ProductRead.model_validate(p) for p in products],
                           total=total, limit=limit, offset=offset).model_dump_json()

    async def load() -> str:
        return await reads.read(page)

    body, source = await listings.page(category, f"{sort.value}:{limit}:{offset}", load)
    return Response(body, media_type="application/json", headers={"X-Cache": source})


@router.get("/search", response_model=SearchResults)
async def search_products(
    request: Request,
    reads: Reads,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL, description="words, \"phrases\", -excluded")],
    limit: Limit = 20,
    offset: Offset = 0,
) -> SearchResults:
    """Full-text search over names and descriptions, best matches first (X-Search-Ranking: which ranking)."""
    # A feature rollout (chassis/flags.py): the user id the gateway vouches for is the targeting key,
    # so a user keeps their ranking on every replica and every visit.
    ranking_v2 = flags_for(request.app.state.settings).value("search_ranking_v2",
                                                             user_id=request.headers.get("x-user-id"))
    note_response_header("X-Search-Ranking", "v2" if ranking_v2 else "v1")

    async def results(session: AsyncSession) -> SearchResults:
        products, total = await service.search(session=session, q=q, limit=limit, offset=offset,
                                               ranking_v2=ranking_v2)
        return SearchResults(items=[ProductRead.model_validate(p) for p in products],
                             total=total, limit=limit, offset=offset)

    return await reads.read(results)


async def cached_product_json(request: Request, product_id: int) -> tuple[str | None, str]:
    """A product's JSON (None if there is no such product) and where it came from (X-Cache), through the
    product cache under the strategy the flag names now (products/dependencies.py); no view is counted."""
    # The shop's hottest route takes its resources from app.state rather than as dependencies:
    # FastAPI resolving two dependencies per request measured ~7% of a cached read's CPU.
    return await product_strategy(request.app).read(product_id)


@router.get("/{product_id}", response_model=ProductRead, responses=NOT_FOUND)
async def get_product(product_id: ProductIdPath, request: Request) -> Response:
    """One product, served from the Redis cache when it holds it (see the X-Cache header); counts a view."""
    body, source = await cached_product_json(request, product_id)
    if body is None:
        return JSONResponse({"detail": ProductNotFound.description}, status_code=404, headers={"X-Cache": source})
    await count_view(request.app, product_id)  # write-behind: one HINCRBY, flushed to the database in batches
    # The cached JSON is sent as it is: a hit costs one Redis round trip and no serialisation.
    return Response(body, media_type="application/json", headers={"X-Cache": source})


@router.post("", response_model=ProductRead, status_code=status.HTTP_201_CREATED)
async def create_product(data: ProductCreate, _: AdminUser, session: PrimarySession,
                         cache: ProductCache, listings: Listings) -> ProductRead:
    """Add a product (admin)."""
    product = ProductRead.model_validate(await service.create(session=session, data=data))
    await cache.written(product.id)
    await listings.products_changed([product.category])
    return product


@router.patch("/{product_id:product_id}", response_model=ProductRead, responses=NOT_FOUND)
async def update_product(data: ProductUpdate, _: AdminUser, product: ExistingProduct, session: PrimarySession,
                         cache: ProductCache, listings: Listings) -> ProductRead:
    """Change a product's fields (admin); its cache entry is invalidated or written through at once."""
    old_category = product.category
    updated = ProductRead.model_validate(await service.update(session=session, product=product, data=data))
    await cache.written(updated.id)
    await listings.products_changed([old_category, updated.category])
    return updated


@router.put("/{product_id:product_id}/stock", response_model=ProductRead, responses=NOT_FOUND)
async def set_stock(data: StockUpdate, _: AdminUser, product: ExistingProduct, session: PrimarySession,
                    cache: ProductCache, listings: Listings) -> ProductRead:
    """Set a product's stock level (admin)."""
    updated = ProductRead.model_validate(await service.set_stock(session=session, product=product, stock=data.stock))
    await cache.written(updated.id)
    await listings.products_changed([updated.category])
    return updated


@router.delete("/{product_id:product_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(ProductNotFound, ProductInUse))
async def delete_product(_: AdminUser, product: ExistingProduct, session: PrimarySession,
                         cache: ProductCache, listings: Listings) -> Response:
    """Remove a product (admin); 409 while orders hold stock of it."""
    product_id, category = product.id, product.category
    await service.delete(session=session, product=product)
    await cache.written(product_id)
    await listings.products_changed([category])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
