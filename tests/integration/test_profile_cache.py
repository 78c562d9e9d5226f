"""users' profile cache is the chassis cache (chassis/versioned_cache.py), so the race that module names
stays closed for profiles too: a slow reader that loaded a profile before a write cannot put it
back after the write (a plain SET on a miss, as the hand-rolled cache did, reopens it).
Real Redis of the test stack; the users table is a fake whose reads can be held."""

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from chassis.versioned_cache import VersionedCache
from users import service
from users.models import User
from users.schemas import UserUpdate

pytestmark = pytest.mark.stack


@pytest.fixture
async def cache(stack):
    client = redis.Redis(host=stack.address("redis"), port=6379, decode_responses=True)
    yield VersionedCache(client, name=f"test-profile-{uuid.uuid4().hex[:8]}", ttl_seconds=60)
    await client.aclose()


class UsersTable:
    """One row of `users`; a read takes the row as it is now and answers `read_delay` seconds later."""

    def __init__(self, name: str):
        self.name, self.read_delay, self.reads = name, 0.0, 0

    def row(self) -> User:
        return User(id=7, email="ada@example.com", name=self.name, role="customer", password_hash="-")

    async def get(self, _model, user_id: int) -> User | None:
        self.reads += 1
        row = self.row()
        await asyncio.sleep(self.read_delay)
        return row if user_id == 7 else None

    async def execute(self, statement):  # the UPDATE ... RETURNING of service.update
        self.name = statement.compile().params["name"]
        row = self.row()

        class Result:
            def scalar_one_or_none(self) -> User:
                return row

        return Result()

    async def commit(self) -> None:
        pass


async def test_a_slow_profile_read_cannot_put_back_the_name_from_before_a_write(cache):
    table = UsersTable("Ada")
    table.read_delay = 0.3
    slow_read = asyncio.create_task(service.get(session=table, cache=cache, user_id=7))
    await asyncio.sleep(0.1)  # the reader holds "Ada" and has not filled the cache yet
    table.read_delay = 0.0
    await service.update(session=table, cache=cache, user_id=7, data=UserUpdate(name="Grace"))
    assert (await slow_read).name == "Ada"  # it answers its own caller with what it read...
    reads = table.reads
    assert (await service.get(session=table, cache=cache, user_id=7)).name == "Grace"  # ...but cached nothing
    assert table.reads == reads  # and that read was a hit on the written-through profile


async def test_an_unknown_user_is_cached_as_absent(cache):
    table = UsersTable("Ada")
    assert await service.get(session=table, cache=cache, user_id=8) is None
    assert await service.get(session=table, cache=cache, user_id=8) is None
    assert table.reads == 1
