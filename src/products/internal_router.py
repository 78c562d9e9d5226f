"""Internal stock API, called by the orders service replica-to-replica (the gateway 404s /api/*/internal/*).

Reserve and release change stock, so once committed both tell the product cache's strategy
(write through or invalidate) and the listings of the touched categories: a product page never
shows stock from before a reservation.
"""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.cache_strategies import Strategy
from chassis.error_handlers import errors
from chassis.fields import Text
from products import stock
from products.dependencies import Listings, PrimarySession, ProductCache
from products.listings import ListingCache
from products.errors import InsufficientStock, ProductNotFound
from products.models import Product
from products.schemas import ReleaseRead, ReservationCreate, ReservationRead

router = APIRouter(prefix="/products/internal", tags=["internal"])

@router.post("/reservations", response_model=ReservationRead, status_code=201,
             responses={200: {"description": "this order_ref was already reserved: the same reservation"},
                        **errors(ProductNotFound, InsufficientStock)})
async def reserve(data: ReservationCreate, session: PrimarySession, cache: ProductCache,
                  listings: Listings) -> JSONResponse:
    """Reserve stock for an order, all items or none; repeating an order_ref returns the first reservation."""
    reservation, created = await stock.reserve(session=session, order_ref=data.order_ref, items=data.items)
    if created:
        await write_through(session=session, cache=cache, listings=listings,
                            product_ids=[i.product_id for i in reservation.items])
    return JSONResponse(reservation.model_dump(mode="json"), status_code=201 if created else 200)


@router.post("/reservations/{order_ref}/release", response_model=ReleaseRead)
async def release(order_ref: Annotated[Text, Path(min_length=1, max_length=100)], session: PrimarySession,
                  cache: ProductCache, listings: Listings) -> ReleaseRead:
    """Give an order's stock back, once; `released` is false when there was nothing (left) to release."""
    product_ids = await stock.release(session=session, order_ref=order_ref)
    await write_through(session=session, cache=cache, listings=listings, product_ids=product_ids)
    return ReleaseRead(order_ref=order_ref, released=bool(product_ids))


async def write_through(*, session: AsyncSession, cache: Strategy, listings: ListingCache,
                        product_ids: list[int]) -> None:
    """Tell the caches the products were written (each strategy reloads or drops its entry)."""
    if not product_ids:
        return
    categories = set(await session.scalars(select(Product.category).where(Product.id.in_(product_ids))))
    for product_id in product_ids:
        await cache.written(product_id)
    await listings.products_changed(categories)
