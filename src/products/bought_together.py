""""Bought together" on the product page: association rules the analytics consumer keeps up to
date as orders arrive (analytics.recommendations), read from the event-stream Redis.

The products service only reads this model (CQRS: the analytics consumer writes it); when
that Redis does not answer, the product page still works and this route is a clear 503.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from redis.exceptions import RedisError

from analytics.recommendations import bought_together
from analytics.settings import get_settings as analytics_settings
from chassis.errors import DependencyUnavailable
from chassis.error_handlers import errors
from products.router import cached_product_json
from products.dependencies import ProductIdPath
from products.errors import ProductNotFound
from products.settings import get_settings

router = APIRouter(prefix="/products", tags=["products"])


class Recommendation(BaseModel):
    product_id: int
    orders_together: int
    support: float
    confidence: float
    lift: float


class BoughtTogether(BaseModel):
    product_id: int
    items: list[Recommendation]


@router.get("/{product_id}/bought-together", response_model=BoughtTogether, responses=errors(ProductNotFound))
async def get_bought_together(product_id: ProductIdPath, request: Request) -> BoughtTogether:
    """Products often bought with this one (confidence = orders with both / orders with this one)."""
    # A deleted or unknown product has no page, so no recommendations either: 404, as
    # GET /products/{id} says (the rules in Redis outlive a deleted product; the cached read is cheap).
    body, _ = await cached_product_json(request, product_id)
    if body is None:
        raise ProductNotFound()
    thresholds = analytics_settings()
    try:
        rules = await bought_together(request.app.state.recommendations, product_id,
                                      min_support=thresholds.recommendation_min_support,
                                      min_confidence=thresholds.recommendation_min_confidence)
    except (RedisError, OSError) as error:
        # The analytics store (the event-stream Redis) is a dependency of this route alone.
        raise DependencyUnavailable("analytics-store", type(error).__name__) from None
    return BoughtTogether(product_id=product_id, items=[rule.__dict__ for rule in rules])


@asynccontextmanager
async def recommendations_store(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.recommendations = aioredis.Redis.from_url(
        settings.events_redis_url or settings.redis_url, socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds)
    yield
    await app.state.recommendations.aclose()
