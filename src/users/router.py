"""HTTP routes of the users service (the gateway exposes them as /api/users/...). Thin: logic is in service.py."""

from fastapi import APIRouter, HTTPException, Response, status

from chassis.identity import CurrentUser
from users import service, sessions
from users.dependencies import PasswordsDep, ProfileCacheDep, RedisDep, SessionDep, SettingsDep
from users.schemas import LoginRequest, RefreshRequest, TokenPair, UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

INVALID_CREDENTIALS = "invalid credentials"
INVALID_REFRESH_TOKEN = "invalid or expired refresh token"


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserRead,
             responses={409: {"description": "Email already registered"}})
async def register(data: UserCreate, session: SessionDep, passwords: PasswordsDep, cache: ProfileCacheDep) -> UserRead:
    """Create a customer account."""
    try:
        profile = await service.create(session=session, passwords=passwords, data=data)
    except service.EmailTaken:
        raise HTTPException(status_code=409, detail="email already registered") from None
    await cache.set(profile)  # write-through from the first write: the first GET /me is a hit
    return profile


@router.post("/login", response_model=TokenPair, responses={401: {"description": "Invalid credentials"}})
async def login(data: LoginRequest, session: SessionDep, passwords: PasswordsDep, redis: RedisDep,
                settings: SettingsDep) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    user = await service.authenticate(session=session, passwords=passwords, email=data.email, password=data.password)
    if user is None:
        raise HTTPException(status_code=401, detail=INVALID_CREDENTIALS)
    return await sessions.issue(redis=redis, settings=settings, user=user)


@router.post("/refresh", response_model=TokenPair, responses={401: {"description": "Unknown or used token"}})
async def refresh(data: RefreshRequest, session: SessionDep, redis: RedisDep, settings: SettingsDep,
                  cache: ProfileCacheDep) -> TokenPair:
    """Rotate a refresh token: the old one stops working, a new pair is returned."""
    user_id = await sessions.consume(redis=redis, refresh_token=data.refresh_token)
    user = await service.get(session=session, cache=cache, user_id=user_id) if user_id else None
    if user is None:
        raise HTTPException(status_code=401, detail=INVALID_REFRESH_TOKEN)
    return await sessions.issue(redis=redis, settings=settings, user=user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(data: RefreshRequest, redis: RedisDep) -> Response:
    """Revoke a refresh token (idempotent)."""
    await sessions.revoke(redis=redis, refresh_token=data.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserRead)
async def read_me(identity: CurrentUser, session: SessionDep, cache: ProfileCacheDep) -> UserRead:
    """The caller's profile (served from the cache when present)."""
    return await _found(await service.get(session=session, cache=cache, user_id=identity.user_id))


@router.patch("/me", response_model=UserRead)
async def update_me(data: UserUpdate, identity: CurrentUser, session: SessionDep, cache: ProfileCacheDep) -> UserRead:
    """Change the caller's name (database, then cache: write-through)."""
    return await _found(await service.update(session=session, cache=cache, user_id=identity.user_id, data=data))


async def _found(profile: UserRead | None) -> UserRead:
    if profile is None:
        raise HTTPException(status_code=404, detail="user not found")
    return profile
