"""The edge on the live test stack: the catalogue cache, TLS with HTTP/2, request limits.

Each claim of infra/nginx is tried from outside, as a client sees it: X-Cache-Status
moves from MISS to HIT, nothing personal is ever cached, a product write shows within
the stated bound (or at once after a purge), the development CA's certificate
negotiates HTTP/2, and a flood from one address gets a JSON 429 with Retry-After.
The load-balancing algorithms are in test_edge_balancing.py.
"""

import json
import subprocess
import time
import uuid
from collections import Counter

import httpx
import pytest

pytestmark = pytest.mark.stack

ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}
# The README's bound for a product write to show at the edge: the 1 s TTL, then one background
# refresh (the first read after expiry is still answered stale while it runs), with room for a
# shared machine's scheduling.
STALENESS_BOUND_SECONDS = 3.0


@pytest.fixture(scope="module")
def edge(stack):
    with stack.client() as client:
        yield client


@pytest.fixture(scope="module")
def products_replica(stack):
    """products-1 itself, for admin writes with the identity headers the gateway would set."""
    with httpx.Client(base_url=stack.url("products-1", 8000), timeout=10) as client:
        yield client


def new_product(products_replica: httpx.Client, price: float = 10.0) -> dict:
    body = {"name": f"Edge Widget {uuid.uuid4().hex[:8]}", "category": "testing", "price": price, "stock": 5}
    response = products_replica.post("/products", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def ca_file(stack) -> str:
    return str(stack.state_dir / "volumes" / "edge-tls" / "ca" / "rootCA.pem")


# ---------------------------------------------------------------- the catalogue cache


def test_the_same_product_is_a_miss_then_a_hit(edge, products_replica):
    product = new_product(products_replica)
    first = edge.get(f"/api/products/{product['id']}")
    second = edge.get(f"/api/products/{product['id']}")
    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache-status"] == "MISS"
    assert second.headers["x-cache-status"] == "HIT"
    assert second.json() == first.json()


def test_every_response_says_how_the_cache_treated_it(edge):
    for path in ("/api/users/whoami", "/nginx-health", "/api/orders"):
        assert edge.get(path).headers["x-cache-status"] == "BYPASS", path


def test_a_personal_request_is_never_cached_nor_answered_from_the_cache(edge, products_replica):
    product = new_product(products_replica)
    path = f"/api/products/{product['id']}"
    for _ in range(3):
        # A token (even one the gateway refuses) or a cookie makes the request personal.
        with_token = edge.get(path, headers={"Authorization": "Bearer not-a-real-token"})
        with_cookie = edge.get(path, headers={"Cookie": "session=abc"})
        assert with_token.headers["x-cache-status"] == "BYPASS"
        assert with_cookie.headers["x-cache-status"] == "BYPASS"
    # Nothing of those was stored: the first anonymous read still goes to the gateways.
    assert edge.get(path).headers["x-cache-status"] == "MISS"
    assert edge.get(path).headers["x-cache-status"] == "HIT"
    # And a cached copy is never handed to a personal request.
    assert edge.get(path, headers={"Authorization": "Bearer x"}).headers["x-cache-status"] == "BYPASS"


def test_a_product_update_is_visible_at_the_edge_within_the_bound(edge, products_replica):
    product = new_product(products_replica, price=10.0)
    path = f"/api/products/{product['id']}"
    assert edge.get(path).json()["price"] == 10.0
    assert edge.get(path).headers["x-cache-status"] == "HIT"  # the edge holds the old price now
    updated = products_replica.patch(f"/products/{product['id']}", json={"price": 12.5}, headers=ADMIN)
    assert updated.status_code == 200
    written = time.monotonic()
    seen = []
    while True:
        response = edge.get(path)
        seen.append((round(time.monotonic() - written, 3), response.headers["x-cache-status"],
                     response.json()["price"]))
        if response.json()["price"] == 12.5:
            break
        assert time.monotonic() - written < STALENESS_BOUND_SECONDS, seen
        time.sleep(0.05)
    assert seen[-1][0] <= STALENESS_BOUND_SECONDS, seen


def test_a_purge_makes_an_update_visible_at_once(stack, edge, products_replica):
    product = new_product(products_replica, price=10.0)
    path = f"/api/products/{product['id']}"
    edge.get(path)
    assert edge.get(path).headers["x-cache-status"] == "HIT"
    products_replica.patch(f"/products/{product['id']}", json={"price": 11.0}, headers=ADMIN)
    purged = edge.request("GET", f"/edge-purge{path}")
    assert purged.status_code == 200, purged.text
    fresh = edge.get(path)
    assert fresh.headers["x-cache-status"] == "MISS" and fresh.json()["price"] == 11.0
    assert edge.request("GET", f"/edge-purge{path}-nothing-cached").status_code == 404


def test_a_client_asking_for_a_fresh_copy_skips_the_cache(edge, products_replica):
    product = new_product(products_replica)
    path = f"/api/products/{product['id']}"
    edge.get(path)
    refreshed = edge.get(path, headers={"Cache-Control": "no-cache"})
    assert refreshed.headers["x-cache-status"] == "BYPASS"
    assert refreshed.headers["x-upstream-replica"].startswith("products-")


# ---------------------------------------------------------------- TLS and HTTP/2


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)


