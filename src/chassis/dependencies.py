"""FastAPI dependencies every service shares, for its `dependencies.py` to alias with `Annotated`.

They are `async def` although they do no I/O: FastAPI runs a plain `def` dependency in a worker
thread, and that hop cost 14% of a cached product read's CPU (py-spy, issue "Load tests", scenario 2).
"""

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session on the service's own database (the primary), closed when the response is sent."""
    async with request.app.state.db.sessions() as db_session:
        yield db_session


def app_state(name: str) -> Callable[[Request], Coroutine[Any, Any, Any]]:
    """A dependency answering `app.state.<name>`: something the lifespan opened once per process."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    dependency.__name__ = name  # one name per dependency in FastAPI's dependency cache and in tracebacks
    return dependency


SessionDep = Annotated[AsyncSession, Depends(session)]
