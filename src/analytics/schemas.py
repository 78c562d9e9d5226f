"""The analytics API's documents (they show in the merged OpenAPI spec)."""

from datetime import date
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from chassis.fields import Text, integer


class Window(str, Enum):
    five_minutes = "5m"
    one_hour = "1h"


class ProductCount(BaseModel):
    product_id: int
    views: int


class TopProducts(BaseModel):
    window: Window
    items: list[ProductCount]


class QueryCount(BaseModel):
    query: str
    count: int


class TopSearches(BaseModel):
    window: Window
    items: list[QueryCount]


class FunnelStage(BaseModel):
    stage: str = Field(description="view, cart, order: sessions; confirmed: orders")
    count: int
    conversion_from_previous: float | None


class Funnel(BaseModel):
    day: date
    stages: list[FunnelStage]


class Browsers(BaseModel):
    day: date
    visitors: int = Field(description="unique visitors of the day (HyperLogLog estimate, standard error 0.81%)")
    browsers: dict[str, int]
    os: dict[str, int]
    devices: dict[str, int]


class SearchesWithoutResults(BaseModel):
    day: date
    items: list[QueryCount]


class PageCount(BaseModel):
    page: str
    views: int


class TopPages(BaseModel):
    day: date
    items: list[PageCount]


class HeavyHitter(BaseModel):
    key: str
    estimate: int


class HeavyHitters(BaseModel):
    kind: Literal["products", "searches"]
    total: int = Field(description="N: events counted in the sketch this hour")
    epsilon: float
    delta: float
    error_bound: float = Field(description="estimate - true count <= epsilon * N, with probability 1 - delta")
    width: int
    depth: int
    items: list[HeavyHitter]


class EventTypeMetadata(BaseModel):
    count: int
    duplicates: int
    late: int
    first_seen_ms: int | None
    last_seen_ms: int | None
    fields: list[str]


class BeaconEvent(BaseModel):
    """An interaction only the browser sees (the storefront sends it)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["page_view", "add_to_cart"]
    page: Annotated[Text | None, Field(max_length=120)] = None
    product_id: integer(ge=1, le=2**31 - 1) | None = None
    quantity: integer(ge=1, le=1000) = 1


class Accepted(BaseModel):
    accepted: bool
    event_id: str
