"""What the notifications API returns."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    order_id: int
    message: str
    created_at: datetime


class NotificationList(BaseModel):
    items: list[NotificationRead]
