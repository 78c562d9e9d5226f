"""Chaos Toolkit probes (module chaos.probes): the steady state, seen as a customer sees it, through nginx.

The steady state of a shop: the catalogue answers, and a checkout placed now settles
(CONFIRMED) within seconds. A probe customer and product are made once per run by the
runner (CHAOS_PROBE_EMAIL/CHAOS_PROBE_PASSWORD/CHAOS_PROBE_PRODUCT).
"""

import os
import time
import uuid
from functools import cache

import httpx

from chaos import stack

SETTLED = {"CONFIRMED", "FAILED"}


def _client() -> httpx.Client:
    return httpx.Client(base_url=stack.host(), timeout=10)


@cache
def _token() -> str:
    """One sign-in per Chaos Toolkit run (argon2 is slow on purpose; the probe checks checkout, not login)."""
    with httpx.Client(base_url=stack.host(), timeout=120) as client:
        response = client.post("/api/users/login", json={"email": os.environ["CHAOS_PROBE_EMAIL"],
                                                         "password": os.environ["CHAOS_PROBE_PASSWORD"]})
    response.raise_for_status()
    return response.json()["access_token"]


def storefront_answers() -> bool:
    """The catalogue through nginx: 200 with products."""
    try:
        with _client() as client:
            response = client.get("/api/products", params={"limit": 3})
        return response.status_code == 200 and bool(response.json()["items"])
    except httpx.HTTPError:
        return False


def checkout_settles(timeout: float = 20.0) -> bool:
    """One order placed now is CONFIRMED within `timeout` seconds."""
    try:
        with _client() as client:
            headers = {"Authorization": f"Bearer {_token()}", "Idempotency-Key": uuid.uuid4().hex}
            placed = client.post("/api/orders", headers=headers,
                                 json={"items": [{"product_id": int(os.environ["CHAOS_PROBE_PRODUCT"]), "quantity": 1}]})
            if placed.status_code != 201:
                return False
            order_id, deadline = placed.json()["id"], time.monotonic() + timeout
            while time.monotonic() < deadline:
                status = client.get(f"/api/orders/{order_id}", headers=headers).json().get("status")
                if status in SETTLED:
                    return status == "CONFIRMED"
                time.sleep(0.25)
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    return False


def seconds_to_steady_state(timeout: float = 180.0) -> float:
    """Seconds from the last fault until the storefront answers and a checkout settles again.

    Raises when the steady state does not come back within `timeout` (the experiment deviates).
    """
    faults = [event for event in stack.events() if event["event"] == "fault"]
    struck = faults[-1]["at"] if faults else time.time()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if storefront_answers() and checkout_settles(timeout=10):
            seconds = round(time.time() - struck, 1)
            stack.note("steady", seconds=seconds)
            return seconds
        time.sleep(1)
    raise AssertionError(f"no steady state within {timeout:g}s of the fault")
