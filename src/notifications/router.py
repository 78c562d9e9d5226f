"""HTTP routes of the notifications service."""

from typing import Annotated

from fastapi import APIRouter, Query

from chassis.dependencies import SessionDep
from chassis.identity import CurrentUser
from notifications import service
from notifications.schemas import NotificationList, NotificationRead

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=NotificationList)
async def list_notifications(user: CurrentUser, db_session: SessionDep,
                             limit: Annotated[int, Query(ge=1, le=100)] = 50,
                             offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> NotificationList:
    """The caller's notifications (order confirmed, failed, cancelled), newest first."""
    notifications = await service.get_all(session=db_session, user_id=user.user_id, limit=limit, offset=offset)
    return NotificationList(items=[NotificationRead.model_validate(item) for item in notifications])
