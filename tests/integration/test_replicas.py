"""chassis.replicas against the real products primary and its streaming replica on the test stack:
the lag check measures bytes of WAL, and the verdict routes reads (replica, or primary for lag)."""

import pytest
from sqlalchemy import text

from chassis.db import Database, create_engine
from chassis.metrics.db import DB_READS, DB_REPLICA_LAG_BYTES
from chassis.replicas import FALLBACK_LAG, PRIMARY, READ_PRIMARY, RECENT_WRITE, REPLICA, ReadRouter
from chassis.settings import ServiceSettings

pytestmark = pytest.mark.stack

WHO_AM_I = text("SELECT pg_is_in_recovery()")


@pytest.fixture
async def databases(stack):
    """The products service's own URLs: both Patroni nodes, read-write for the primary, prefer-standby for reads."""
    settings = ServiceSettings(service_name="replica-test")
    env = stack.plan()["products-1"]["env"]
    primary = Database(create_engine(env["DATABASE_URL"], settings))
    replica = Database(create_engine(env["DATABASE_REPLICA_URL"], settings))
    yield primary, replica
    await primary.dispose()
    await replica.dispose()


def router(databases, max_lag_bytes: int) -> ReadRouter:
    primary, replica = databases
    return ReadRouter(service="replica-test", primary=primary, replica=replica,
                      max_lag_bytes=max_lag_bytes, check_seconds=1)


async def in_recovery(session) -> bool:
    return (await session.execute(WHO_AM_I)).scalar_one()


async def test_a_fresh_replica_serves_reads(databases):
    reads = router(databases, max_lag_bytes=1_048_576)
    await reads.check()
    assert reads.verdict == REPLICA
    assert 0 <= DB_REPLICA_LAG_BYTES.labels("replica-test")._value.get() <= 1_048_576
    assert await reads.read(in_recovery) is True  # answered by the standby


async def test_a_replica_behind_the_bound_sends_reads_to_the_primary(databases):
    reads = router(databases, max_lag_bytes=-1)  # a bound no replica can meet: even zero lag is too much
    await reads.check()
    assert reads.verdict == FALLBACK_LAG
    before = DB_READS.labels("replica-test", PRIMARY, FALLBACK_LAG)._value.get()
    assert await reads.read(in_recovery) is False  # answered by the primary
    assert DB_READS.labels("replica-test", PRIMARY, FALLBACK_LAG)._value.get() == before + 1


async def test_a_cache_refilling_after_a_write_reads_the_primary(databases):
    reads = router(databases, max_lag_bytes=1_048_576)
    await reads.check()
    assert reads.verdict == REPLICA
    token = READ_PRIMARY.set(True)  # what chassis.versioned_cache sets for a miss right after an invalidation
    try:
        assert await reads.read(in_recovery) is False  # answered by the primary
    finally:
        READ_PRIMARY.reset(token)
    assert DB_READS.labels("replica-test", PRIMARY, RECENT_WRITE)._value.get() >= 1
    assert await reads.read(in_recovery) is True  # and the next read is the replica's again


async def test_without_a_replica_every_read_is_a_primary_read(databases):
    primary, _ = databases
    reads = ReadRouter(service="replica-test", primary=primary, replica=None, max_lag_bytes=0, check_seconds=1)
    await reads.check()
    assert reads.verdict == PRIMARY
    assert await reads.read(in_recovery) is False
