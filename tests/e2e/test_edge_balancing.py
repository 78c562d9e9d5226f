"""The edge's load-balancing algorithms on the live test stack (infra/nginx/upstreams.conf).

Each algorithm is switched in with `stackctl lb` (a graceful reload) and judged by
where requests went: every gateway names itself in X-Served-By. With equal gateways,
round robin alternates, weighted follows its 3:1 weights, IP hash keeps one client on one
gateway, the consistent hash keeps one URI on one gateway. With gateway-2 made slow,
least connections (and two random choices) send it few requests while round robin still
sends it half. A switch under load drops nothing.
"""

import asyncio
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from stack import ROOT

pytestmark = pytest.mark.stack

PATH = "/api/users/whoami"  # not cached at the edge: every request reaches a gateway
SLOW_MS = 200


@pytest.fixture(scope="module")
def switch(stack):
    """Switch the edge's algorithm; the default (least-conn) is back after the module."""
    yield lambda algorithm: stack.ctl("lb", algorithm, capture=True)
    stack.ctl("lb", "least-conn", capture=True)


def parallel_gets(base_url: str, total: int, concurrency: int, tmp_path) -> tuple[Counter, Counter]:
    """`total` GETs with `concurrency` in flight (curl in parallel: fast enough on a loaded machine
    to keep that many in flight); the gateways that answered and the statuses."""
    config = tmp_path / "gets.cfg"
    config.write_text(f'url = "{base_url}{PATH}"\noutput = "/dev/null"\n' * total)
    done = subprocess.run(["curl", "-sS", "-Z", "--parallel-max", str(concurrency), "-w",
                           "%{http_code} %header{x-served-by}\n", "-K", str(config)], capture_output=True, text=True)
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    return Counter(line[1] for line in lines if len(line) == 2), Counter(line[0] for line in lines)


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
    served, failures = Counter(), []
    remaining = iter(range(total))

    async def user(client: httpx.AsyncClient) -> None:
        for _ in remaining:
            if until is not None and until.is_set():
                return
            try:
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


@pytest.fixture(scope="module")
def slow_gateway_2(stack):
    """gateway-2 recreated with ADDED_LATENCY_MS (`stackctl recreate`, like `docker compose up -d`)."""
    def up(latency_ms: int) -> None:
        env = {**stack.env, "GATEWAY_2_ADDED_LATENCY_MS": str(latency_ms)}
        subprocess.run([sys.executable, "-m", "stackctl", "recreate", "gateway-2"], env=env, cwd=ROOT,
                       check=True, capture_output=True)
    up(SLOW_MS)
    yield
    up(0)


@pytest.mark.parametrize("algorithm, at_most", [("least-conn", 0.3), ("random-two", 0.3)])
def test_with_one_slow_gateway_least_connections_avoid_it(stack, switch, slow_gateway_2, algorithm, at_most,
                                                          tmp_path):
    switch(algorithm)
    served, statuses = parallel_gets(stack.nginx, total=300, concurrency=16, tmp_path=tmp_path)
    assert statuses == {"200": 300}, statuses
    assert shares(served)["gateway-2"] <= at_most, served


def test_with_one_slow_gateway_round_robin_still_sends_it_half(stack, switch, slow_gateway_2, tmp_path):
    switch("round-robin")
    served, statuses = parallel_gets(stack.nginx, total=200, concurrency=16, tmp_path=tmp_path)
    assert statuses == {"200": 200}, statuses
    assert 0.4 <= shares(served)["gateway-2"] <= 0.6, served


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
