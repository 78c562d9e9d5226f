"""HTTP routes of the users service (the gateway exposes them as /api/users/...). Thin: logic is in service.py."""

from fastapi import APIRouter, Response, status

from chassis.error_handlers import errors
from chassis.identity import CurrentUser
from users import service, sessions
from users.dependencies import PasswordsDep, ProfileCacheDep, RedisDep, SessionDep, SettingsDep
from users.errors import EmailTaken, InvalidCredentials, InvalidRefreshToken, UserNotFound
from users.schemas import LoginRequest, RefreshRequest, TokenPair, UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserRead, responses=errors(EmailTaken))
async def register(data: UserCreate, session: SessionDep, passwords: PasswordsDep, cache: ProfileCacheDep) -> UserRead:
    """Create a customer account."""
    profile = await service.create(session=session, passwords=passwords, data=data)
    await cache.set(profile)  # write-through from the first write: the first GET /me is a hit
    return profile


@router.post("/login", response_model=TokenPair, responses=errors(InvalidCredentials))
async def login(data: LoginRequest, session: SessionDep, passwords: PasswordsDep, redis: RedisDep,
                settings: SettingsDep) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    user = await service.authenticate(session=session, passwords=passwords, email=data.email, password=data.password)
    if user is None:
        raise InvalidCredentials()
    return await sessions.issue(redis=redis, settings=settings, user=user)


@router.post("/refresh", response_model=TokenPair, responses=errors(InvalidRefreshToken))
async def refresh(data: RefreshRequest, session: SessionDep, redis: RedisDep, settings: SettingsDep,
                  cache: ProfileCacheDep) -> TokenPair:
    """Rotate a refresh token: the old one stops working, a new pair is returned."""
    user_id = await sessions.consume(redis=redis, refresh_token=data.refresh_token)
    user = await service.get(session=session, cache=cache, user_id=user_id) if user_id else None
    if user is None:
        raise InvalidRefreshToken()
    return await sessions.issue(redis=redis, settings=settings, user=user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(data: RefreshRequest, redis: RedisDep) -> Response:
    """Revoke a refresh token (idempotent)."""
    await sessions.revoke(redis=redis, refresh_token=data.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserRead, responses=errors(UserNotFound))
async def read_me(identity: CurrentUser, session: SessionDep, cache: ProfileCacheDep) -> UserRead:
    """The caller's profile (served from the cache when present)."""
    return _found(await service.get(session=session, cache=cache, user_id=identity.user_id))


@router.patch("/me", response_model=UserRead, responses=errors(UserNotFound))
async def update_me(data: UserUpdate, identity: CurrentUser, session: SessionDep, cache: ProfileCacheDep) -> UserRead:
    """Change the caller's name (database, then cache: write-through)."""
    return _found(await service.update(session=session, cache=cache, user_id=identity.user_id, data=data))


def _found(profile: UserRead | None) -> UserRead:
    if profile is None:
        raise UserNotFound()
    return profile
