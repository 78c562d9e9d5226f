"""The gateway's way to call replicas: round robin, failover, retries only when safe, circuit breaker.

The replicas are small aiohttp servers on loopback ports, each answering by a rule
that a test can change: a status code, "hang" (answers after the client's timeout),
or "down" (nothing listens: the connection is refused).
"""

import asyncio
import socket

import pytest
import structlog
from aiohttp import web
from prometheus_client import REGISTRY

from chassis.balancer import ReplicaPool, parse_upstreams
from chassis.errors import FAILED_DEPENDENCY_HEADER, DependencyUnavailable
from chassis.service_client import ServiceClient

TIMEOUT = 0.5


class FakeReplicas:
    """Two replicas, "svc-1" and "svc-2", and every call they received as (name, method)."""

    def __init__(self, **rules):
        self.rules = {"svc-1": 200, "svc-2": 200, **rules}
        self.calls: list[tuple[str, str]] = []
        self.urls: dict[str, str] = {}
        self.runners: list[web.AppRunner] = []

    async def start(self) -> "FakeReplicas":
        for name in ("svc-1", "svc-2"):
            if self.rules[name] == "down":
                self.urls[name] = f"http://127.0.0.1:{closed_port()}"
                continue
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self.handler(name))
            # A hanging handler is cancelled at clean-up, not waited for (it would hold each test 1.5 s).
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.05)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            self.urls[name] = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return self

    def handler(self, name: str):
        async def answer(request: web.Request) -> web.Response:
            self.calls.append((name, request.method))
            rule = self.rules[name]
            if rule == "hang":
                await asyncio.sleep(TIMEOUT * 4)
                rule = 200
            headers = {"x-served-by": name.replace("svc", "replica")}
            if rule == "db-down":  # the replica is up; the database behind it is not (chassis/errors.py)
                rule, headers[FAILED_DEPENDENCY_HEADER] = 503, "svc-db"
            return web.json_response({"replica": name}, status=rule, headers=headers)

        return answer

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def replicas_with():
    started: list[FakeReplicas] = []

    async def start(**rules) -> FakeReplicas:
        started.append(await FakeReplicas(**rules).start())
        return started[-1]

    yield start
    for replicas in started:
        await replicas.stop()


def client_for(replicas: FakeReplicas, service: str, **kwargs) -> ServiceClient:
    urls = [replicas.urls["svc-1"], replicas.urls["svc-2"]]
    return ServiceClient(ReplicaPool(service, urls, eject_seconds=60), caller="test", timeout=TIMEOUT, **kwargs)


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


async def test_requests_alternate_between_replicas_and_are_labelled_by_replica_name(replicas_with):
    replicas = await replicas_with()
    client = client_for(replicas, "rr")
    for _ in range(4):
        assert (await client.request("GET", "/rr/x")).status_code == 200
    assert [name for name, _ in replicas.calls] == ["svc-1", "svc-2", "svc-1", "svc-2"]
    assert sample("upstream_requests_total", caller="test", service="rr", upstream="replica-1", status="200") == 2
    await client.aclose()


async def test_a_refused_connection_fails_over_for_any_method_and_ejects_the_replica(replicas_with):
    replicas = await replicas_with(**{"svc-1": "down"})
    client = client_for(replicas, "failover")
    for method in ("GET", "POST", "GET"):
        assert (await client.request(method, "/failover/x")).json() == {"replica": "svc-2"}
    assert replicas.calls == [("svc-2", "GET"), ("svc-2", "POST"), ("svc-2", "GET")]
    # After the first refusal svc-1 is ejected: the next calls go straight to svc-2.
    assert sample("upstream_errors_total", caller="test", service="failover",
                  upstream=replicas.urls["svc-1"].split("//")[1], kind="connect") == 1
    await client.aclose()


