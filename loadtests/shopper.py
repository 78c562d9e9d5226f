"""What a simulated shopper does over HTTP: sign up, log in, place an order and wait for it.

Shared by the Locust journeys (locustfile.py) and the checkout benchmark (bench/), so
both exercise the shop the same way. `client` is a Locust FastHttpSession.

Checkout is asynchronous (seed: message queues): POST /api/orders answers 201 with a
PENDING order at once; payment and confirmation happen in Celery tasks, so the shopper
polls GET /api/orders/{id} until the order is CONFIRMED or FAILED. Every order carries
an Idempotency-Key, so a retried POST can never create (or charge) a second order.
"""

import time
import uuid

import gevent

PASSWORD = "load-test-password-1"
SETTLED = {"CONFIRMED", "FAILED"}


def sign_up_and_log_in(client) -> dict[str, str]:
    """Register a unique user and log in once; the bearer header for every later request."""
    email = f"shopper-{uuid.uuid4().hex}@example.com"
    client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Load Shopper"},
                name="/api/users/register")
    with client.post("/api/users/login", json={"email": email, "password": PASSWORD},
                     name="/api/users/login", catch_response=True) as response:
        if response.status_code != 200:
            response.failure(f"login: HTTP {response.status_code}")
            return {}
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def place_order(client, auth: dict[str, str], items: list[dict]) -> int | None:
    """POST /api/orders with a fresh Idempotency-Key; the order id, or None (the failure is recorded).

    A 409 (sold out) is a business answer, not an error: popular products do run out.
    """
    headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    with client.post("/api/orders", json={"items": items}, headers=headers, name="/api/orders",
                     catch_response=True) as response:
        if response.status_code == 409:
            response.success()
            return None
        if response.status_code != 201:
            response.failure(f"order: HTTP {response.status_code}")
            return None
        return response.json()["id"]


def wait_until_settled(client, auth: dict[str, str], order_id: int, *, timeout: float = 20.0,
                       interval: float = 0.25) -> str:
    """Poll the order until CONFIRMED or FAILED; the last status seen (still PENDING/PAID after `timeout`)."""
    return follow_order(client, auth, order_id, timeout=timeout, interval=interval).get("status", "UNKNOWN")


def follow_order(client, auth: dict[str, str], order_id: int, *, timeout: float = 20.0,
                 interval: float = 0.25) -> dict:
    """Poll the order until CONFIRMED or FAILED; the last order body seen ({} if none was read)."""
    started = time.perf_counter()
    order: dict = {}
    while time.perf_counter() - started < timeout:
        with client.get(f"/api/orders/{order_id}", headers=auth, name="/api/orders/[id]",
                        catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"order status: HTTP {response.status_code}")
            else:
                order = response.json()
        if order.get("status") in SETTLED:
            break
        gevent.sleep(interval)
    return order
