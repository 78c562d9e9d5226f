"""The read side: each public figure computed from the aggregates the consumer keeps.

Sliding windows are unions of one-minute buckets (ZUNION, Redis 6.2+) ending at the
current minute; days are UTC days of event time. Every function takes the Redis client and
returns plain data; `router` turns it into JSON.
"""

import time

import redis.asyncio as aioredis

from analytics import keys
from analytics.sketch import SketchShape


def now_ms() -> int:
    return int(time.time() * 1000)


async def top_in_window(client: aioredis.Redis, bucket, window: str, limit: int, at_ms: int) -> list[tuple[str, int]]:
    bucket_keys = [bucket(m) for m in keys.window_minutes(window, at_ms)]
    ranked = await client.zunion(bucket_keys, withscores=True)  # ascending by score
    ranked.sort(key=lambda pair: (-pair[1], str(pair[0])))
    return [(member.decode() if isinstance(member, bytes) else member, int(score)) for member, score in ranked[:limit]]


async def top_products(client, window: str, limit: int, at_ms: int | None = None) -> list[tuple[int, int]]:
    return [(int(member), views) for member, views in
            await top_in_window(client, keys.products, window, limit, at_ms or now_ms())]


async def top_searches(client, window: str, limit: int, at_ms: int | None = None) -> list[tuple[str, int]]:
    return await top_in_window(client, keys.searches, window, limit, at_ms or now_ms())


async def funnel(client, day: int) -> list[dict]:
    """Sessions that reached each stage (orders for the last one), and the share of the stage before."""
    pipe = client.pipeline(transaction=False)
    for stage in keys.FUNNEL_STAGES:
        pipe.scard(keys.funnel(day, stage))
    counts = await pipe.execute()
    stages, previous = [], None
    for stage, count in zip(keys.FUNNEL_STAGES, counts):
        rate = round(count / previous, 4) if previous else None
        stages.append({"stage": stage, "count": count, "conversion_from_previous": rate})
        previous = count
    return stages


async def agents(client, day: int) -> dict[str, dict[str, int]]:
    pipe = client.pipeline(transaction=False)
    for facet in ("browser", "os", "device"):
        pipe.hgetall(keys.agents(day, facet))
    result = {}
    for facet, counts in zip(("browsers", "os", "devices"), await pipe.execute()):
        result[facet] = dict(sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])))
    return result


async def searches_without_results(client, day: int, limit: int) -> list[tuple[str, int]]:
    ranked = await client.zrevrange(keys.no_results(day), 0, limit - 1, withscores=True)
    return [(str(query), int(count)) for query, count in ranked]


async def top_pages(client, day: int, limit: int) -> list[tuple[str, int]]:
    ranked = await client.zrevrange(keys.pages(day), 0, limit - 1, withscores=True)
    return [(str(page), int(count)) for page, count in ranked]


async def unique_visitors(client, day: int) -> int:
    return await client.pfcount(keys.visitors(day))


async def heavy_hitters(client, shape: SketchShape, kind: str, hour: int, limit: int) -> dict:
    """Candidates of the hour with their Count-Min estimate and the bound on its error."""
    total = int(await client.get(keys.sketch_total(hour)) or 0)
    ranked = await client.zrevrange(keys.heavy_hitters(hour, kind), 0, limit - 1, withscores=True)
    bound = shape.error_bound(total)
    return {"total": total, "epsilon": shape.epsilon, "delta": shape.delta, "error_bound": bound,
            "width": shape.width, "depth": shape.depth,
            "items": [{"key": str(item), "estimate": int(est)} for item, est in ranked]}


async def sketch_estimate(client, shape: SketchShape, kind: str, item: str, hour: int) -> int:
    """Read one item's estimate straight from the table (the minimum over its cells)."""
    args = []
    for cell in shape.cells(kind, item):
        args += ["GET", "u32", f"#{cell}"]
    values = await client.execute_command("BITFIELD_RO", keys.sketch(hour), *args)
    return min(int(v) for v in values)


async def event_types(client) -> dict[str, dict]:
    """Metadata per event type: count, duplicates, late, first/last seen, fields."""
    types = sorted(str(t) for t in await client.smembers(keys.EVENT_TYPES_KEY)) + ["_invalid"]
    pipe = client.pipeline(transaction=False)
    for event_type in types:
        pipe.hgetall(keys.metadata(event_type))
    result = {}
    for event_type, meta in zip(types, await pipe.execute()):
        if not meta:
            continue
        result[event_type] = {
            "count": int(meta.get("count", 0)), "duplicates": int(meta.get("duplicates", 0)),
            "late": int(meta.get("late", 0)),
            "first_seen_ms": int(float(meta["first_seen"])) if "first_seen" in meta else None,
            "last_seen_ms": int(float(meta["last_seen"])) if "last_seen" in meta else None,
            "fields": meta["fields"].split(",") if meta.get("fields") else [],
        }
    return result
