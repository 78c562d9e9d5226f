"""API shapes of the products service (tables live in models.py).

Prices are Numeric(10, 2) in the database and JSON numbers rounded to 2 decimals on the wire.
"""

from decimal import Decimal
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Price = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("99999999.99"), decimal_places=2),
    PlainSerializer(lambda value: round(float(value), 2), return_type=float, when_used="json"),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Category = Annotated[str, Field(min_length=1, max_length=60)]
Description = Annotated[str, Field(max_length=2000)]
Stock = Annotated[int, Field(ge=0, le=1_000_000_000)]
ProductId = Annotated[int, Field(ge=1, le=2**31 - 1)]


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
    popularity: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    category: Category | None = None
    price: Price | None = None
    popularity: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None


class StockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stock: Stock


class ReservationItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ProductId
    quantity: Annotated[int, Field(ge=1, le=10_000)]


class ReservationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ref: Annotated[str, Field(min_length=1, max_length=100)]
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
