"""API shapes of the products service (tables live in models.py).

Prices are Numeric(10, 2) in the database and JSON numbers rounded to 2 decimals on the wire.
A price sent to the API is a number (a multiple of 0.01) or a decimal string ("12.50"); the
schema says exactly what validation accepts, in both forms.
"""

import re
from decimal import Decimal
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from chassis.fields import Text, integer

MAX_PRICE = Decimal("99999999.99")  # Numeric(10, 2)
PRICE_TEXT = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"


def price_input(value: object) -> object:
    """A number, or text in the one form the schema allows (no sign, spaces or exponent)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ValueError("a price is a number or a decimal string")
    if isinstance(value, str) and not re.fullmatch(PRICE_TEXT, value):
        raise ValueError("a price as text has up to 8 digits and at most 2 decimals, like 12.50")
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(price_input),
    Field(ge=0, le=MAX_PRICE, multiple_of=Decimal("0.01")),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": float(MAX_PRICE), "multipleOf": 0.01},
                              {"type": "string", "pattern": PRICE_TEXT}]}, mode="validation"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": float(MAX_PRICE)}, mode="serialization"),
    PlainSerializer(lambda value: round(float(value), 2), return_type=float, when_used="json"),
]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Category = Annotated[Text, Field(min_length=1, max_length=60)]
Description = Annotated[Text, Field(max_length=2000)]
Stock = integer(ge=0, le=1_000_000_000)
ProductId = integer(ge=1, le=2**31 - 1)
Popularity = integer(ge=0, le=2**31 - 1)


class ProductSort(str, Enum):
    price = "price"
    price_desc = "-price"
    popularity = "popularity"  # most popular first
    name = "name"


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    category: str
    price: Price
    stock: int
    popularity: int
    views: int  # flushed page views (write-behind: up to the flush interval behind, plus the cache's age)


class ProductPage(BaseModel):
    items: list[ProductRead]
    total: int
    limit: int
    offset: int


class SearchResults(BaseModel):
    items: list[ProductRead]
    total: int
    limit: int
    offset: int


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    category: Category
    price: Price
    stock: Stock = 0
    popularity: Popularity = 0


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    category: Category | None = None
    price: Price | None = None
    popularity: Popularity | None = None


class StockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stock: Stock


class ReservationItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ProductId
    quantity: integer(ge=1, le=10_000)


class ReservationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ref: Annotated[Text, Field(min_length=1, max_length=100)]
    items: Annotated[list[ReservationItemIn], Field(min_length=1, max_length=100)]


class ReservationItemRead(BaseModel):
    product_id: int
    name: str
    unit_price: Price
    quantity: int


class ReservationRead(BaseModel):
    order_ref: str
    items: list[ReservationItemRead]
    total: Price
    released: bool


class ReleaseRead(BaseModel):
    order_ref: str
    released: bool
