"""The caching strategies live in products, on the test stack's Redis and Postgres: the strategy
switched by a flag on both replicas; category listings invalidated by a product write; product
views written behind, with no view lost or doubled when the flusher holding a batch is SIGKILLed.

Replicas are called directly (an edge cache in nginx answers repeated GETs itself: those views
never reach products, README "known limits")."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}
REPLICAS = ("products-1", "products-2")


def flagctl(stack, *args: str) -> None:
    url = f"redis://{stack.address('queue-redis')}:6379/0"
    subprocess.run([sys.executable, "-m", "chassis.flagctl", *args], cwd=ROOT, check=True,
                   env={**stack.env, "FLAGS_REDIS_URL": url, "PYTHONPATH": str(ROOT / "src")})


def poll(condition, seconds: float = 30.0, every: float = 0.25):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    return None


@pytest.fixture(scope="module")
def replicas(stack):
    clients = {name: httpx.Client(base_url=stack.url(name, 8000), timeout=10) for name in REPLICAS}
    yield clients
    for client in clients.values():
        client.close()


def create_product(client: httpx.Client, category: str) -> dict:
    body = {"name": f"Strategy Widget {uuid.uuid4().hex[:8]}", "category": category, "price": 10.0, "stock": 5}
    response = client.post("/products", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def test_the_strategy_flag_switches_both_replicas(stack, replicas):
    product = create_product(replicas["products-1"], "strategies")
    path = f"/products/{product['id']}"
    flagctl(stack, "set", "product_cache_strategy@products", "none")
    try:
        for client in replicas.values():
            assert poll(lambda c=client: c.get(path).headers["x-cache"] == "BYPASS", 10), "flag never reached a replica"
    finally:
        flagctl(stack, "clear", "product_cache_strategy@products")
    for client in replicas.values():
        assert poll(lambda c=client: c.get(path).headers["x-cache"] == "HIT", 10)


def test_a_product_write_invalidates_its_category_listing(replicas):
    category = f"listing-{uuid.uuid4().hex[:8]}"
    one, two = replicas["products-1"], replicas["products-2"]
    product = create_product(one, category)
    first = two.get("/products", params={"category": category})
    assert [item["price"] for item in first.json()["items"]] == [10.0]
    again = one.get("/products", params={"category": category})
    assert again.headers["x-cache"] == "HIT"  # cached in Redis, shared by the replicas
    assert one.patch(f"/products/{product['id']}", json={"price": 12.5}, headers=ADMIN).status_code == 200
    after = two.get("/products", params={"category": category})
    assert after.headers["x-cache"] == "MISS"  # the write's event orphaned every page of the category
    assert [item["price"] for item in after.json()["items"]] == [12.5]
    create_product(one, category)  # a new product is an event for its category too
    assert two.get("/products", params={"category": category}).json()["total"] == 2


def test_no_view_is_lost_or_doubled_when_the_flusher_is_killed_mid_batch(stack, replicas):
    product = create_product(replicas["products-1"], "views")
    path = f"/products/{product['id']}"
    queue = redis.Redis(host=stack.address("queue-redis"), port=6379, decode_responses=True)
    # Every flusher holds the batch it claims for 20 s before writing it: the window to kill it in.
    flagctl(stack, "set", "views_flush_pause_ms@products", "20000")
    try:
        time.sleep(1.5)  # the flag has reached both replicas
        views = 0
        for n in range(300):
            assert replicas[REPLICAS[n % 2]].get(path).status_code == 200
            views += 1
        # Wait until a flusher holds a batch with views of this product, then SIGKILL every process holding
        # one (batch ids begin with the flusher's <replica>:<pid>): claimed, not written. Views still pending
        # are flushed as usual once the flag is cleared.
        def holders() -> set[int]:
            held = [b for b in queue.zrange("product_views:batches", 0, -1)
                    if queue.hget(f"product_views:batch:{b}", str(product["id"]))]
            return {int(batch.rsplit("-", 2)[0].split(":")[1]) for batch in held}

        flushers = poll(holders, 15)
        assert flushers, "no flusher claimed the views"
        for pid in flushers:
            os.kill(pid, signal.SIGKILL)  # the gunicorn worker running the flusher, mid-batch
        assert flushers <= holders()  # their batches are still claimed and unwritten
    finally:
        flagctl(stack, "clear", "views_flush_pause_ms@products")
    for name in REPLICAS:
        stack.ctl("wait", name)  # gunicorn forked a new worker; its flusher replays what the dead one held

    def flushed_views() -> int | None:
        # A stock write answers from the primary, so its `views` is the database's flushed total.
        answer = replicas["products-2"].put(f"{path}/stock", json={"stock": 5}, headers=ADMIN)
        return answer.json()["views"] if answer.json()["views"] == views else None

    assert poll(flushed_views, 60, every=1), "the killed flusher's batch was never replayed"
    for pid in flushers:
        assert not os.path.exists(f"/proc/{pid}"), "the flusher survived its SIGKILL"
    assert poll(lambda: queue.zcard("product_views:batches") == 0, 15)
    time.sleep(2)  # a double write would show up here
    assert replicas["products-2"].put(f"{path}/stock", json={"stock": 5}, headers=ADMIN).json()["views"] == views
    queue.close()
