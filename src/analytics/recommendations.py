""""Bought together": association rules over co-purchases (seed 000, "build a simple recommender").

The consumer counts, as orders arrive (analytics/apply.lua): N orders in all, n(a) orders
containing product a, and n(a, b) orders containing both a and b. For the rule a -> b:

    support(a, b)    = n(a, b) / N       how common the pair is among all orders
    confidence(a->b) = n(a, b) / n(a)    how often a buyer of a also bought b
    lift(a->b)       = confidence / (n(b) / N)   > 1: bought together more than by chance

Rules below the minimum support and confidence are dropped (too rare to trust); the rest are
ranked by confidence, then support. Computed when asked from the current counts, so the
thresholds always apply to today's N. The products API serves them
(GET /api/products/{id}/bought-together) from the same Redis, read-only.
"""

from dataclasses import dataclass

import redis.asyncio as aioredis

from analytics import keys

CANDIDATES = 50  # pairs read per product, most frequent first


@dataclass(frozen=True)
class Rule:
    product_id: int
    orders_together: int
    support: float
    confidence: float
    lift: float


def rules_for(n_a: int, total: int, pairs: list[tuple[int, int]], n_of: dict[int, int], *,
              min_support: float, min_confidence: float, limit: int) -> list[Rule]:
    """The rules a -> b from the counts, strongest first (pure: the tests feed it known counts)."""
    if not n_a or not total:
        return []
    rules = []
    for b, together in pairs:
        support, confidence = together / total, together / n_a
        if support < min_support or confidence < min_confidence:
            continue
        lift = confidence / (n_of[b] / total) if n_of.get(b) else 0.0
        rules.append(Rule(b, together, round(support, 6), round(confidence, 6), round(lift, 4)))
    rules.sort(key=lambda rule: (-rule.confidence, -rule.support, rule.product_id))
    return rules[:limit]


async def bought_together(client: aioredis.Redis, product_id: int, *, min_support: float,
                          min_confidence: float, limit: int = 5) -> list[Rule]:
    """Read the counts of one product (three reads, one round trip) and derive its rules."""
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.ORDERS_TOTAL_KEY)
    pipe.hget(keys.ITEM_ORDERS_KEY, str(product_id))
    pipe.zrevrange(keys.pairs(product_id), 0, CANDIDATES - 1, withscores=True)
    total, n_a, pairs = await pipe.execute()
    pairs = [(int(member), int(score)) for member, score in pairs]
    n_of = {}
    if pairs:
        values = await client.hmget(keys.ITEM_ORDERS_KEY, [str(b) for b, _ in pairs])
        n_of = {b: int(v) for (b, _), v in zip(pairs, values) if v is not None}
    return rules_for(int(n_a or 0), int(total or 0), pairs, n_of, min_support=min_support,
                     min_confidence=min_confidence, limit=limit)
