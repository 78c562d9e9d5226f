"""Replica discovery (gateway.discovery): a pool follows the registered set, keeping what it knows."""

import asyncio

from chassis.balancer import ReplicaPool
from gateway import discovery


def test_apply_adds_and_removes_replicas_and_keeps_the_state_of_those_that_stay():
    pool = ReplicaPool("products", ["http://10.0.0.1:8000", "http://10.0.0.2:8000"])
    pool.eject(pool.replicas[1])
    kept = pool.replicas[1]
    assert discovery.apply(pool, {"http://10.0.0.2:8000", "http://10.0.0.3:8000/"})
    assert [r.url for r in pool.replicas] == ["http://10.0.0.2:8000", "http://10.0.0.3:8000"]
    assert pool.replicas[0] is kept and not kept.available  # still ejected: state kept
    assert {r.url for r in pool.candidates()} == {"http://10.0.0.2:8000", "http://10.0.0.3:8000"}


def test_apply_never_empties_a_pool_and_reports_no_change():
    pool = ReplicaPool("products", ["http://10.0.0.1:8000"])
    assert not discovery.apply(pool, set())
    assert not discovery.apply(pool, {"http://10.0.0.1:8000"})
    assert [r.url for r in pool.replicas] == ["http://10.0.0.1:8000"]


class FakeRedis:
    """The two calls discovery makes (a pipeline of SMEMBERS), over a dict of sets."""

    def __init__(self, sets):
        self.sets = sets

    def pipeline(self, transaction=False):
        return FakePipeline(self.sets)


class FakePipeline:
    def __init__(self, sets):
        self.sets, self.keys = sets, []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    def smembers(self, key):
        self.keys.append(key)

    async def execute(self):
        return [self.sets.get(key, set()) for key in self.keys]


def test_refresh_applies_each_services_registered_set_and_ignores_unregistered_ones():
    pools = {"products": ReplicaPool("products", ["http://10.0.0.1:8000"]),
             "users": ReplicaPool("users", ["http://10.0.1.1:8000"])}
    fake = FakeRedis({"discovery:replicas:products": {"http://10.0.0.1:8000", "http://10.0.0.9:8000"}})
    asyncio.run(discovery.refresh(fake, pools))
    assert [r.url for r in pools["products"].replicas] == ["http://10.0.0.1:8000", "http://10.0.0.9:8000"]
    assert [r.url for r in pools["users"].replicas] == ["http://10.0.1.1:8000"]
