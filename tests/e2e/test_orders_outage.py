"""A dependency of the checkout goes down or answers too late: the client gets a 503 naming it,
nothing half-done is kept, and no stock stays reserved for an order that does not exist."""

import os
import subprocess
import sys
import time
import uuid

import httpx
import psycopg2
import pytest
from checkout_support import new_product, new_user, place, stock_of, wait_for, wait_for_status

from orders.shard_keys import bucket_of

pytestmark = pytest.mark.stack

PRODUCTS = ("products-1", "products-2")


def test_with_products_down_an_order_is_a_503_naming_products_and_the_key_stays_usable(stack):
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="8.00", stock=4)
        key = uuid.uuid4().hex
        try:
            for name in PRODUCTS:
                stack.ctl("stop", name)
            refused = place(client, user, [(product["id"], 1)], key=key)
            assert refused.status_code == 503, refused.text
            assert refused.json()["dependency"] == "products"
            assert client.get("/api/orders", headers=user["headers"]).json()["items"] == []
        finally:
            for name in PRODUCTS:
                stack.ctl("start", name)

        # The failed attempt left its Idempotency-Key free for a retry: the client's retry places the order.
        def retried():
            response = place(client, user, [(product["id"], 1)], key=key)
            return response if response.status_code == 201 else None
        order = wait_for(retried, "an order once products is back", interval=1.0).json()
        wait_for_status(client, user, order["id"], "CONFIRMED")
        assert stock_of(client, product["id"]) == 3


def flagctl(stack, *args: str) -> None:
    env = {**os.environ, "FLAGS_REDIS_URL": f"redis://{stack.address('queue-redis')}:6379/0"}
    subprocess.run([sys.executable, "-m", "chassis.flagctl", *args], env=env, check=True, capture_output=True)


def test_a_reservation_that_commits_after_orders_gave_up_is_reused_by_the_retry_not_leaked(stack):
    # products answers 11 s late (orders gives up after 10 s) but still reserves: the reservation is
    # in doubt. The retry with the same key must get that reservation, not make a second one.
    with httpx.Client(base_url=stack.nginx, timeout=30) as client:
        user = new_user(client)
        product = new_product(client, price="6.00", stock=5)
        key = uuid.uuid4().hex
        flagctl(stack, "set", "latency_ms@products", "11000")
        try:
            time.sleep(1.5)  # flags apply within a second
            timed_out = place(client, user, [(product["id"], 1)], key=key)
            assert timed_out.status_code in (503, 504), timed_out.text
        finally:
            flagctl(stack, "clear", "latency_ms@products")
        time.sleep(3)  # the late reservation has committed by now
        retried = wait_for(lambda: (r := place(client, user, [(product["id"], 1)], key=key)).status_code == 201 and r,
                           "the retry to place the order", interval=1.0)
        wait_for_status(client, user, retried.json()["id"], "CONFIRMED")
        assert stock_of(client, product["id"]) == 4  # one unit: the late reservation was the order's


def owning_shard_dsn(stack, user_id: int) -> str:
    """The orders shard that owns this customer's bucket now (the directory on shard 0)."""
    dsns = [url.replace("postgresql+asyncpg://", "postgresql://")  # a libpq URI
            for url in stack.plan()["orders-shards"]["env"]["ORDERS_SHARD_URLS"].split(",")]
    with psycopg2.connect(dsns[0]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT shard FROM shard_buckets WHERE bucket = %s", (bucket_of(user_id),))
        return dsns[cursor.fetchone()[0]]


def test_an_abandoned_claim_has_its_reservation_released_by_the_reconciler(stack):
    # A client whose reservation was in doubt never came back: its key is still in flight minutes later,
    # its units still held at products. The saga reconciler (beat, every 5 s) gives them back.
    with stack.client() as client:
        product = new_product(client, price="4.00", stock=6)
        order_ref = f"abandoned-{uuid.uuid4().hex}"
        reserved = httpx.post(f"http://{stack.address('products-1')}:8000/products/internal/reservations",
                              json={"order_ref": order_ref, "items": [{"product_id": product["id"], "quantity": 2}]},
                              timeout=10)
        assert reserved.status_code == 201, reserved.text
        assert stock_of(client, product["id"]) == 4
        # Orders are sharded by user (orders.shards): the claim goes where its customer's bucket lives,
        # the only shard whose reconciler may act on it.
        customer = 987654321
        shard_dsn = owning_shard_dsn(stack, customer)
        with psycopg2.connect(shard_dsn) as connection, connection.cursor() as cursor:
            cursor.execute("INSERT INTO idempotency_keys (user_id, key, request_hash, status, order_ref, locked_at) "
                           "VALUES (%s, %s, %s, 'in_flight', %s, now() - interval '5 minutes')",
                           (customer, uuid.uuid4().hex, "0" * 64, order_ref))
        wait_for(lambda: stock_of(client, product["id"]) == 6, "the abandoned reservation to be released",
                 timeout=60, interval=1.0)
        with psycopg2.connect(shard_dsn) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM idempotency_keys WHERE order_ref = %s", (order_ref,))
            assert cursor.fetchone()[0] == 0  # and the claim is forgotten
