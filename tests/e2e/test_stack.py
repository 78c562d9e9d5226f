"""The whole stack runs: health, routing through nginx, scraping, failover under load, readiness.

Failover tests kill a component while concurrent GETs run through nginx and assert
that not one request failed (nginx retries on the other gateway, the gateway on
the other replica) and that the supervisor brought the component back.
"""

import asyncio
import time

import httpx
import pytest

pytestmark = pytest.mark.stack

SERVICES = ("users", "products", "orders", "payments", "notifications")


def poll(check, timeout: float, interval: float = 0.5):
    """Call `check` until it returns a truthy value or `timeout` passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_every_component_is_running_and_healthy(stack):
    table = stack.ctl("ps", capture=True).stdout.splitlines()[1:]
    rows = {line.split()[0]: line.split() for line in table}
    assert set(rows) == set(stack.plan())
    for name, row in rows.items():
        state = row[3]
        if state == "absent":
            assert name == "grafana"  # no Debian package: Docker runtime only
        elif state == "exited-ok":
            assert stack.plan()[name]["restart"] == "no", f"{name} exited"
        else:
            assert (state, row[4]) == ("running", "healthy"), f"{name}: {row}"


def test_a_request_through_nginx_reaches_each_service_and_both_replicas(stack):
    with stack.client() as client:
        for service in SERVICES:
            replicas = set()
            for _ in range(6):
                response = client.get(f"/api/{service}/whoami")
                assert response.status_code == 200, response.text
                assert response.json()["service"] == service
                assert response.headers["x-request-id"]
                replicas.add(response.json()["replica"])
            assert replicas == {f"{service}-1", f"{service}-2"}, f"{service}: load balancing reached {replicas}"


def test_a_client_request_id_is_kept_end_to_end(stack):
    with stack.client() as client:
        response = client.get("/api/users/whoami", headers={"X-Request-ID": "test-request-id-42"})
    assert response.headers.get_list("x-request-id") == ["test-request-id-42"]


def test_prometheus_scrapes_every_replica(stack):
    def targets():
        data = httpx.get(f"{stack.prometheus}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return data if data and all(t["health"] == "up" for t in data) else None

    up = poll(targets, timeout=40)
    assert up, httpx.get(f"{stack.prometheus}/api/v1/targets").json()
    replicas = {t["labels"].get("replica") for t in up}
    for service in (*SERVICES, "gateway"):
        assert {f"{service}-1", f"{service}-2"} <= replicas


async def get_concurrently(base_url: str, path: str, total: int, concurrency: int, during) -> list:
    """Send `total` GETs with `concurrency` in flight while `during()` runs; return the failures."""
    failures = []
    queue = asyncio.Queue()
    for _ in range(total):
        queue.put_nowait(None)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            try:
                response = await client.get(path)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
            except httpx.HTTPError as error:
                failures.append(repr(error))
            await asyncio.sleep(0.01)

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        workers = [asyncio.create_task(worker(client)) for _ in range(concurrency)]
        await asyncio.sleep(0.5)  # load is flowing before the kill
        await asyncio.to_thread(during)
        await asyncio.gather(*workers)
    return failures


@pytest.mark.parametrize(("victim", "path"), [("gateway-1", "/api/products/whoami"),
                                              ("orders-2", "/api/orders/whoami")])
def test_killing_a_component_under_load_fails_no_request(stack, victim, path):
    stack.ctl("wait", victim)
    killed_at = {}

    def kill() -> None:
        stack.ctl("kill", victim)
        killed_at["t"] = time.monotonic()

    failures = asyncio.run(get_concurrently(stack.nginx, path, total=400, concurrency=20, during=kill))
    assert failures == [], f"{len(failures)} failed requests while {victim} was killed: {failures[:5]}"
    stack.ctl("wait", victim)
    back_after = time.monotonic() - killed_at["t"]
    assert back_after <= 15, f"{victim} took {back_after:.1f}s to be healthy again"


def test_readiness_names_the_database_when_it_is_down(stack):
    ready_url = f"{stack.url('orders-1', 8000)}/health/ready"
    assert httpx.get(ready_url, timeout=5).status_code == 200
    stack.ctl("stop", "orders-db")
    try:
        response = poll(lambda: (r := httpx.get(ready_url, timeout=10)).status_code == 503 and r, timeout=15)
        assert response, "readiness stayed 200 with orders-db stopped"
        body = response.json()
        assert body["checks"]["redis"] == "ok"
        assert body["checks"]["postgres"] != "ok"
        assert "postgres" in body["detail"]
    finally:
        stack.ctl("start", "orders-db")
    assert poll(lambda: httpx.get(ready_url, timeout=5).status_code == 200, timeout=30)
