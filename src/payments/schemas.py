"""What the payments API returns."""

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class ChargeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    amount: Decimal
    status: str
    provider_ref: str
    decline_reason: str | None
    created_at: datetime
    refunded_at: datetime | None


class ChargeList(BaseModel):
    items: list[ChargeRead]
