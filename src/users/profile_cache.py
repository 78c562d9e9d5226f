"""The profile cache: read-through on GET /me, written through on PATCH /me (seed: "Cache Strategies").

- Cache-aside (read path): look in Redis; on a miss load from the database and store with a TTL.
- Write-through (write path): the request that changes a profile commits to the database and
  then writes the new profile to the cache itself, so the next read (on any replica) is a hit
  with the new value, not a miss or a stale copy.
- The key carries a schema version (`users:profile:v1:<id>`): changing the cached shape means
  bumping it, and old entries are never read again (they expire on their TTL).

The cache is an optimisation, never a dependency: a Redis failure on read is a miss, and on
write the entry is dropped if possible (the TTL bounds staleness if even that fails).
"""

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from chassis.metrics_cache import CACHE_INVALIDATIONS, CACHE_REQUESTS, CACHE_SETS
from users.schemas import UserRead

CACHE_NAME = "users_profile"
KEY_PREFIX = "users:profile:v1"

log = structlog.get_logger("profile_cache")


def key(user_id: int) -> str:
    return f"{KEY_PREFIX}:{user_id}"


class ProfileCache:
    def __init__(self, redis: Redis, *, ttl_seconds: int):
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    async def get(self, user_id: int) -> UserRead | None:
        """The cached profile, or None on a miss (also when Redis is unavailable)."""
        try:
            cached = await self.redis.get(key(user_id))
        except RedisError as error:
            log.warning("profile cache read failed", error=type(error).__name__)
            cached = None
        CACHE_REQUESTS.labels(CACHE_NAME, "hit" if cached else "miss").inc()
        return UserRead.model_validate_json(cached) if cached else None

    async def set(self, profile: UserRead) -> None:
        """Store `profile` with the TTL; on failure drop the entry so no stale copy outlives the write."""
        try:
            await self.redis.set(key(profile.id), profile.model_dump_json(), ex=self.ttl_seconds)
            CACHE_SETS.labels(CACHE_NAME).inc()
        except RedisError as error:
            log.warning("profile cache write failed", error=type(error).__name__)
            await self.invalidate(profile.id)

    async def invalidate(self, user_id: int) -> None:
        try:
            await self.redis.delete(key(user_id))
            CACHE_INVALIDATIONS.labels(CACHE_NAME).inc()
        except RedisError as error:
            log.warning("profile cache invalidation failed", error=type(error).__name__)
