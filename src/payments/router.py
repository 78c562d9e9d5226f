"""HTTP routes of the payments service: read-only; charges are made by Celery tasks."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from chassis.dependencies import SessionDep
from chassis.error_handlers import errors
from chassis.identity import CurrentUser
from payments import service
from payments.errors import ChargeNotFound
from payments.schemas import ChargeList, ChargeRead

router = APIRouter(prefix="/payments", tags=["payments"])


@router.get("", response_model=ChargeList)
async def list_charges(user: CurrentUser, db_session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                       offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> ChargeList:
    """The caller's charges (charged, declined or refunded), newest first."""
    charges = await service.get_all(session=db_session, user_id=user.user_id, limit=limit, offset=offset)
    return ChargeList(items=[ChargeRead.model_validate(charge) for charge in charges])


@router.get("/{order_id}", response_model=ChargeRead, responses=errors(ChargeNotFound))
async def get_charge(order_id: Annotated[int, Path(gt=0, le=2**63 - 1)], user: CurrentUser,
                     db_session: SessionDep) -> ChargeRead:
    """The caller's charge for one order (404 until the order is charged, and for others' orders)."""
    charge = await service.get_for_order(session=db_session, user_id=user.user_id, order_id=order_id)
    if charge is None:
        raise ChargeNotFound()
    return ChargeRead.model_validate(charge)