def test_https_with_the_generated_ca_negotiates_http2(stack):
    url = f"https://{stack.address('nginx')}:8443/api/products?limit=1"
    done = curl("--cacert", ca_file(stack), "--http2", "-o", "/dev/null", "-D", "-",
                "-w", "version=%{http_version}", url)
    assert done.returncode == 0, done.stderr  # the certificate verifies against the development CA
    assert done.stdout.rstrip().endswith("version=2")
    headers = done.stdout.lower()
    assert "strict-transport-security: max-age=300" in headers
    assert "x-cache-status:" in headers


def test_https_refuses_tls_below_1_2_and_a_client_without_the_ca(stack):
    url = f"https://{stack.address('nginx')}:8443/nginx-health"
    assert curl("--cacert", ca_file(stack), "--tlsv1.2", "--tls-max", "1.2", url).returncode == 0
    assert curl("--cacert", ca_file(stack), "--tlsv1.0", "--tls-max", "1.1", url).returncode != 0
    assert curl(url).returncode != 0  # the system trust store does not know the development CA


def test_plain_http_stays_plain_on_8080(edge):
    response = edge.get("/nginx-health")
    assert response.status_code == 200 and response.http_version == "HTTP/1.1"
    assert "strict-transport-security" not in response.headers


# ---------------------------------------------------------------- protection


def test_a_flood_from_one_address_gets_429_json_with_retry_after(stack, tmp_path):
    # The load generators' address (127.0.0.1) is allowlisted; any other client address is limited.
    # 600 requests, 32 at a time, from 127.45.0.77 (curl in parallel: a Python client on a loaded
    # two-core machine cannot send faster than the 50 r/s limit). The path is a cached catalogue
    # page: cheap, and limited like every proxied route (nginx's `return`, as in /nginx-health,
    # answers before limits are checked).
    url = f"{stack.nginx}/api/products?limit=1"
    config = tmp_path / "flood.cfg"
    config.write_text("".join(f'url = "{url}"\noutput = "{tmp_path}/body-{n}"\n' for n in range(600)))
    done = curl("-Z", "--parallel-max", "32", "--interface", "127.45.0.77", "-w", "%{http_code}\t%header{retry-after}\t%header{content-type}\n",
                "-K", str(config))
    answers = [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]
    statuses = Counter(status for status, _, _ in answers)
    assert len(answers) == 600 and set(statuses) == {"200", "429"}, statuses
    assert statuses["200"] >= 100, statuses  # the burst is served at once
    refused = {(retry_after, content_type) for status, retry_after, content_type in answers if status == "429"}
    assert refused == {("1", "application/json")}
    bodies = [json.loads(path.read_text()) for path in tmp_path.glob("body-*") if "too many" in path.read_text()]
    assert bodies and bodies[0]["scope"] == "edge"


def test_a_body_over_the_size_limit_gets_a_json_413(edge):
    response = edge.post("/api/products", content=b"x" * (2 * 1024 * 1024),
                         headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than the edge accepts" in response.json()["detail"]
