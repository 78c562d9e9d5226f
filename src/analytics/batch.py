"""The batch recomputation: the same figures computed from a plain list of events, in memory.

This is the check on the streaming path (tests compare the two over the same events) and
the shape of the "batch layer" of a lambda architecture: slow, simple, obviously right. It
shares no code with the stream processor beyond the user-agent parser: duplicates are the
repeated ids, late events those older than the running maximum event time minus the allowed
lateness, windows are counted from event times.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from analytics import keys
from analytics.prepare import agent_families, normalise_query


@dataclass
class BatchFigures:
    applied: int = 0
    duplicates: int = 0
    late: int = 0
    products_per_minute: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    searches_per_minute: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    no_results: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    pages: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    funnel: dict[tuple[int, str], set] = field(default_factory=lambda: defaultdict(set))
    visitors: dict[int, set] = field(default_factory=lambda: defaultdict(set))
    agents: dict[tuple[int, str], Counter] = field(default_factory=lambda: defaultdict(Counter))
    counts_per_type: Counter = field(default_factory=Counter)
    sketch_counts: dict[tuple[int, str], Counter] = field(default_factory=lambda: defaultdict(Counter))
    orders: int = 0
    item_orders: Counter = field(default_factory=Counter)
    pairs: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def top(self, per_minute: dict[int, Counter], window: str, at_ms: int, limit: int) -> list[tuple]:
        total = Counter()
        for m in keys.window_minutes(window, at_ms):
            total.update(per_minute.get(m, {}))
        return sorted(total.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]


def recompute(events: list[dict], allowed_lateness_ms: int) -> BatchFigures:
    figures, seen, watermark = BatchFigures(), set(), 0
    agents_seen: dict[int, set] = defaultdict(set)
    for event in events:
        if event["id"] in seen:
            figures.duplicates += 1
            continue
        seen.add(event["id"])
        ts = event["ts"]
        watermark = max(watermark, ts)
        if ts < watermark - allowed_lateness_ms:
            figures.late += 1
            continue
        figures.applied += 1
        kind, m, h, d = event["type"], keys.minute(ts), keys.hour(ts), keys.day(ts)
        figures.counts_per_type[kind] += 1
        visitor = f"u:{event['user']}" if event.get("user") else f"s:{event['session']}"
        figures.visitors[d].add(visitor)
        if event.get("ua") and visitor not in agents_seen[d]:
            agents_seen[d].add(visitor)
            for facet, family in zip(("browser", "os", "device"), agent_families(event["ua"])):
                figures.agents[(d, facet)][family] += 1
        if kind == "page_view":
            figures.pages[d][event.get("page") or "/"] += 1
        elif kind == "product_view":
            figures.products_per_minute[m][event["product"]] += 1
            figures.funnel[(d, "view")].add(event["session"])
            figures.sketch_counts[(h, "products")][str(event["product"])] += 1
        elif kind == "search":
            query = normalise_query(event["q"])
            figures.searches_per_minute[m][query] += 1
            figures.sketch_counts[(h, "searches")][query] += 1
            if not event["results"]:
                figures.no_results[d][query] += 1
        elif kind == "add_to_cart":
            figures.funnel[(d, "cart")].add(event["session"])
        elif kind == "order_placed":
            figures.funnel[(d, "order")].add(event["session"])
            items = sorted(set(event["items"]))
            figures.orders += 1
            for a in items:
                figures.item_orders[a] += 1
                figures.pairs[a].update(b for b in items if b != a)
        elif kind == "order_confirmed":
            figures.funnel[(d, "confirmed")].add(str(event["order"]))
    return figures
