"""HTTP routes of the orders service (thin: validation and wiring; the logic is in orders.service)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.db import Database
from chassis.error_handlers import errors
from chassis.fields import NOT_BLANK
from chassis.identity import CurrentUser
from orders import idempotency, service
from orders.clients import ProductsClient
from orders.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    InsufficientStock,
    OrderNotCancellable,
    OrderNotFound,
    UnknownProduct,
)
from orders.schemas import OrderCreate, OrderList, OrderRead

router = APIRouter(prefix="/orders", tags=["orders"])


def database(request: Request) -> Database:
    return request.app.state.db


async def session(request: Request):
    async with request.app.state.db.sessions() as db_session:
        yield db_session


def products(request: Request) -> ProductsClient:
    return request.app.state.products


DatabaseDep = Annotated[Database, Depends(database)]
SessionDep = Annotated[AsyncSession, Depends(session)]
ProductsDep = Annotated[ProductsClient, Depends(products)]
OrderId = Annotated[int, Path(gt=0, le=2**63 - 1)]
# The header is read as optional so that a missing or bad key is the 400 the IETF draft asks for
# (idempotency.validate_key), not FastAPI's 422; the document says what a valid request carries.
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": True,
                   "description": "names this request: a retry with the same key and body replays the first answer",
                   "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH,
                              "pattern": NOT_BLANK}}


@router.post("", status_code=201, response_model=OrderRead, openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
             responses=errors(IdempotencyKeyMissing, IdempotencyKeyInFlight, InsufficientStock, IdempotencyKeyReused,
                              UnknownProduct))
async def place_order(order: OrderCreate, user: CurrentUser, db: DatabaseDep, products_client: ProductsDep,
                      request: Request,
                      idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                                    include_in_schema=False)] = None) -> JSONResponse:
    """Place an order once per Idempotency-Key: stock is reserved, payment follows asynchronously."""
    key = idempotency.validate_key(idempotency_key)
    status_code, body, replayed = await service.place(db=db, products=products_client,
                                                      settings=request.app.state.settings,
                                                      user_id=user.user_id, key=key, order=order)
    return JSONResponse(status_code=status_code, content=body,
                        headers={"Idempotent-Replayed": "true"} if replayed else None)


@router.get("", response_model=OrderList)
async def list_orders(user: CurrentUser, db_session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                      offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> OrderList:
    """The caller's orders, newest first."""
    orders = await service.get_all(session=db_session, user_id=user.user_id, limit=limit, offset=offset)
    return OrderList(items=[OrderRead.model_validate(order) for order in orders])


@router.get("/{order_id}", response_model=OrderRead, responses=errors(OrderNotFound))
async def get_order(order_id: OrderId, user: CurrentUser, db_session: SessionDep) -> OrderRead:
    """One of the caller's orders (404 for anyone else's)."""
    return OrderRead.model_validate(await service.get(session=db_session, user_id=user.user_id, order_id=order_id))


@router.post("/{order_id}/cancel", response_model=OrderRead, responses=errors(OrderNotFound, OrderNotCancellable))
async def cancel_order(order_id: OrderId, user: CurrentUser, db: DatabaseDep) -> dict:
    """Cancel an order while PENDING, PAID or CONFIRMED: stock is released and a paid order refunded."""
    return await service.cancel(db=db, user_id=user.user_id, order_id=order_id)
