"""An async SQLAlchemy engine per process, opened in the app's lifespan (never at import time)."""

from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from chassis.settings import ServiceSettings


def create_engine(url: str, settings: ServiceSettings, *, pooled: bool = True) -> AsyncEngine:
    """A pooled engine for a web worker; NullPool for short-lived processes (Celery tasks, migrations)."""
    connect_args = {
        "server_settings": {
            "application_name": settings.replica_name,
            "statement_timeout": str(settings.db_statement_timeout_ms),
        },
        "timeout": settings.db_pool_timeout_seconds,
    }
    if not pooled:
        return create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=True,  # a connection killed by a DB restart is replaced, not handed out
        connect_args=connect_args,
    )


class Database:
    """One engine and its session factory."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
