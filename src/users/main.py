"""App wiring of the users service: the password hasher, the profile cache, the development admin, the routes."""

from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from chassis.app import create_service_app
from chassis.versioned_cache import VersionedCache
from users import service
from users.passwords import Passwords
from users.router import router
from users.settings import get_settings

log = structlog.get_logger("users")

# The profile cache is the chassis cache (cache-aside, versioned keys, write-through, stampede guard):
# keys users_profile:v1:<id>:<version>. Bump the schema when UserRead changes shape.
PROFILE_CACHE = "users_profile"
PROFILE_CACHE_SCHEMA = 1


@asynccontextmanager
async def users_resources(app: FastAPI):
    settings = get_settings()
    app.state.passwords = Passwords(
        concurrency=settings.password_hash_concurrency,
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )
    app.state.profile_cache = VersionedCache(app.state.redis, name=PROFILE_CACHE, schema_version=PROFILE_CACHE_SCHEMA,
                                             ttl_seconds=settings.profile_cache_ttl_seconds)
    if settings.admin_email:
        # Seeded by every replica at startup rather than in the migration: a migration is schema, and
        # would bake one password hash into history; INSERT ... ON CONFLICT DO NOTHING makes the two
        # replicas' concurrent runs harmless. A changed ADMIN_PASSWORD does not overwrite an existing admin.
        async with app.state.db.sessions() as session:
            created = await service.seed_admin(session=session, passwords=app.state.passwords,
                                               email=settings.admin_email, password=settings.admin_password,
                                               name=settings.admin_name)
        log.info("admin seeded" if created else "admin present", email=settings.admin_email)
    yield


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop users", routers=[router], resources=[users_resources])
