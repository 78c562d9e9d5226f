"""Rate limiting in Redis, shared by every gateway replica (seed: "DDoS Protection", rate limiting).

Fixed window counters, as in the seed's example (`INCR` then `EXPIRE`), with two fixes:
the window number is part of the key and INCR + EXPIRE run in one MULTI, so a crash
between them cannot leave a counter that never expires. The price of a fixed window
is a burst of up to 2x the limit across a window boundary; a sliding log (a sorted set
per caller) removes it for one more Redis command per request, not worth it here.

Three limits:
- user: requests per second per authenticated user id;
- anonymous: requests per second per client address (no token);
- login: failed logins per minute per client address and email (brute-force
  protection: only failures count, so a user who logs in often is never locked out).

A Redis failure lets the request through (fail open): losing rate limits for a moment
is better than losing the whole shop with the cache.
"""

import math
import time
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("ratelimit")


@dataclass(frozen=True)
class Window:
    key: str
    retry_after: int  # seconds until this window ends


def current_window(name: str, window_seconds: int, now: float | None = None) -> Window:
    now = time.time() if now is None else now
    number = int(now // window_seconds)
    ends_at = (number + 1) * window_seconds
    return Window(key=f"ratelimit:{name}:{number}", retry_after=max(1, math.ceil(ends_at - now)))


async def hit(redis: Redis, *, name: str, limit: int, window_seconds: int) -> int | None:
    """Count one request; None if it is within `limit`, else the Retry-After in seconds."""
    if limit <= 0:
        return None
    window = current_window(name, window_seconds)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(window.key)
            pipe.expire(window.key, window_seconds + 1)
            count, _ = await pipe.execute()
    except RedisError as error:
        log.warning("rate limit skipped: redis unavailable", error=type(error).__name__)
        return None
    return window.retry_after if count > limit else None


async def exceeded(redis: Redis, *, name: str, limit: int, window_seconds: int) -> int | None:
    """Without counting: None if fewer than `limit` were counted in this window, else the Retry-After."""
    if limit <= 0:
        return None
    window = current_window(name, window_seconds)
    try:
        count = int(await redis.get(window.key) or 0)
    except RedisError as error:
        log.warning("rate limit skipped: redis unavailable", error=type(error).__name__)
        return None
    return window.retry_after if count >= limit else None
