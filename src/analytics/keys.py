"""Where every aggregate lives in Redis, and the time buckets they are keyed by.

All keys start with `an:`. Windows are built from one-minute buckets keyed by *event time*
(the minute the event happened, not the minute it was processed), so a late event still
lands in its own minute; a sliding window of 5 minutes or 1 hour is the union of its buckets.
"""

PREFIX = "an:"
WINDOWS = {"5m": 5, "1h": 60}  # window name -> minutes
FUNNEL_STAGES = ("view", "cart", "order", "confirmed")


def minute(ts_ms: int) -> int:
    return ts_ms // 60_000


def hour(ts_ms: int) -> int:
    return ts_ms // 3_600_000


def day(ts_ms: int) -> int:
    return ts_ms // 86_400_000


def window_minutes(window: str, now_ms: int) -> list[int]:
    """The minute buckets of a sliding window ending now (the current, partial minute included)."""
    last = minute(now_ms)
    return list(range(last - WINDOWS[window] + 1, last + 1))


def products(m: int) -> str:
    return f"{PREFIX}products:{m}"


def searches(m: int) -> str:
    return f"{PREFIX}searches:{m}"


def no_results(d: int) -> str:
    return f"{PREFIX}noresults:{d}"


def funnel(d: int, stage: str) -> str:
    return f"{PREFIX}funnel:{d}:{stage}"


def visitors(d: int) -> str:
    return f"{PREFIX}uv:{d}"


def agents(d: int, facet: str) -> str:
    """facet: browser | os | device (visitors per family)."""
    return f"{PREFIX}{facet}:{d}"


def sketch(h: int) -> str:
    return f"{PREFIX}cms:{h}"


def sketch_total(h: int) -> str:
    return f"{PREFIX}cms:{h}:n"


def heavy_hitters(h: int, kind: str) -> str:
    return f"{PREFIX}hh:{h}:{kind}"


def metadata(event_type: str) -> str:
    return f"{PREFIX}meta:{event_type}"


EVENT_TYPES_KEY = f"{PREFIX}types"
WATERMARK_KEY = f"{PREFIX}watermark"
ORDERS_TOTAL_KEY = f"{PREFIX}rec:orders"
ITEM_ORDERS_KEY = f"{PREFIX}rec:item_orders"


def pairs(product_id: int) -> str:
    """Products bought together with `product_id`, scored by the number of orders with both."""
    return f"{PREFIX}rec:pairs:{product_id}"


def pages(d: int) -> str:
    return f"{PREFIX}pages:{d}"
