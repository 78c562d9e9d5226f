"""Domain logic of the users service: accounts, credentials, profiles. The transaction boundary lives here."""

from sqlalchemy import select, update as sql_update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chassis.versioned_cache import VersionedCache
from users.errors import EmailTaken
from users.models import User
from users.passwords import Passwords
from users.schemas import UserCreate, UserRead, UserUpdate


async def create(*, session: AsyncSession, passwords: Passwords, data: UserCreate, role: str = "customer") -> UserRead:
    """Create an account; EmailTaken if the (lower-cased) email is in use."""
    password_hash = await passwords.hash(data.password)
    # ON CONFLICT DO NOTHING: two concurrent registrations of one email cannot both win, and
    # the loser gets a clean "taken" instead of an IntegrityError in an aborted transaction.
    statement = (
        insert(User)
        .values(email=data.email, name=data.name, password_hash=password_hash, role=role)
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User)
    )
    user = (await session.execute(statement)).scalar_one_or_none()
    if user is None:
        raise EmailTaken()
    await session.commit()
    return UserRead.model_validate(user)


async def authenticate(*, session: AsyncSession, passwords: Passwords, email: str, password: str) -> UserRead | None:
    """The user whose email and password match, else None (the same cost whether the email exists or not)."""
    user = (await session.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none()
    if not await passwords.verify(user.password_hash if user else None, password):
        return None
    if passwords.hasher.check_needs_rehash(user.password_hash):
        # Hash parameters were raised since this password was set: upgrade it now that we know it.
        user.password_hash = await passwords.hash(password)
        await session.commit()
    return UserRead.model_validate(user)


async def get(*, session: AsyncSession, cache: VersionedCache, user_id: int) -> UserRead | None:
    """A user's profile, read through the cache (cache-aside with versioned keys: chassis.versioned_cache)."""

    async def load() -> str | None:
        user = await session.get(User, user_id)
        return UserRead.model_validate(user).model_dump_json() if user else None

    cached, _ = await cache.get_or_load(user_id, load)
    return UserRead.model_validate_json(cached) if cached else None


async def update(*, session: AsyncSession, cache: VersionedCache, user_id: int, data: UserUpdate) -> UserRead | None:
    """Change a profile: commit to the database, then write the new profile through to the cache under a
    new version, so a reader that loaded the old profile before the commit cannot put it back."""
    statement = sql_update(User).where(User.id == user_id).values(name=data.name).returning(User)
    user = (await session.execute(statement)).scalar_one_or_none()
    if user is None:
        return None
    await session.commit()
    profile = UserRead.model_validate(user)
    await cache.replace(user_id, profile.model_dump_json())
    return profile


async def seed_admin(*, session: AsyncSession, passwords: Passwords, email: str, password: str, name: str) -> bool:
    """Create the development admin if absent (idempotent: every replica runs it at startup); True if created."""
    statement = (
        insert(User)
        .values(email=email.lower(), name=name, password_hash=await passwords.hash(password), role="admin")
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User.id)
    )
    created = (await session.execute(statement)).scalar_one_or_none()
    await session.commit()
    return created is not None
