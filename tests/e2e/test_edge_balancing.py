"""The edge's load-balancing algorithms on the live test stack (infra/nginx/upstreams.conf).

Each algorithm is switched in with `stackctl lb` (a graceful reload) and judged by
where requests went: every gateway names itself in X-Served-By. With equal gateways,
round robin alternates, weighted follows its 3:1 weights, IP hash keeps one client on one
gateway, the consistent hash keeps one URI on one gateway. With one gateway made slow by a fault
flag, least connections sends it less than round robin does. A switch under load drops nothing.
(The whole table, one slow gateway under each algorithm, is `make lb-demo`: bench/lb_demo.py.)
"""

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest

pytestmark = pytest.mark.stack

PATH = "/api/users/whoami"  # not cached at the edge: every request reaches a gateway


@pytest.fixture(scope="module")
def switch(stack):
    """Switch the edge's algorithm; the default (least-conn) is back after the module."""
    yield lambda algorithm: stack.ctl("lb", algorithm, capture=True)
    stack.ctl("lb", "least-conn", capture=True)


def shares(counts: Counter) -> dict[str, float]:
    total = sum(counts.values())
    return {name: counts[name] / total for name in ("gateway-1", "gateway-2")}


def sequential(base_url: str, paths: list[str]) -> Counter:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return Counter(client.get(path).headers["x-served-by"] for path in paths)


async def concurrent(base_url: str, total: int, concurrency: int, until: asyncio.Event | None = None
                     ) -> tuple[Counter, list]:
    """`total` GETs (or as many as fit until `until` is set) with `concurrency` in flight, on
    keepalive connections; the gateways that answered and the failures."""
    served, failures, retried = Counter(), [], []
    remaining = iter(range(total))

    async def user(client: httpx.AsyncClient) -> None:
        for _ in remaining:
            if until is not None and until.is_set():
                return
            try:
                try:
                    response = await client.get(PATH)
                except (httpx.ReadError, httpx.RemoteProtocolError):
                    # A reload closes idle keepalive connections; a GET sent on one at that instant
                    # gets no response, and clients retry it once on a new connection as browsers
                    # do (RFC 9112 9.3.1). A second failure is a failure.
                    retried.append(1)
                    response = await client.get(PATH)
                if response.status_code != 200:
                    failures.append(response.status_code)
                else:
                    served[response.headers["x-served-by"]] += 1
            except httpx.HTTPError as error:
                failures.append(repr(error))

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
        await asyncio.gather(*(user(client) for _ in range(concurrency)))
    return served, failures


def test_round_robin_alternates_evenly(stack, switch):
    switch("round-robin")
    share = shares(sequential(stack.nginx, [PATH] * 40))
    assert 0.4 <= share["gateway-1"] <= 0.6, share


def test_weighted_follows_three_to_one(stack, switch):
    switch("weighted")
    share = shares(sequential(stack.nginx, [PATH] * 80))
    assert 0.65 <= share["gateway-1"] <= 0.85, share


def test_ip_hash_keeps_one_client_on_one_gateway(stack, switch):
    switch("ip-hash")
    served = sequential(stack.nginx, [PATH] * 30)
    assert len(served) == 1, served


def test_consistent_hash_keeps_one_uri_on_one_gateway_and_spreads_uris(stack, switch):
    switch("hash")
    gateways = set()
    for index in range(12):
        served = sequential(stack.nginx, [f"{PATH}?key={index}"] * 5)
        assert len(served) == 1, (index, served)
        gateways |= set(served)
    assert gateways == {"gateway-1", "gateway-2"}


@pytest.fixture
def slow_gateway_2(stack):
    """gateway-2 answers 150 ms late (the `latency_ms` fault flag, applied within a second, no restart)."""
    def flagctl(*args: str) -> None:
        env = {**os.environ, "FLAGS_REDIS_URL": f"redis://{stack.address('queue-redis')}:6379/0"}
        subprocess.run([sys.executable, "-m", "chassis.flagctl", *args], env=env, check=True, capture_output=True)
    flagctl("set", "latency_ms@gateway-2", "150")
    time.sleep(1.5)
    yield
    flagctl("clear", "latency_ms@gateway-2")
    time.sleep(1.5)


def test_least_connections_sends_a_slow_gateway_less_than_round_robin(stack, switch, slow_gateway_2):
    # Each gateway's share under the same concurrent load: round robin ignores how busy a gateway
    # is (half each); least connections sees the slow one holding its requests longer.
    switch("round-robin")
    by_turns, failures = asyncio.run(concurrent(stack.nginx, total=120, concurrency=8))
    assert failures == []
    switch("least-conn")
    by_load, failures = asyncio.run(concurrent(stack.nginx, total=120, concurrency=8))
    assert failures == []
    assert abs(shares(by_turns)["gateway-2"] - 0.5) <= 0.1, by_turns
    assert shares(by_load)["gateway-2"] < shares(by_turns)["gateway-2"] - 0.15, (by_load, by_turns)


def test_switching_algorithms_under_load_drops_nothing(stack, switch):
    async def load_while_switching() -> tuple[Counter, list]:
        switched = asyncio.Event()
        loading = asyncio.create_task(concurrent(stack.nginx, total=10**6, concurrency=8, until=switched))
        for algorithm in ("round-robin", "weighted", "random-two", "hash", "ip-hash", "least-conn"):
            await asyncio.to_thread(switch, algorithm)
            await asyncio.sleep(0.3)
        switched.set()
        return await loading

    served, failures = asyncio.run(load_while_switching())
    assert failures == []
    assert sum(served.values()) > 200, served  # the load really ran across the six reloads
