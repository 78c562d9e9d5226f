"""HTTP routes of the orders service (thin: validation and wiring; the logic is in orders.service)."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from chassis.error_handlers import errors
from chassis.fields import NOT_BLANK
from chassis.identity import AdminUser, CurrentUser
from orders import idempotency, service
from orders.dependencies import ProductsDep, PublishDep, ShardsDep
from orders.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    InsufficientStock,
    OrderNotCancellable,
    OrderNotFound,
    UnknownProduct,
)
from orders.schemas import OrderCreate, OrderList, OrderRead, RecentOrders

router = APIRouter(prefix="/orders", tags=["orders"])


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
async def place_order(order: OrderCreate, user: CurrentUser, shards: ShardsDep, products_client: ProductsDep,
                      publish: PublishDep, request: Request,
                      idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                                    include_in_schema=False)] = None) -> JSONResponse:
    """Place an order once per Idempotency-Key: stock is reserved, payment follows asynchronously."""
    key = idempotency.validate_key(idempotency_key)
    outcome = await service.place(sessions=shards.for_user(user.user_id), products=products_client, publish=publish,
                                  settings=request.app.state.settings, user_id=user.user_id, key=key, order=order)
    return JSONResponse(status_code=outcome.status_code, content=outcome.body,
                        headers={"Idempotent-Replayed": "true"} if outcome.replayed else None)


@router.get("", response_model=OrderList)
async def list_orders(user: CurrentUser, shards: ShardsDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                      offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> OrderList:
    """The caller's orders, newest first (one shard: the one that holds this customer)."""
    async with shards.for_user(user.user_id).begin() as db_session:
        orders = await service.get_all(session=db_session, user_id=user.user_id, limit=limit, offset=offset)
        return OrderList(items=[OrderRead.model_validate(order) for order in orders])


@router.get("/admin/recent", response_model=RecentOrders)
async def recent_orders(_: AdminUser, shards: ShardsDep,
                        limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict:
    """Admin: the newest orders across every shard (scatter-gather; the answer shows its cost per shard)."""
    return await service.recent_across_shards(shards=shards, limit=limit)


@router.get("/{order_id}", response_model=OrderRead, responses=errors(OrderNotFound))
async def get_order(order_id: OrderId, user: CurrentUser, shards: ShardsDep) -> OrderRead:
    """One of the caller's orders (404 for anyone else's)."""
    async with shards.for_user(user.user_id).begin() as db_session:
        return OrderRead.model_validate(await service.get(session=db_session, user_id=user.user_id,
                                                          order_id=order_id))


@router.post("/{order_id}/cancel", response_model=OrderRead, responses=errors(OrderNotFound, OrderNotCancellable))
async def cancel_order(order_id: OrderId, user: CurrentUser, shards: ShardsDep, publish: PublishDep) -> dict:
    """Cancel an order while PENDING, PAID or CONFIRMED: stock is released and a paid order refunded."""
    return await service.cancel(sessions=shards.for_user(user.user_id), publish=publish, user_id=user.user_id,
                                order_id=order_id)
