"""chassis.flags and chassis.faults without Redis: a store whose snapshot the test writes (a fake at
the unit tier), read through the real OpenFeature SDK and the real ASGI middleware."""

import time

import httpx
import pytest
from fastapi import FastAPI
from openfeature.flag_evaluation import Reason

from chassis.faults import FaultMiddleware
from chassis.flag_catalogue import CATALOGUE, parse_value
from chassis.flag_store import FlagsRefused, FlagStore
from chassis.flags import Flags, RedisHashProvider, bucket
from openfeature import api
from openfeature.evaluation_context import EvaluationContext


class SnapshotStore(FlagStore):
    """The real lookup rules over a snapshot set by the test; no mirror thread."""

    def __init__(self, snapshot: dict, environment: str = "development"):
        super().__init__("redis://unused", environment=environment)
        self.snapshot = {field: parse_value(CATALOGUE[field.split("@")[0]], value) for field, value in snapshot.items()}
        self.loaded.set()

    def ensure_started(self) -> None:
        pass


def flags_over(snapshot: dict, *, service="products", replica="products-1", environment="development",
               version="v1") -> Flags:
    store = SnapshotStore(snapshot, environment)
    api.set_provider(RedisHashProvider(store, environment=environment), domain="scaleshop-redis-hash")
    return Flags(store, service, replica, version)


def test_the_most_specific_target_wins_replica_then_service_then_everyone():
    snapshot = {"latency_ms": 10, "latency_ms@products": 20, "latency_ms@products-1": 30}
    assert flags_over(snapshot).value("latency_ms") == 30
    assert flags_over(snapshot, replica="products-2").value("latency_ms") == 20
    assert flags_over(snapshot, service="orders", replica="orders-1").value("latency_ms") == 10
    assert flags_over({}).value("latency_ms") == 0  # the catalogue's default


def test_a_version_target_reaches_only_the_replicas_of_that_version():
    snapshot = {"error_rate@products:v2": 0.5, "error_rate@products": 0.1}
    assert flags_over(snapshot, replica="products-3", version="v2").value("error_rate") == 0.5
    assert flags_over(snapshot, replica="products-1", version="v1").value("error_rate") == 0.1
    assert flags_over(snapshot, service="orders", replica="orders-1", version="v2").value("error_rate") == 0.0
    # one replica's own setting still wins over its version's
    assert flags_over({**snapshot, "error_rate@products-3": 0.0}, replica="products-3",
                      version="v2").value("error_rate") == 0.0


def test_fault_flags_resolve_to_their_default_outside_development():
    flags = flags_over({"error_rate": 1.0}, environment="production")
    details = flags.client.get_float_details("error_rate", 0.0, flags.context())
    assert details.value == 0.0 and details.reason == Reason.DISABLED


def test_setting_a_fault_flag_is_refused_outside_development():
    with pytest.raises(FlagsRefused):
        FlagStore("redis://unused", environment="production").set("latency_ms", 100)


def test_values_are_validated_against_the_catalogue():
    assert parse_value(CATALOGUE["latency_ms"], "250") == 250
    assert parse_value(CATALOGUE["error_rate"], "0.5") == 0.5
    for name, bad in (("error_rate", "1.5"), ("latency_ms", "-1"), ("latency_ms", "fast"), ("latency_ms", "2.5")):
        with pytest.raises(ValueError):
            parse_value(CATALOGUE[name], bad)
    with pytest.raises(KeyError):
        FlagStore("redis://unused").set("no_such_flag", 1)


def test_a_strategy_flag_takes_only_a_known_strategy():
    assert parse_value(CATALOGUE["product_cache_strategy"], "refresh-ahead") == "refresh-ahead"
    with pytest.raises(ValueError, match="one of"):
        parse_value(CATALOGUE["product_cache_strategy"], "write-around")
    assert flags_over({"product_cache_strategy@products": "none"}).value("product_cache_strategy") == "none"


def test_a_percentage_rollout_is_stable_per_user_and_close_to_its_share():
    flags = flags_over({"error_rate": {"percent": 25, "value": 1.0}})
    users = [str(n) for n in range(2000)]
    first = [flags.value("error_rate", user_id=user) for user in users]
    assert first == [flags.value("error_rate", user_id=user) for user in users]  # same user, same answer
    share = sum(1 for value in first if value == 1.0) / len(users)
    assert 0.2 < share < 0.3
    assert all((value == 1.0) == (bucket("error_rate", user) < 25) for user, value in zip(users, first))
    assert flags.value("error_rate") == 0.0  # no user id: outside any rollout


def test_a_wrongly_typed_evaluation_is_an_error_not_a_crash():
    flags = flags_over({"latency_ms": 5})
    details = flags.client.get_boolean_details("latency_ms", False, EvaluationContext(attributes={}))
    assert details.value is False and details.error_code is not None


def app_with(flags: Flags) -> httpx.AsyncClient:
    app = FastAPI()

    @app.get("/thing")
    async def thing():
        return {"ok": True}

    @app.get("/health/ready")
    async def ready():
        return {"status": "ok"}

    app.add_middleware(FaultMiddleware, flags=flags)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_error_rate_one_answers_503_naming_the_injector_but_health_is_exempt():
    async with app_with(flags_over({"error_rate@products-1": 1.0})) as client:
        failed = await client.get("/thing")
        assert failed.status_code == 503
        assert failed.json()["dependency"] == "fault-injector" and failed.json()["replica"] == "products-1"
        assert (await client.get("/health/ready")).status_code == 200
    async with app_with(flags_over({"error_rate@products-1": 1.0}, replica="products-2")) as client:
        assert (await client.get("/thing")).status_code == 200  # the other replica is untouched


async def test_latency_is_added_to_the_share_of_requests_asked():
    async with app_with(flags_over({"latency_ms": 200})) as client:
        started = time.perf_counter()
        assert (await client.get("/thing")).status_code == 200
        assert time.perf_counter() - started >= 0.2
    async with app_with(flags_over({"latency_ms": 200, "latency_share": 0.0})) as client:
        started = time.perf_counter()
        await client.get("/thing")
        assert time.perf_counter() - started < 0.2
