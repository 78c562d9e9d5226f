"""FastAPI dependencies of the users service, as `Annotated` aliases (full-stack-fastapi-template)."""

from typing import Annotated

from fastapi import Depends
from redis.asyncio import Redis

from chassis.dependencies import SessionDep, app_state
from chassis.versioned_cache import VersionedCache
from users.passwords import Passwords
from users.settings import UsersSettings

__all__ = ["SessionDep", "RedisDep", "PasswordsDep", "SettingsDep", "ProfileCacheDep"]

RedisDep = Annotated[Redis, Depends(app_state("redis"))]
PasswordsDep = Annotated[Passwords, Depends(app_state("passwords"))]
SettingsDep = Annotated[UsersSettings, Depends(app_state("settings"))]
ProfileCacheDep = Annotated[VersionedCache, Depends(app_state("profile_cache"))]
