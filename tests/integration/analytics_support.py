"""Shared by the analytics tests: a generated interaction log, and the pipeline run over it."""

import random

from analytics import keys
from analytics.consumer import Consumer
from chassis.event_stream import EventEmitter, make_event

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
]
QUERIES = ["red shoes", "Red  Shoes", "laptop", "kettle", "zzz nothing", "blue hat", "qwerty", "lamp"]


def interaction_log(count: int, now_ms: int, *, seed: int = 19, span_minutes: int = 50) -> list[dict]:
    """Shoppers browsing, searching, carting and ordering over the last `span_minutes`, in time
    order, Zipf-skewed products; every 10th event is appended twice (a producer duplicate)."""
    rng = random.Random(seed)
    events = []
    start = now_ms - span_minutes * 60_000
    for i in range(count):
        ts = start + i * (span_minutes * 60_000) // count
        session = f"s{rng.randrange(count // 8 + 1)}"
        common = {"session": session, "user": rng.choice([None, rng.randrange(1, 50)]),
                  "user_agent": rng.choice(USER_AGENTS), "request_id": f"r{i}"}
        roll = rng.random()
        product = min(int(rng.paretovariate(1.1)), 300)
        if roll < 0.5:
            event = make_event("product_view", product=product, **common)
        elif roll < 0.7:
            query = rng.choice(QUERIES)
            event = make_event("search", q=query, results=0 if query in ("zzz nothing", "qwerty") else 3, **common)
        elif roll < 0.8:
            event = make_event("page_view", page=rng.choice(["/", "/products", "/cart"]), **common)
        elif roll < 0.9:
            event = make_event("add_to_cart", product=product, **common)
        elif roll < 0.96:
            items = sorted({min(int(rng.paretovariate(1.1)), 300) for _ in range(rng.randint(1, 3))})
            event = make_event("order_placed", order=i, items=items, event_id=f"order_placed:{i}", **common)
        elif roll < 0.99:
            event = make_event("order_confirmed", order=i, event_id=f"order_confirmed:{i}", session="")
        else:
            event = make_event("sign_up", event_id=f"sign_up:{i}", **common)
        event["ts"] = ts
        events.append(event)
        if i % 10 == 0:
            events.append(dict(event))
    return events


async def append(client, stream: str, events: list[dict]) -> None:
    emitter = EventEmitter(client, service="test", stream=stream, maxlen=1_000_000,
                           buffer_size=len(events) + 1, flush_seconds=1)
    for event in events:
        emitter.emit(event)
    assert await emitter.flush() == len(events)


async def drain(*consumers: Consumer, now_ms: int | None = None) -> None:
    """Run the consumers in turn until none gets anything (they share the group's entries)."""
    for consumer in consumers:
        await consumer.ensure_group()
    busy = True
    while busy:
        busy = False
        for consumer in consumers:
            entries = await consumer.next_batch()
            if entries:
                await consumer.apply(entries, now_ms=now_ms)
                busy = True


def day_of(ts_ms: int) -> int:
    return keys.day(ts_ms)
