"""Category listings cached with a TTL plus event invalidation (seed: "Cache Invalidation").

A page of `GET /products?category=&sort=&limit=&offset=` is cached under the category's version
(chassis/versioned_cache.py: `listings:v1:<category>:<version>:<sort>:<limit>:<offset>`, `*` for the whole
catalogue). Every committed product write is an event that bumps the version of each category it
touched (old and new, when a product moves) and of `*`: every cached page of those categories is
orphaned at once, without finding or deleting them, and the next read of each reloads it. The TTL
(PRODUCTS_LISTING_CACHE_TTL_SECONDS, 30 s) is the backstop for changes no event announces (view
counts and popularity change without one: a listing's `views` is up to a TTL old).
"""

from collections.abc import Awaitable, Callable, Iterable

from chassis.versioned_cache import VersionedCache

ALL = "*"  # the listing without a category filter


class ListingCache:
    def __init__(self, store: VersionedCache):
        self.store = store

    async def page(self, category: str | None, part: str, load: Callable[[], Awaitable[str]]) -> tuple[str, str]:
        """The page's JSON and where it came from (HIT, MISS, BYPASS)."""
        body, source = await self.store.get_or_load(category or ALL, load, part=part)
        return body or "", source

    async def products_changed(self, categories: Iterable[str]) -> None:
        """The event: products of these categories were written (and committed)."""
        for category in {*categories, ALL}:
            await self.store.invalidate(category)
