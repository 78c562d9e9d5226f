"""FastAPI dependencies of the users service, as `Annotated` aliases (full-stack-fastapi-template)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.caching import VersionedCache
from users.passwords import Passwords
from users.settings import UsersSettings


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.sessions() as db_session:
        yield db_session


async def redis(request: Request) -> Redis:
    return request.app.state.redis


async def passwords(request: Request) -> Passwords:
    return request.app.state.passwords


async def settings(request: Request) -> UsersSettings:
    return request.app.state.settings


async def profile_cache(request: Request) -> VersionedCache:
    return request.app.state.profile_cache


SessionDep = Annotated[AsyncSession, Depends(session)]
RedisDep = Annotated[Redis, Depends(redis)]
PasswordsDep = Annotated[Passwords, Depends(passwords)]
SettingsDep = Annotated[UsersSettings, Depends(settings)]
ProfileCacheDep = Annotated[VersionedCache, Depends(profile_cache)]
