"""Internal stock API, called by the orders service replica-to-replica (the gateway 404s /api/*/internal/*).

Reserve and release change stock, so both write the touched products through to the cache
once committed: a product page never shows stock from before a reservation.
"""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.caching import VersionedCache
from chassis.error_handlers import errors
from chassis.fields import Text
from products import stock
from products.dependencies import PrimarySession, ProductCache
from products.errors import InsufficientStock, ProductNotFound
from products.models import Product
from products.schemas import ProductRead, ReleaseRead, ReservationCreate, ReservationRead

router = APIRouter(prefix="/products/internal", tags=["internal"])

@router.post("/reservations", response_model=ReservationRead, status_code=201,
             responses={200: {"description": "this order_ref was already reserved: the same reservation"},
                        **errors(ProductNotFound, InsufficientStock)})
async def reserve(data: ReservationCreate, session: PrimarySession, cache: ProductCache) -> JSONResponse:
    """Reserve stock for an order, all items or none; repeating an order_ref returns the first reservation."""
    reservation, created = await stock.reserve(session=session, order_ref=data.order_ref, items=data.items)
    if created:
        await write_through(session=session, cache=cache, product_ids=[i.product_id for i in reservation.items])
    return JSONResponse(reservation.model_dump(mode="json"), status_code=201 if created else 200)


@router.post("/reservations/{order_ref}/release", response_model=ReleaseRead)
async def release(order_ref: Annotated[Text, Path(min_length=1, max_length=100)], session: PrimarySession, cache: ProductCache) -> ReleaseRead:
    """Give an order's stock back, once; `released` is false when there was nothing (left) to release."""
    product_ids = await stock.release(session=session, order_ref=order_ref)
    await write_through(session=session, cache=cache, product_ids=product_ids)
    return ReleaseRead(order_ref=order_ref, released=bool(product_ids))


async def write_through(*, session: AsyncSession, cache: VersionedCache, product_ids: list[int]) -> None:
    """Put the committed state of the products (read from the primary) into the cache."""
    if not product_ids:
        return
    products = await session.scalars(
        select(Product).where(Product.id.in_(product_ids)).execution_options(populate_existing=True)
    )
    for product in products:
        await cache.replace(product.id, ProductRead.model_validate(product).model_dump_json())
