"""The gateway's way to call replicas: round robin, failover, retries only when safe, circuit breaker.

Replicas are faked with httpx.MockTransport (the unit tier: no network, no Postgres/Redis).
"""

import asyncio

import httpx
import pytest
from prometheus_client import REGISTRY

from chassis.balancer import ReplicaPool, parse_upstreams
from chassis.errors import DependencyUnavailable
from chassis.service_client import ServiceClient

URLS = ["http://svc-1:8000", "http://svc-2:8000"]


class FakeReplicas:
    """Each replica answers by a rule: an int status, or an exception class to raise."""

    def __init__(self, **rules):
        self.rules = {"svc-1": 200, "svc-2": 200, **rules}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.calls.append((host, request.method))
        rule = self.rules[host]
        if isinstance(rule, type) and issubclass(rule, Exception):
            raise rule("fake failure", request=request)
        return httpx.Response(rule, json={"replica": host}, headers={"x-served-by": host.replace("svc", "replica")})


def client_for(replicas: FakeReplicas, service: str, **kwargs) -> ServiceClient:
    return ServiceClient(ReplicaPool(service, URLS, eject_seconds=60), caller="test",
                         transport=httpx.MockTransport(replicas), **kwargs)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_parse_upstreams_and_round_robin_order():
    pool = ReplicaPool("svc", parse_upstreams(" http://a:1/, http://b:2 ,"))
    assert [r.url for r in pool.replicas] == ["http://a:1", "http://b:2"]
    firsts = [pool.candidates()[0].url for _ in range(4)]
    assert firsts == ["http://a:1", "http://b:2", "http://a:1", "http://b:2"]
    pool.eject(pool.replicas[0])
    assert [r.url for r in pool.candidates()] == ["http://b:2", "http://a:1"]  # ejected last, never dropped
    pool.restore(pool.replicas[0])
    assert all(r.available for r in pool.replicas)


async def test_requests_alternate_between_replicas_and_are_labelled_by_replica_name():
    replicas = FakeReplicas()
    client = client_for(replicas, "rr")
    for _ in range(4):
        assert (await client.request("GET", "/rr/x")).status_code == 200
    assert [host for host, _ in replicas.calls] == ["svc-1", "svc-2", "svc-1", "svc-2"]
    assert sample("upstream_requests_total", caller="test", service="rr", upstream="replica-1", status="200") == 2
    await client.aclose()


async def test_a_refused_connection_fails_over_for_any_method_and_ejects_the_replica():
    replicas = FakeReplicas(**{"svc-1": httpx.ConnectError})
    client = client_for(replicas, "failover")
    for method in ("GET", "POST", "GET"):
        assert (await client.request(method, "/failover/x")).json() == {"replica": "svc-2"}
    # After the first refusal svc-1 is ejected: the next calls go straight to svc-2.
    assert replicas.calls.count(("svc-1", "GET")) == 1
    await client.aclose()


async def test_a_503_is_retried_on_another_replica_only_for_idempotent_methods():
    replicas = FakeReplicas(**{"svc-1": 503})
    client = client_for(replicas, "unavailable")
    assert (await client.request("GET", "/unavailable/x")).status_code == 200
    assert [host for host, _ in replicas.calls] == ["svc-1", "svc-2"]
    await client.aclose()

    replicas.calls.clear()
    client = client_for(replicas, "unavailable")  # a fresh round robin: svc-1 first
    response = await client.request("POST", "/unavailable/x")
    assert response.status_code == 503  # the upstream's own answer, never re-sent elsewhere
    assert replicas.calls == [("svc-1", "POST")]
    await client.aclose()


async def test_a_post_that_failed_after_sending_is_not_retried():
    replicas = FakeReplicas(**{"svc-1": httpx.ReadTimeout, "svc-2": httpx.ReadTimeout})
    client = client_for(replicas, "sent")
    with pytest.raises(DependencyUnavailable) as failed:
        await client.request("POST", "/sent/x")
    assert failed.value.dependency == "sent"
    assert len(replicas.calls) == 1
    await client.aclose()


async def test_the_breaker_opens_after_consecutive_failures_fails_fast_then_recovers():
    replicas = FakeReplicas(**{"svc-1": httpx.ConnectError, "svc-2": httpx.ConnectError})
    client = client_for(replicas, "breaker", breaker_threshold=3, breaker_ttl_seconds=0.2)
    for _ in range(3):
        with pytest.raises(DependencyUnavailable, match="no replica reachable"):
            await client.request("GET", "/breaker/x")
    assert sample("circuit_breaker_state", caller="test", service="breaker") == 2
    calls_before = len(replicas.calls)
    with pytest.raises(DependencyUnavailable, match="circuit breaker open"):
        await client.request("GET", "/breaker/x")
    assert len(replicas.calls) == calls_before  # open: not even tried

    replicas.rules.update({"svc-1": 200, "svc-2": 200})
    client.pool.restore(client.pool.replicas[0])
    client.pool.restore(client.pool.replicas[1])
    await asyncio.sleep(0.3)  # past the TTL: the next call is the half-open probe
    assert (await client.request("GET", "/breaker/x")).status_code == 200
    assert sample("circuit_breaker_state", caller="test", service="breaker") == 0
    await client.aclose()


async def test_503_answers_count_against_the_breaker_but_500s_and_404s_do_not():
    replicas = FakeReplicas(**{"svc-1": 500, "svc-2": 500})
    client = client_for(replicas, "bugs", breaker_threshold=2, breaker_ttl_seconds=60)
    for _ in range(4):
        assert (await client.request("GET", "/bugs/x")).status_code == 500
    replicas.rules.update({"svc-1": 404, "svc-2": 404})
    assert (await client.request("GET", "/bugs/x")).status_code == 404
    assert sample("circuit_breaker_state", caller="test", service="bugs") == 0

    replicas.rules.update({"svc-1": 503, "svc-2": 503})
    for _ in range(2):
        assert (await client.request("POST", "/bugs/x")).status_code == 503
    with pytest.raises(DependencyUnavailable, match="circuit breaker open"):
        await client.request("POST", "/bugs/x")
    await client.aclose()