async def test_a_503_is_retried_on_another_replica_only_for_idempotent_methods(replicas_with):
    replicas = await replicas_with(**{"svc-1": 503})
    client = client_for(replicas, "unavailable")
    assert (await client.request("GET", "/unavailable/x")).status_code == 200
    assert [name for name, _ in replicas.calls] == ["svc-1", "svc-2"]
    await client.aclose()

    replicas.calls.clear()
    client = client_for(replicas, "unavailable")  # a fresh round robin: svc-1 first
    response = await client.request("POST", "/unavailable/x")
    assert response.status_code == 503  # the upstream's own answer, never re-sent elsewhere
    assert response.json() == {"replica": "svc-1"}
    assert replicas.calls == [("svc-1", "POST")]
    await client.aclose()


async def test_a_post_that_failed_after_sending_is_not_retried(replicas_with):
    replicas = await replicas_with(**{"svc-1": "hang", "svc-2": "hang"})
    client = client_for(replicas, "sent")
    with pytest.raises(DependencyUnavailable) as failed:
        await client.request("POST", "/sent/x")
    assert failed.value.dependency == "sent"
    assert replicas.calls == [("svc-1", "POST")]
    await client.aclose()


async def test_a_get_that_timed_out_is_retried_on_the_other_replica(replicas_with):
    replicas = await replicas_with(**{"svc-1": "hang"})
    client = client_for(replicas, "timeout")
    assert (await client.request("GET", "/timeout/x")).json() == {"replica": "svc-2"}
    assert replicas.calls == [("svc-1", "GET"), ("svc-2", "GET")]
    await client.aclose()


async def test_bodies_query_strings_and_the_request_id_reach_the_replica(replicas_with):
    replicas = await replicas_with()
    seen = {}

    async def echo(request):
        seen.update(query=dict(request.query), body=await request.json(), request_id=request.headers["x-request-id"])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    client = ServiceClient(ReplicaPool("echo", [url]), caller="test")
    structlog.contextvars.bind_contextvars(request_id="rid-1")
    try:
        response = await client.request("POST", "/echo", params=[("q", "a b")], json={"items": [1, 2]})
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
        await client.aclose()
        await runner.cleanup()
    assert response.status_code == 200
    assert seen == {"query": {"q": "a b"}, "body": {"items": [1, 2]}, "request_id": "rid-1"}


async def test_the_breaker_opens_after_consecutive_failures_fails_fast_then_recovers(replicas_with):
    replicas = await replicas_with(**{"svc-1": 503, "svc-2": 503})
    client = client_for(replicas, "breaker", breaker_threshold=3, breaker_ttl_seconds=0.2)
    for _ in range(3):
        assert (await client.request("GET", "/breaker/x")).status_code == 503
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


async def test_no_replica_reachable_is_a_503_naming_the_service(replicas_with):
    replicas = await replicas_with(**{"svc-1": "down", "svc-2": "down"})
    client = client_for(replicas, "nobody", breaker_threshold=2, breaker_ttl_seconds=60)
    for _ in range(2):
        with pytest.raises(DependencyUnavailable, match="no replica reachable") as failed:
            await client.request("GET", "/nobody/x")
        assert failed.value.dependency == "nobody"
    with pytest.raises(DependencyUnavailable, match="circuit breaker open"):
        await client.request("GET", "/nobody/x")
    await client.aclose()


async def test_503_answers_count_against_the_breaker_but_500s_and_404s_do_not(replicas_with):
    replicas = await replicas_with(**{"svc-1": 500, "svc-2": 500})
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


async def test_a_503_naming_a_failed_database_is_passed_through_without_ejecting_or_opening_the_circuit(replicas_with):
    """Writes failing during a database failover must not take the service's reads down with them."""
    replicas = await replicas_with(**{"svc-1": "db-down", "svc-2": "db-down"})
    client = client_for(replicas, "dbdown", breaker_threshold=2)
    for _ in range(6):
        answer = await client.request("POST", "/dbdown/x")
        assert answer.status_code == 503 and answer.headers[FAILED_DEPENDENCY_HEADER] == "svc-db"
    assert [name for name, _ in replicas.calls] == ["svc-1", "svc-2"] * 3  # both stay in the pool, no retries
    replicas.rules.update({"svc-1": 200, "svc-2": 200})
    assert (await client.request("GET", "/dbdown/x")).status_code == 200  # the circuit never opened
    assert sample("circuit_breaker_state", caller="test", service="dbdown") == 0
    await client.aclose()
