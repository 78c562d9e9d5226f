"""Public, read-only analytics (the gateway serves them as /api/analytics/...), and the beacon
through which the storefront reports what only a browser sees (page views, add-to-cart)."""

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from analytics import queries
from analytics.schemas import (
    Accepted,
    BeaconEvent,
    Browsers,
    EventTypeMetadata,
    Funnel,
    HeavyHitters,
    SearchesWithoutResults,
    TopPages,
    TopProducts,
    TopSearches,
    Window,
)
from analytics.sketch import SketchShape
from chassis.event_stream import make_event, session_of
from chassis.fields import IsoDate
from chassis.identity import USER_ID_HEADER

router = APIRouter(prefix="/analytics", tags=["analytics"])
Limit = Annotated[int, Query(ge=1, le=100)]
Day = Annotated[IsoDate | None, Query(description="UTC day, default today")]


def day_number(day: date | None) -> int:
    day = day or datetime.now(timezone.utc).date()
    return (day - date(1970, 1, 1)).days


def day_of(number: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + number)


@router.get("/top-products", response_model=TopProducts)
async def top_products(request: Request, window: Window = Window.five_minutes, limit: Limit = 10) -> TopProducts:
    """Most viewed products in a sliding window (5m or 1h) of one-minute buckets, exact counts."""
    items = await queries.top_products(request.app.state.reads, window.value, limit)
    return TopProducts(window=window, items=[{"product_id": p, "views": n} for p, n in items])


@router.get("/top-searches", response_model=TopSearches)
async def top_searches(request: Request, window: Window = Window.five_minutes, limit: Limit = 10) -> TopSearches:
    """Most frequent searches (normalised: lower case, single spaces) in a sliding window."""
    items = await queries.top_searches(request.app.state.reads, window.value, limit)
    return TopSearches(window=window, items=[{"query": q, "count": n} for q, n in items])


@router.get("/heavy-hitters", response_model=HeavyHitters)
async def heavy_hitters(request: Request, kind: Annotated[str, Query(pattern="^(products|searches)$")] = "products",
                        limit: Limit = 10) -> HeavyHitters:
    """This hour's heavy hitters from the Count-Min sketch, with the sketch's error bound."""
    settings = request.app.state.settings
    shape = SketchShape(settings.sketch_epsilon, settings.sketch_delta)
    hour = queries.now_ms() // 3_600_000
    return HeavyHitters(kind=kind, **await queries.heavy_hitters(request.app.state.reads, shape, kind, hour, limit))


@router.get("/funnel", response_model=Funnel)
async def funnel(request: Request, day: Day = None) -> Funnel:
    """Conversion funnel of a day: sessions that viewed a product -> added to cart -> ordered; orders confirmed."""
    number = day_number(day)
    return Funnel(day=day_of(number), stages=await queries.funnel(request.app.state.reads, number))


@router.get("/browsers", response_model=Browsers)
async def browsers(request: Request, day: Day = None) -> Browsers:
    """Visitors of a day by browser, operating system and device (ua-parser), and unique visitors."""
    number = day_number(day)
    reads = request.app.state.reads
    return Browsers(day=day_of(number), visitors=await queries.unique_visitors(reads, number),
                    **await queries.agents(reads, number))


@router.get("/searches-without-results", response_model=SearchesWithoutResults)
async def searches_without_results(request: Request, day: Day = None, limit: Limit = 20) -> SearchesWithoutResults:
    """What shoppers searched for and did not find (a day, most frequent first)."""
    number = day_number(day)
    items = await queries.searches_without_results(request.app.state.reads, number, limit)
    return SearchesWithoutResults(day=day_of(number), items=[{"query": q, "count": n} for q, n in items])


@router.get("/top-pages", response_model=TopPages)
async def top_pages(request: Request, day: Day = None, limit: Limit = 20) -> TopPages:
    """Most viewed pages of a day (the storefront's page views and catalogue listings), exact counts."""
    number = day_number(day)
    items = await queries.top_pages(request.app.state.reads, number, limit)
    return TopPages(day=day_of(number), items=[{"page": p, "views": n} for p, n in items])


@router.get("/event-types", response_model=dict[str, EventTypeMetadata])
async def event_types(request: Request) -> dict:
    """Metadata per event type: count, duplicates dropped, late events, first/last seen, fields."""
    return await queries.event_types(request.app.state.reads)


@router.post("/events", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def beacon(event: BeaconEvent, request: Request) -> Accepted:
    """Report a page view or an add-to-cart from the storefront (accepted even if later dropped)."""
    user = request.headers.get(USER_ID_HEADER)
    address = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
    attributes = {"page": event.page} if event.type == "page_view" else \
        {"product": event.product_id, "quantity": event.quantity}
    emitted = make_event(event.type, session=session_of(request.headers, address),
                         user=int(user) if user and user.isdigit() else None,
                         user_agent=request.headers.get("user-agent", ""),
                         request_id=request.headers.get("x-request-id", ""), **attributes)
    request.app.state.events.emit(emitted)
    return Accepted(accepted=True, event_id=emitted["id"])
