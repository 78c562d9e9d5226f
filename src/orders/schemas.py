"""What the orders API accepts and returns."""

import hashlib
import json
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chassis.fields import integer


class OrderItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: integer(gt=0, le=2**31 - 1)
    quantity: integer(ge=1, le=100)


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[OrderItemIn] = Field(min_length=1, max_length=50)

    @field_validator("items")
    @classmethod
    def no_duplicate_products(cls, items: list[OrderItemIn]) -> list[OrderItemIn]:
        seen = [item.product_id for item in items]
        if len(seen) != len(set(seen)):
            raise ValueError("each product may appear once; use quantity for more units")
        return items

    def fingerprint(self) -> str:
        """A hash of the request, to tell "same key, same body" (replay) from "same key, other body"."""
        canonical = sorted((item.product_id, item.quantity) for item in self.items)
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    name: str
    unit_price: Decimal
    quantity: int


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    items: list[OrderItemRead]
    total: Decimal
    failure_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class OrderList(BaseModel):
    items: list[OrderRead]


class RecentOrders(BaseModel):
    """The admin listing across shards, with what it cost (scatter-gather)."""

    items: list[OrderRead]
    shards_queried: int
    rows_read: int
    shard_ms: list[float]
    total_ms: float
