"""FastAPI dependencies of the products service: sessions, the read router, the caches, valid ids."""

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.convertors import StringConvertor, register_url_convertor

from chassis.cache_strategies import NONE, Strategy, with_stampede
from chassis.dependencies import SessionDep, app_state
from chassis.replicas import ReadRouter
from products import service
from products.errors import ProductNotFound
from products.listings import ListingCache
from products.models import Product

MAX_ID = 2**31 - 1  # the id column is a Postgres integer: larger ids are a 422, not a database error
ProductIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="product id")]


class ProductIdSegment(StringConvertor):
    """The `{product_id:product_id}` of the write routes: any segment but the names of the GET-only
    sibling routes, so PATCH /products/search is the 405 of a path that serves GET (RFC 9110),
    not a 422 about an id; PATCH /products/abc stays the 422 naming the parameter."""

    regex = "(?!(?:search|whoami)$)[^/]+"


register_url_convertor("product_id", ProductIdSegment())


def product_strategy(app) -> Strategy:
    """The product cache's strategy now: the flags product_cache_strategy and product_cache_stampede
    (a dict lookup, none while no flag is set), or none at all with PRODUCTS_CACHE_ENABLED=false."""
    strategies = app.state.product_strategies
    if not app.state.settings.products_cache_enabled:
        return strategies[NONE]
    flags = app.state.flags
    if not flags.any_set:
        return strategies["write-through"]
    strategy = strategies.get(flags.value("product_cache_strategy"), strategies["write-through"])
    return with_stampede(strategy, flags.value("product_cache_stampede"))


async def product_cache(request: Request) -> Strategy:
    return product_strategy(request.app)


# A session on the primary (the chassis' SessionDep): every write, and reads that must see the latest commit.
PrimarySession = SessionDep
Reads = Annotated[ReadRouter, Depends(app_state("reads"))]
ProductCache = Annotated[Strategy, Depends(product_cache)]
Listings = Annotated[ListingCache, Depends(app_state("listings"))]


async def existing_product(product_id: ProductIdPath, session: PrimarySession) -> Product:
    """The product to change, read from the primary (404 when it does not exist)."""
    product = await service.get(session=session, product_id=product_id)
    if product is None:
        raise ProductNotFound()
    return product


ExistingProduct = Annotated[Product, Depends(existing_product)]
