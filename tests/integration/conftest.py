"""The integration tier's own servers: one throwaway redis-server and one throwaway Postgres per
session (redis_server.py, postgres_server.py), each started by the first test that asks for it and
stopped at the end of the session. Tests that take `redis_url` or `postgres_url` need no stack (run
them alone: `pytest tests/integration/test_outbox_relay_on_postgres.py`); the ones marked `stack`
use the live test stack's Redis and Postgres instead."""

import pytest

from postgres_server import postgres_server
from redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """Shared by the session: tests keep to keys of their own (a uuid in each name)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url():
    """The server's `postgres` database: tests create databases of their own on it
    (postgres_server.create_database)."""
    with postgres_server() as url:
        yield url
