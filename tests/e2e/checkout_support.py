"""Helpers of the checkout tests (tests/e2e/test_checkout.py, test_orders_*.py): users, admin-made
products, placing orders and waiting, bounded, for the saga to move them on."""

import time
import uuid
from decimal import Decimal

import httpx

PASSWORD = "correct horse battery"
ADMIN = {"email": "admin@scaleshop.local", "password": "dev-only-admin-password"}
SAGA_TIMEOUT = 20.0  # seconds: far above the ~0.3 s an order takes, so a slow CI box is not a failure


def new_user(client: httpx.Client) -> dict:
    """Register and log in a fresh customer: its id and the headers that authenticate it."""
    email = f"buyer-{uuid.uuid4().hex[:12]}@example.com"
    profile = client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Buyer"})
    assert profile.status_code == 201, profile.text
    return {"id": profile.json()["id"], "headers": login(client, email, PASSWORD)}


def login(client: httpx.Client, email: str, password: str) -> dict:
    response = client.post("/api/users/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def new_product(client: httpx.Client, *, price: str, stock: int) -> dict:
    """A product of the test's own (admin API), so stock counts are not shared with other tests."""
    admin = login(client, ADMIN["email"], ADMIN["password"])
    response = client.post("/api/products", headers=admin, json={
        "name": f"Checkout test item {uuid.uuid4().hex[:8]}", "category": "test", "price": price, "stock": stock,
        "description": "made by the checkout tests"})
    assert response.status_code == 201, response.text
    return response.json()


def place(client: httpx.Client, user: dict, items: list[tuple[int, int]], key: str | None = None,
          **headers) -> httpx.Response:
    """POST /api/orders with a fresh Idempotency-Key unless one is given."""
    return client.post("/api/orders", headers={**user["headers"], "Idempotency-Key": key or uuid.uuid4().hex,
                                               **headers},
                       json={"items": [{"product_id": product_id, "quantity": qty} for product_id, qty in items]})


def wait_for(probe, what: str, timeout: float = SAGA_TIMEOUT, interval: float = 0.1):
    """Call `probe` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def wait_for_status(client: httpx.Client, user: dict, order_id: int, *statuses: str) -> dict:
    def probe():
        order = client.get(f"/api/orders/{order_id}", headers=user["headers"]).json()
        return order if order["status"] in statuses else None
    return wait_for(probe, f"order {order_id} to be {' or '.join(statuses)}")


def stock_of(client: httpx.Client, product_id: int) -> int:
    """The authoritative stock: Cache-Control: no-cache skips the edge's copy (up to 1 s old)."""
    response = client.get(f"/api/products/{product_id}", headers={"Cache-Control": "no-cache"})
    assert response.status_code == 200, response.text
    return response.json()["stock"]


def wait_for_stock(client: httpx.Client, product_id: int, expected: int) -> None:
    wait_for(lambda: stock_of(client, product_id) == expected, f"product {product_id} stock to be {expected}")


def notifications_of(client: httpx.Client, user: dict) -> list[dict]:
    response = client.get("/api/notifications", headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()["items"]


def wait_for_notification(client: httpx.Client, user: dict, order_id: int, kind: str) -> dict:
    def probe():
        return next((n for n in notifications_of(client, user) if n["order_id"] == order_id and n["kind"] == kind),
                    None)
    return wait_for(probe, f"a {kind} notification for order {order_id}")


def charges_of(client: httpx.Client, user: dict) -> list[dict]:
    response = client.get("/api/payments", headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()["items"]


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
