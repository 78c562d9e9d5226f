"""Orders under retries, races and redelivery, through nginx on the live test stack.

Idempotency-Key semantics (replay, mismatch, in flight), 50 concurrent requests with one
key, 20 concurrent orders for the last 5 units, a payments task delivered twice (sent
to the stack's real Redis with Celery), dead letters.
"""

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from checkout_support import (
    charges_of,
    new_product,
    new_user,
    place,
    stock_of,
    wait_for,
    wait_for_status,
)

from worker.celery_app import app as celery_app

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def celery(stack):
    """The shop's Celery app, publishing to the test stack's broker (the queue Redis)."""
    celery_app.conf.broker_url = f"redis://{stack.address('queue-redis')}:6379/0"
    yield celery_app
    celery_app.close()


def orders_db(stack):
    password = os.environ.get("ORDERS_DB_PASSWORD", "dev-only-orders")
    return psycopg2.connect(host=stack.address("orders-db"), dbname="orders", user="orders", password=password)


def worker_events(stack, event: str) -> list[dict]:
    """The worker's JSON log lines for one event."""
    events = []
    for line in stack.log("worker").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == event:
            events.append(record)
    return events


def test_the_idempotency_key_is_required_and_bounded(stack):
    with stack.client() as client:
        user = new_user(client)
        body = {"items": [{"product_id": 1, "quantity": 1}]}
        missing = client.post("/api/orders", headers=user["headers"], json=body)
        assert missing.status_code == 400 and "Idempotency-Key" in missing.json()["detail"]
        too_long = client.post("/api/orders", headers={**user["headers"], "Idempotency-Key": "k" * 101}, json=body)
        assert too_long.status_code == 400


def test_the_same_key_replays_the_first_response_and_refuses_another_body(stack):
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="4.00", stock=10)
        key = uuid.uuid4().hex
        first = place(client, user, [(product["id"], 1)], key=key)
        assert first.status_code == 201, first.text
        wait_for_status(client, user, first.json()["id"], "CONFIRMED")

        replay = place(client, user, [(product["id"], 1)], key=key)
        assert replay.status_code == 201
        assert replay.json() == first.json()  # the first response, PENDING and all
        assert replay.headers.get("idempotent-replayed") == "true"
        other = place(client, user, [(product["id"], 2)], key=key)
        assert other.status_code == 422 and "different request body" in other.json()["detail"]
        assert stock_of(client, product["id"]) == 9  # one order's worth, not two
        # Keys are per user: another user's identical key is a new order.
        stranger = new_user(client)
        assert place(client, stranger, [(product["id"], 1)], key=key).status_code == 201


def test_fifty_concurrent_requests_with_one_key_make_one_order_and_one_charge(stack):
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="5.00", stock=100)
    key = uuid.uuid4().hex

    def attempt(_):
        with stack.client() as client:
            return place(client, user, [(product["id"], 1)], key=key)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(attempt, range(50)))
    codes = sorted({response.status_code for response in responses})
    assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)]
    created = {response.json()["id"] for response in responses if response.status_code == 201}
    assert len(created) == 1
    order_id = created.pop()
    with stack.client() as client:
        assert [o["id"] for o in client.get("/api/orders", headers=user["headers"]).json()["items"]] == [order_id]
        wait_for_status(client, user, order_id, "CONFIRMED")
        assert len(charges_of(client, user)) == 1
        assert stock_of(client, product["id"]) == 99


def test_twenty_concurrent_orders_for_the_last_five_units_sell_exactly_five(stack):
    with stack.client() as client:
        product = new_product(client, price="2.00", stock=5)
        buyers = [new_user(client) for _ in range(20)]

    def attempt(buyer):
        with stack.client() as client:
            return place(client, buyer, [(product["id"], 1)])

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, buyers))
    codes = [response.status_code for response in responses]
    assert codes.count(201) == 5, codes
    assert codes.count(409) == 15, codes
    refused = next(r.json() for r in responses if r.status_code == 409)
    assert refused["detail"] == "insufficient stock" and refused["product_id"] == product["id"]
    with stack.client() as client:
        assert stock_of(client, product["id"]) == 0
        # A refused order is not persisted: the buyer has no order at all.
        loser = buyers[codes.index(409)]
        assert client.get("/api/orders", headers=loser["headers"]).json()["items"] == []


def test_a_charge_task_delivered_three_times_charges_once(stack, celery):
    """The relay publishes payments.charge; two more deliveries race it, as redelivery would."""
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="6.00", stock=5)
        order_id = place(client, user, [(product["id"], 1)]).json()["id"]
        for _ in range(2):
            celery.send_task("payments.charge", kwargs={"order_id": order_id, "user_id": user["id"],
                                                        "amount": "6.00"})
        wait_for_status(client, user, order_id, "CONFIRMED")

        def deliveries():
            return len([line for line in worker_events(stack, "charge requested") if line.get("order_id") == order_id])
        wait_for(lambda: deliveries() >= 3, "three deliveries of the charge task")
        assert [(c["order_id"], c["status"]) for c in charges_of(client, user)] == [(order_id, "charged")]
        assert client.get(f"/api/payments/{order_id}", headers=user["headers"]).json()["status"] == "charged"
        assert client.get(f"/api/orders/{order_id}", headers=user["headers"]).json()["status"] == "CONFIRMED"


def test_a_task_that_cannot_succeed_lands_in_dead_letters(stack, celery):
    missing_order = 900_000_000 + uuid.uuid4().int % 1_000_000
    celery.send_task("orders.payment_result", kwargs={"order_id": missing_order, "outcome": "charged"})

    def dead_letter():
        with orders_db(stack) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT task, args, error FROM dead_letters WHERE args->'kwargs'->>'order_id' = %s",
                           (str(missing_order),))
            return cursor.fetchone()
    task, args, error = wait_for(dead_letter, "the dead letter of orders.payment_result")
    assert task == "orders.payment_result"
    assert args["kwargs"]["outcome"] == "charged"
    assert str(missing_order) in error
