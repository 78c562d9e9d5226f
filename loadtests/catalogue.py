"""Skewed product popularity for simulated shoppers (seed: caching, "hot" data).

Real traffic is not uniform: a few products get most views (a Zipf law: the product of
rank r is viewed in proportion to 1/r^s). The catalogue's ids are fetched once per
Locust process, most popular first (`sort=popularity`), and each view draws a rank
from that law, so a cache holding the head of the list serves most reads.
"""

import bisect
import itertools
import random

from gevent.lock import Semaphore

PAGE_SIZE = 100


def zipf_cumulative_weights(count: int, exponent: float) -> list[float]:
    """Cumulative weights of ranks 1..count under Zipf's law with this exponent."""
    return list(itertools.accumulate(1.0 / rank**exponent for rank in range(1, count + 1)))


def draw_rank(cumulative: list[float], rng: random.Random) -> int:
    """A 0-based rank drawn in proportion to its weight."""
    return min(bisect.bisect_left(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


class Catalogue:
    """Product ids by popularity, loaded once per process by the first user that needs them."""

    def __init__(self, *, sample: int = 1000, exponent: float = 1.1, rng: random.Random | None = None):
        self.sample = sample
        self.exponent = exponent
        self.rng = rng or random.Random()
        self.ids: list = []
        self.categories: list[str] = []
        self.terms: list[str] = []
        self.cumulative: list[float] = []
        self._lock = Semaphore()

    def load(self, client) -> None:
        """Page through /api/products?sort=popularity once (the other users wait for the first)."""
        with self._lock:
            if self.ids:
                return
            ids, categories, terms = [], set(), set()
            for offset in range(0, self.sample, PAGE_SIZE):
                with client.get(f"/api/products?sort=popularity&limit={PAGE_SIZE}&offset={offset}",
                                name="/api/products (catalogue load)", catch_response=True) as response:
                    if response.status_code != 200:
                        response.failure(f"catalogue load: HTTP {response.status_code}")
                        break
                    page = response.json()
                items = page.get("items", [])
                ids += [item["id"] for item in items]
                categories |= {item["category"] for item in items if item.get("category")}
                terms |= {word.lower() for item in items for word in item.get("name", "").split() if len(word) > 3}
                if len(items) < PAGE_SIZE or len(ids) >= page.get("total", 0):
                    break
            self.categories = sorted(categories)
            self.terms = sorted(terms)
            self.cumulative = zipf_cumulative_weights(len(ids), self.exponent)
            self.ids = ids

    def popular_id(self, client):
        """A product id, drawn with Zipf-skewed popularity; None if the catalogue is empty."""
        if not self.ids:
            self.load(client)
        if not self.ids:
            return None
        return self.ids[draw_rank(self.cumulative, self.rng)]

    def category(self) -> str | None:
        return self.rng.choice(self.categories) if self.categories else None

    def search_term(self) -> str:
        """A word from a product name: what shoppers type into the search box."""
        return self.rng.choice(self.terms) if self.terms else "shirt"
