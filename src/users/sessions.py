"""Refresh tokens ("sessions") in Redis: any replica serves any user (seed: "Stateless Design").

A refresh token is an opaque random string; Redis holds `users:refresh:<sha256 of token>`
-> user id, with the refresh TTL. Only the digest is stored, so a copy of Redis holds no
usable token. Nothing lives in a replica's memory: kill one, the next request goes to the
other and the session goes on.

Rotation (seed: "Refresh token rotation"): each refresh consumes the token with GETDEL, one
atomic step, and issues a new pair. A token works exactly once; a replayed (stolen) or
concurrently reused token finds nothing and gets a 401. Logout deletes it.
"""

import hashlib
import secrets

from redis.asyncio import Redis

from chassis.tokens import issue_access_token
from users.schemas import TokenPair, UserRead
from users.settings import UsersSettings

KEY_PREFIX = "users:refresh"


def key(refresh_token: str) -> str:
    return f"{KEY_PREFIX}:{hashlib.sha256(refresh_token.encode()).hexdigest()}"


async def issue(*, redis: Redis, settings: UsersSettings, user: UserRead) -> TokenPair:
    """A new access token and a new refresh token for `user`."""
    refresh_token = secrets.token_urlsafe(32)
    await redis.set(key(refresh_token), str(user.id), ex=settings.refresh_token_ttl_seconds)
    access_token = issue_access_token(user_id=user.id, role=user.role, secret=settings.jwt_secret,
                                      ttl_seconds=settings.access_token_ttl_seconds)
    return TokenPair(access_token=access_token, refresh_token=refresh_token,
                     expires_in=settings.access_token_ttl_seconds)


async def consume(*, redis: Redis, refresh_token: str) -> int | None:
    """Use up a refresh token: the user id it belonged to, or None if unknown, expired or already used."""
    user_id = await redis.getdel(key(refresh_token))
    return int(user_id) if user_id else None


async def revoke(*, redis: Redis, refresh_token: str) -> None:
    """Log out: the refresh token stops working (the access token expires on its own within minutes)."""
    await redis.delete(key(refresh_token))
